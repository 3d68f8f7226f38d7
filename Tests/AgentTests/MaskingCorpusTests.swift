@testable import Agent
import Foundation
import LogModel
import LogshipConfig
import Testing

/// Masking measured both ways: recall on a corpus of secret forms (each in plain text, as a JSON
/// field and inside a JSON string nested in a JSON record), precision on 10,000 realistic lines
/// full of numbers that are not secrets. The README reports the two rates.
@Suite struct MaskingCorpusTests {
    /// (line, the secret it holds): every form must leave no trace of the secret in any field.
    static let secrets: [(String, String)] = [
        ("connecting to postgres://admin:S3cr3tPw@db:5432/app", "S3cr3tPw"),
        ("redis url redis://:r3disPass99@cache:6379/0", "r3disPass99"),
        ("broker amqp://guest:gu3st!pw@rabbit/vhost", "gu3st!pw"),
        ("mongodb+srv://svc:Mong0Pass@cluster0.example.net/db", "Mong0Pass"),
        ("GET /login?user=bob&password=hunter2x&next=/", "hunter2x"),
        ("callback /oauth?code=1&access_token=ya29a0AfH6SMBx&state=2", "ya29a0AfH6SMBx"),
        ("Authorization: Bearer 7f3c9a1e5b2d4f6a8c0e", "7f3c9a1e5b2d4f6a8c0e"),
        ("Proxy-Authorization: Basic dXNlcjpwYXNzd29yZDE=", "dXNlcjpwYXNzd29yZDE="),
        ("headers={'Authorization': 'Token 9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b'}", "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"),
        ("upstream call with Bearer abc123DEF456ghi789 failed", "abc123DEF456ghi789"),
        ("Cookie: sessionid=38afes7a8q; csrftoken=u32t4o3tb3gg43", "38afes7a8q"),
        ("Cookie: theme=dark; auth_session=Zx81kLmn0p", "Zx81kLmn0p"),
        ("Set-Cookie: JSESSIONID=8A1B2C3D4E5F60718293A4B5C6D7E8F9; Path=/; HttpOnly", "8A1B2C3D4E5F60718293A4B5C6D7E8F9"),
        ("jwt eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
         "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"),
        ("github token ghp_16C7e42F292c6912E7710c838347Ae178B4a used", "ghp_16C7e42F292c6912E7710c838347Ae178B4a"),
        ("oauth gho_16C7e42F292c6912E7710c838347Ae178B4b", "gho_16C7e42F292c6912E7710c838347Ae178B4b"),
        ("pat github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV", "github_pat_11ABCDEFG0123456789"),
        ("gitlab glpat-Vq3mK8rT2pLx9WzY4nB1 rotated", "glpat-Vq3mK8rT2pLx9WzY4nB1"),
        ("slack xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", "AbCdEfGhIjKlMnOpQrStUvWx"),
        ("slack user xoxp-123456789012-123456789012-123456789012-abcdef0123456789", "abcdef0123456789"),
        ("stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc charged", "4eC39HqLyjWDarjtT1zdp7dc"),
        ("stripe restricted rk_test_51H8Xl2abcdefghijklmnop", "51H8Xl2abcdefghijklmnop"),
        ("google AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI maps", "AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI"),
        ("openai sk-proj-abc123DEF456ghi789JKL012mno345PQR", "abc123DEF456ghi789JKL012mno345PQR"),
        ("anthropic sk-ant-api03-abcdefghij0123456789ABCDEFGHIJ", "abcdefghij0123456789ABCDEFGHIJ"),
        ("aws key AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"),
        ("temporary ASIAY34FZKBOKMUTVV7A issued", "ASIAY34FZKBOKMUTVV7A"),
        ("aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        ("creds SecretAccessKey: wJalrXUtnFEMI/K7MDENG/bPxRfiCYzz", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzz"),
        (#"{"db_password": "pa55word!"}"#, "pa55word!"),
        ("client_secret=0a1b2c3d4e5f", "0a1b2c3d4e5f"),
        ("X-Api-Key: 5f8d9e0a1b2c3d4e", "5f8d9e0a1b2c3d4e"),
        ("apikey=0123456789abcdef", "0123456789abcdef"),
        ("private_key: MIIEvQIBADANBgkq", "MIIEvQIBADANBgkq"),
        ("passphrase=correct-horse-battery", "correct-horse-battery"),
        ("PASSWORD='Tr0ub4dor&3'", "Tr0ub4dor&3"),
        ("login user=ann passwd=qwerty123", "qwerty123"),
        ("refresh_token: 1//0gLx9-abcDEF", "1//0gLx9-abcDEF"),
        ("credentials: hunter42secret", "hunter42secret"),
        ("sessionid=q8w7e6r5t4y3", "q8w7e6r5t4y3"),
        ("card 4111 1111 1111 1111 ok", "4111 1111 1111 1111"),
        ("card 4111-1111-1111-1111", "4111-1111-1111-1111"),
        ("amex 378282246310005", "378282246310005"),
        ("amex grouped 3782 822463 10005", "3782 822463 10005"),
        ("mastercard 5555555555554444", "5555555555554444"),
        ("mastercard 2-series 2223003122003222", "2223003122003222"),
        ("discover 6011111111111117", "6011111111111117"),
        ("jcb 3530111333300000", "3530111333300000"),
        ("diners 3056 930902 5904", "3056 930902 5904"),
        ("unionpay 6200000000000005", "6200000000000005"),
        ("visa 19 4222222222222222224", "4222222222222222224"),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\nVTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n-----END RSA PRIVATE KEY-----",
         "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun"),
        ("key=-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----",
         "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ"),
    ]

    func pipeline() throws -> InputPipeline {
        try InputPipeline(input: LogshipConfiguration.Input(service: "svc", paths: ["/x.log"]), host: "h",
                          allowDebug: true, maskPatterns: [], pythonFormat: nil)
    }

    func ship(_ text: String, _ pipeline: InputPipeline, stats: AgentStats) -> String {
        let out = OutputBuffer()
        let record = Record(bytes: Array(text.utf8), offset: 0, endOffset: 1, tags: [])
        guard case .ship = pipeline.process(record, fileIdentity: "f", filePath: "/x.log", nowMillis: 1_796_529_600_000,
                                            stats: stats, into: out) else { return "" }
        return String(decoding: out.bytes, as: UTF8.self)
    }

    static func jsonString(_ text: String) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: [text], options: [.withoutEscapingSlashes]), as: UTF8.self).dropFirst().dropLast().description
    }

    @Test func everySecretFormIsMaskedInEveryField() throws {
        #expect(Self.secrets.count >= 50)
        let pipeline = try pipeline()
        let stats = AgentStats()
        var masked = 0, total = 0
        for (line, secret) in Self.secrets {
            // As a line of text, as a JSON record's message, and inside a JSON string nested in a JSON field.
            let nested = #"{"outer": "\#(Self.jsonString(line).dropFirst().dropLast())"}"#
            let forms = [
                line,
                #"{"level": "info", "msg": \#(Self.jsonString(line)), "n": 1}"#,
                #"{"event": "call", "ctx": {"detail": \#(Self.jsonString(nested))}}"#,
            ]
            for form in forms {
                total += 1
                let shipped = ship(form, pipeline, stats: stats)
                #expect(!shipped.isEmpty)
                // The secret, and its JSON-escaped spelling, are gone from the whole event.
                let leaked = shipped.contains(secret) || shipped.contains(String(Self.jsonString(secret).dropFirst().dropLast()))
                #expect(!leaked, "\(secret) leaked from \(form): \(shipped)")
                if !leaked && shipped.contains(SecretMasker.marker) { masked += 1 }
            }
        }
        #expect(masked == total)
        print("masking recall: \(masked)/\(total) secret forms masked (\(Self.secrets.count) secrets × 3 encodings)")
    }

    /// Lines as HDFS, BGL, HealthApp, Android, Spark, Zookeeper, OpenSSH, web servers and
    /// services write them: block ids, epochs, dates, IPs, versions, durations, sizes, UUIDs,
    /// hex ids, ports, offsets, token counts, order ids.
    static func ordinaryLines(count: Int) -> [String] {
        var g = SplitMix(seed: 19)
        func n(_ range: ClosedRange<Int64>) -> Int64 { Int64.random(in: range, using: &g) }
        func hex(_ length: Int) -> String { String((0..<length).map { _ in Array("0123456789abcdef")[Int.random(in: 0..<16, using: &g)] }) }
        func ip() -> String { "\(n(1...223)).\(n(0...255)).\(n(0...255)).\(n(1...254))" }
        let templates: [() -> String] = [
            { "081109 \(n(100000...235959)) \(n(1...999)) INFO dfs.DataNode$PacketResponder: PacketResponder \(n(0...2)) for block blk_\(n(-9_000_000_000_000_000_000...9_000_000_000_000_000_000)) terminating" },
            { "081109 \(n(100000...235959)) \(n(1...999)) INFO dfs.DataNode$DataXceiver: Receiving block blk_\(n(-9_000_000_000_000_000_000...9_000_000_000_000_000_000)) src: /\(ip()):\(n(1024...65535)) dest: /\(ip()):50010" },
            { "- \(n(1_117_000_000...1_136_000_000)) 2005.06.\(String(format: "%02d", n(1...28))) R\(n(10...77))-M1-N\(n(0...9))-C:J\(n(10...17))-U11 2005-06-03-15.42.50.\(n(100000...999999)) R02-M1-N0-C:J12-U11 RAS KERNEL INFO \(n(1...999)) double-hummer alignment exceptions" },
            { "20171223-22:15:\(String(format: "%02d", n(0...59))):\(n(100...999))|Step_LSC|\(n(30_000_000...30_009_999))|onStandStepChanged \(n(1000...9999))" },
            { "20171223-22:15:29:606|Step_StandReportReceiver|30002312|onReceive action: android.intent.action.SCREEN_ON ts=\(n(1_514_000_000_000...1_515_000_000_000))" },
            { "12-17 19:31:36.\(n(100...999))  \(n(1000...9999))  \(n(1000...9999)) D PowerManagerService: userActivityNoUpdateLocked: eventTime=\(n(100_000_000...999_999_999)), event=2, flags=0x0, uid=\(n(1000...10999))" },
            { "17/06/09 20:10:40 INFO executor.Executor: Finished task \(n(0...99)).0 in stage \(n(0...50)).0 (TID \(n(0...9999))). \(n(1000...99999)) bytes result sent to driver" },
            { "2015-07-29 17:41:44,\(n(100...999)) - INFO  [QuorumPeer[myid=\(n(1...5))]/0:0:0:0:0:0:0:0:2181:FastLeaderElection@774] - Notification time out: \(n(100...60000))" },
            { "Dec 10 06:55:46 LabSZ sshd[\(n(1000...99999))]: Failed password for invalid user admin from \(ip()) port \(n(1024...65535)) ssh2" },
            { "\(ip()) - - [10/Oct/2000:13:55:36 -0700] \"GET /api/v2/orders/\(n(1...99_999_999))?page=\(n(1...99)) HTTP/1.1\" 200 \(n(100...9_999_999)) \"-\" \"curl/8.\(n(0...9)).\(n(0...9))\" 0.\(n(100...999))" },
            { "2026-12-06 04:00:31,\(n(100...999)) INFO [payment.api] charge ok order_id=\(n(4_000_000_000_000_000...6_999_999_999_999_999)) amount=\(n(1...99999)).\(n(10...99)) duration_ms=\(n(1...9999)) status=200" },
            { "2026-12-06 04:00:31,\(n(100...999)) INFO [llm] usage prompt_tokens=\(n(1...99999)) completion_tokens=\(n(1...9999)) total_tokens=\(n(1...99999)) max_tokens=\(n(256...32768))" },
            { "request \(UUID(uuidString: "\(hex(8))-\(hex(4))-4\(hex(3))-a\(hex(3))-\(hex(12))")?.uuidString.lowercased() ?? "") trace_id=\(hex(32)) span_id=\(hex(16)) took \(n(1...9999))ms" },
            { "deployed version \(n(1...20)).\(n(0...99)).\(n(0...999)) build \(n(1000...99999)) commit \(hex(40)) image sha256:\(hex(64))" },
            { "epoch_ns=\(n(1_700_000_000_000_000_000...1_800_000_000_000_000_000)) epoch_ms \(n(1_700_000_000_000...1_800_000_000_000)) epoch \(n(1_700_000_000...1_800_000_000))" },
            { "kafka partition \(n(0...99)) offset \(n(1_000_000_000_000...9_999_999_999_999_999)) lag \(n(0...99999)) committed" },
            { "gc pause \(n(1...999)).\(n(100...999))ms heap \(n(1000...99_999_999)) KB -> \(n(1000...9_999_999)) KB, \(n(1...64)) threads, addr 0x7f\(hex(10))" },
            { "upload finished size=\(n(1...9_999_999_999_999)) bytes in \(n(1...999)).\(n(1...9))s (\(n(1...999)) MB/s) to /data/\(n(2020...2026))/\(n(1...12))/\(n(1...28))/part-\(n(10000...99999)).parquet" },
            { "phone verification queued for account \(n(100_000...999_999)) at 2026-12-0\(n(1...6))T0\(n(0...9)):\(n(10...59)):\(n(10...59))Z, retry in \(n(1...600))s" },
            { "token bucket refilled: \(n(1...1000)) tokens, secret rotation scheduled in \(n(1...86400))s, password policy v\(n(1...9)) applied" },
            { "Basic configuration loaded from /etc/app/config.yaml; Bearer authentication enabled on port \(n(1024...65535))" },
            { "ipv6 client [2001:db8::\(hex(4)):\(hex(4))]:\(n(1024...65535)) connected, tls 1.3, cipher TLS_AES_128_GCM_SHA256, session reused=\(n(0...1))" },
            { "invoice INV-\(n(2_024_000_000...2_026_999_999))-\(n(1000...9999)) total \(n(1...99999)).\(n(10...99)) EUR, customer_id=\(n(1_000_000_000_000...9_999_999_999_999_999)), iban DE\(n(10...99)) (masked upstream)" },
            { "sensor reading \(n(1...999)).\(n(100_000...999_999)) at lat 31.\(n(100_000...999_999)) lon 121.\(n(100_000...999_999)) seq \(n(4_000_000_000_000_000...5_999_999_999_999_999))" },
        ]
        return (0..<count).map { templates[$0 % templates.count]() }
    }

    /// The word filter (`logship_mask_word_starts`: words whose first letter no rule looks at, and
    /// numbers too short for one, are passed over before the loop sees them) changes nothing:
    /// with it and without it, the same output and the same matches, on every secret form, the
    /// ordinary lines, and lines spliced from pieces of both at random, opt-in rules on and off.
    @Test func theWordFilterChangesNothing() throws {
        var lines = Self.secrets.map(\.0) + Self.ordinaryLines(count: 2_000)
        lines += Self.secrets.map { #"{"msg": \#(Self.jsonString($0.0)), "n": 1}"# }
        var g = SplitMix(seed: 7)
        let pieces = lines.flatMap { $0.split(separator: " ").map(String.init) } + ["+4915112345678", "+1 (555) 010-9999", "4111 1111 1111 1111",
                                                                                    "ann@example.com", "a=b", "1234", "+12", "x"]
        for _ in 0..<3_000 {
            lines.append((0..<Int.random(in: 1...12, using: &g)).map { _ in pieces.randomElement(using: &g)! }
                .joined(separator: [" ", "", ",", "=", ":", "\t"].randomElement(using: &g)!))
        }
        for enable in [[], ["email", "phone", "cn_resident_id"]] {
            let filtered = try SecretMasker(enable: enable)
            var everyWord = filtered
            everyWord.wordFilter = SecretMasker.allWords
            for line in lines {
                var a: [SecretMasker.Match]? = [], b: [SecretMasker.Match]? = []
                let x = filtered.mask(bytes: Array(line.utf8), explain: &a), y = everyWord.mask(bytes: Array(line.utf8), explain: &b)
                #expect(x.0 == y.0 && x.1 == y.1 && a == b, "\(enable) \(line)")
            }
        }
    }

    @Test func tenThousandOrdinaryLinesHaveNoMask() throws {
        let pipeline = try pipeline()
        let stats = AgentStats()
        let lines = Self.ordinaryLines(count: 10_000)
        var maskedLines: [String] = []
        for line in lines where ship(line, pipeline, stats: stats).contains(SecretMasker.marker) {
            maskedLines.append(line)
        }
        #expect(maskedLines.isEmpty, "\(maskedLines.count) lines masked, e.g. \(maskedLines.prefix(5))")
        #expect(stats.snapshot.secretsMasked == 0)
        print("masking precision: \(lines.count - maskedLines.count)/\(lines.count) ordinary lines untouched")
    }

    @Test func optInPersonalDataRulesAndPerInputRules() throws {
        var input = LogshipConfiguration.Input(service: "svc", paths: ["/x.log"])
        let line = "signup ann@example.com phone +86 138 0013 8000 mobile 13800138000 id 11010519491231002X card 4111111111111111"
        let defaults = try InputPipeline(input: input, host: "h", allowDebug: true, maskPatterns: [], pythonFormat: nil)
        let plain = ship(line, defaults, stats: AgentStats())
        #expect(plain.contains("ann@example.com") && plain.contains("13800138000") && plain.contains("11010519491231002X"))
        input.maskRules.enable = ["email", "phone", "cn_resident_id"]
        input.maskRules.disable = ["card_number"]
        input.maskRules.add = [.init(name: "ticket", pattern: "TICKET-[0-9]+")]
        let pii = try InputPipeline(input: input, host: "h", allowDebug: true, maskPatterns: [], pythonFormat: nil)
        let masked = ship(line + " TICKET-42", pii, stats: AgentStats())
        #expect(!masked.contains("ann@example.com") && !masked.contains("138 0013 8000") && !masked.contains("13800138000"))
        #expect(!masked.contains("11010519491231002X") && !masked.contains("TICKET-42"))
        #expect(masked.contains("4111111111111111"), "card_number disabled")
        // A resident id with a wrong check digit, and a number that is no phone, stay.
        #expect(ship("id 110105194912310021 n 1380013800", pii, stats: AgentStats()).contains("110105194912310021"))
        var explained: [SecretMasker.Match]? = []
        _ = try SecretMasker(enable: ["email"]).mask(bytes: Array("to ann@example.com via postgres://u:pw123@db".utf8), explain: &explained)
        #expect(explained?.map(\.rule) == ["email", "url_password"])
    }
}
