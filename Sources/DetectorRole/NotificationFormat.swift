import Crypto
import Detector
import Foundation
import LogshipConfig

/// What a destination receives for one alert or a digest of several: the HTTP request (URL,
/// body, headers) in the destination's own format. Pure: the notifier sends what this builds.
///
/// - `webhook`: the alert as in `logship.alerts` plus `idempotency_key`; a digest is
///   `{"digest": true, "idempotency_key", "alerts": [...]}`.
/// - `wecom`: group robot markdown, content cut to 4,096 bytes of UTF-8.
/// - `dingtalk`: robot markdown; the URL carries `timestamp` and `sign` =
///   Base64(HMAC-SHA256(secret, "timestamp\nsecret")), URL-encoded.
/// - `slack`: incoming-webhook `text` in Slack's mrkdwn.
/// Every request carries the `Idempotency-Key` header; chat formats show the key last.
public enum NotificationFormat {
    public static let wecomLimitBytes = 4_096

    public struct Request: Sendable, Equatable {
        public var url: String
        public var body: [UInt8]
        public var headers: [String]
    }

    public static func request(_ alerts: [Alert], to destination: LogshipConfiguration.Notify, nowMs: Int64) throws -> Request {
        let key = idempotencyKey(alerts)
        let headers = ["Idempotency-Key: \(key)"]
        let body: Any
        var url = destination.url
        switch destination.type {
        case .wecom:
            body = ["msgtype": "markdown", "markdown": ["content": truncate(markdown(alerts, key: key, bold: "**"), toBytes: wecomLimitBytes)]]
        case .dingtalk:
            let title = alerts.count == 1 ? "logship: \(alerts[0].rule) \(alerts[0].service)" : "logship: \(alerts.count) alerts"
            body = ["msgtype": "markdown", "markdown": ["title": title, "text": markdown(alerts, key: key, bold: "**")]]
            let sign = dingTalkSignature(secret: destination.secret ?? "", timestampMs: nowMs)
            url += (url.contains("?") ? "&" : "?") + "timestamp=\(nowMs)&sign=\(formEncode(sign))"
        case .slack:
            body = ["text": markdown(alerts, key: key, bold: "*")]
        case .webhook:
            let objects = try alerts.map { try JSONSerialization.jsonObject(with: encoder.encode($0)) }
            if alerts.count == 1, var single = objects[0] as? [String: Any] {
                single["idempotency_key"] = key
                body = single
            } else {
                body = ["digest": true, "idempotency_key": key, "alerts": objects]
            }
        }
        return Request(url: url, body: Array(try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])), headers: headers)
    }

    /// The alert's id, or for a digest a hash of its alerts' ids: the same alerts give the same key.
    public static func idempotencyKey(_ alerts: [Alert]) -> String {
        if alerts.count == 1 { return alerts[0].id }
        let digest = SHA256.hash(data: Array(alerts.map(\.id).joined(separator: ",").utf8))
        return "digest-" + digest.prefix(16).map { String(format: "%02x", $0) }.joined()
    }

    public static func dingTalkSignature(secret: String, timestampMs: Int64) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array("\(timestampMs)\n\(secret)".utf8), using: SymmetricKey(data: Array(secret.utf8)))
        return Data(mac).base64EncodedString()
    }

    /// Markdown for chat robots. One alert: all of its context (events cut to 1,000 characters).
    /// A digest: one line per alert, so dozens fit in WeCom's 4,096 bytes.
    public static func markdown(_ alerts: [Alert], key: String, bold: String) -> String {
        var lines: [String] = []
        if alerts.count > 1 {
            lines.append("\(bold)logship: \(alerts.count) alerts (digest)\(bold)")
            for alert in alerts {
                lines.append("- [\(alert.state.uppercased())] \(alert.rule) · \(bold)\(alert.service)\(bold) (\(alert.severity)): "
                             + "observed \(number(alert.observed)) vs baseline \(number(alert.baseline)), window end \(alert.window.end)"
                             + (alert.context.owner.map { ", owner \($0)" } ?? ""))
            }
        } else if let alert = alerts.first {
            lines.append("\(bold)[\(alert.state.uppercased())] \(alert.rule) · \(alert.service)\(bold) (\(alert.severity))")
            if let pattern = alert.pattern {
                lines.append("new error template (\(number(alert.observed)) times since \(alert.window.start)): `\(pattern.template.prefix(500))`")
            } else {
                lines.append("observed \(number(alert.observed)) vs baseline \(number(alert.baseline)) · \(alert.window.start) – \(alert.window.end)")
            }
            if let incident = alert.incident {
                lines.append("incident: likely origin \(bold)\(incident.origin)\(bold)"
                             + (incident.affected.isEmpty ? "" : "; also failing: \(incident.affected.joined(separator: ", "))")
                             + " (\(incident.sharedTraces) shared traces)")
            }
            if let owner = alert.context.owner { lines.append("owner: \(owner)") }
            for event in alert.context.events {
                lines.append("> \(event.time) \(event.message.prefix(1_000))\(event.traceID.map { " (trace \($0))" } ?? "")")
            }
            if let link = alert.context.traceURL { lines.append("[trace](\(link))") }
        }
        lines.append("id: \(key)")
        return lines.joined(separator: "\n")
    }

    /// At most `limit` bytes of UTF-8, cut at a character, marked when cut.
    public static func truncate(_ text: String, toBytes limit: Int) -> String {
        guard text.utf8.count > limit else { return text }
        let marker = "\n…(truncated)"
        var result = ""
        var used = marker.utf8.count
        for character in text {
            let size = String(character).utf8.count
            if used + size > limit { break }
            result.append(character)
            used += size
        }
        return result + marker
    }

    static func number(_ value: Double) -> String { String(format: value < 1 && value > 0 ? "%.3f" : "%.0f", value) }

    static func formEncode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()
}

/// How a destination answered a delivery.
public enum DeliveryOutcome: Sendable, Equatable {
    case delivered
    /// Worth trying again later (5xx, 429, a robot's "too fast").
    case retry(String)
    /// Refused as such (bad URL, bad signature, bad token): retrying will not help.
    case failed(String)

    /// WeCom and DingTalk answer 200 with `errcode`; 0 is success, 45009 (WeCom) and 130101
    /// (DingTalk) mean "sending too fast".
    public static func of(status: Int, body: [UInt8], type: LogshipConfiguration.Notify.Kind) -> DeliveryOutcome {
        let text = String(decoding: body.prefix(300), as: UTF8.self)
        if status == 429 || status >= 500 { return .retry("HTTP \(status): \(text)") }
        guard (200...299).contains(status) else { return .failed("HTTP \(status): \(text)") }
        guard type == .wecom || type == .dingtalk else { return .delivered }
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
              let code = (object["errcode"] as? NSNumber)?.intValue else {
            return .retry("answer without errcode: \(text)")
        }
        if code == 0 { return .delivered }
        let message = "errcode \(code): \(object["errmsg"] as? String ?? "")"
        return [45009, 130101, -1].contains(code) ? .retry(message) : .failed(message)
    }
}
