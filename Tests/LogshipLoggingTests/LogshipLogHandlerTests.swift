import Foundation
import Logging
import LogshipLogging
import ServiceContextModule
import Testing
import TestSupport

/// The Swift handler's lines, run through the agent's own pipeline (`logship parse`), arrive
/// with every field: level, logger, message, service, trace and span ids, metadata.
@Suite struct LogshipLogHandlerTests {
    @Test func traceparentParsingFollowsW3C() {
        let context = TraceContext(traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        #expect(context == TraceContext(traceID: "4bf92f3577b34da6a3ce929d0e0e4736", spanID: "00f067aa0ba902b7", sampled: true))
        #expect(context?.traceparent == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        for bad in [nil, "", "nope", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                    "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
                    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x"] {
            #expect(TraceContext(traceparent: bad) == nil, "\(bad ?? "nil")")
        }
        let child = context!.child()
        #expect(child.traceID == context!.traceID && child.spanID != context!.spanID && child.spanID.count == 16)
        #expect(TraceContext.start().traceID.count == 32)
    }

    @Test func linesRoundTripThroughTheAgentWithAllFields() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlog-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("orders.log").path
        let write = LogshipLogHandler.appending(to: file)
        var logger = Logger(label: "orders.checkout") { LogshipLogHandler(label: $0, service: "orders", write: write) }
        logger.logLevel = .debug
        logger[metadataKey: "region"] = "eu-1"

        logger.debug("cache warm", metadata: ["entries": "\(42)"])
        let (traceID, spanID) = await TraceContext.withRequest(traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01") {
            logger.warning("payment slow", metadata: ["order_id": .stringConvertible(17), "duration_ms": .stringConvertible(1250)])
            logger.error("payment failed")
            return (TraceContext.current!.traceID, TraceContext.current!.spanID)
        }
        #expect(traceID == "4bf92f3577b34da6a3ce929d0e0e4736" && spanID != "00f067aa0ba902b7")
        #expect(TraceContext.current == nil, "unbound after the request")

        let config = dir.appendingPathComponent("logship.yml")
        // debug: true, else the agent's DEBUG policy drops the first line.
        try "agent:\n  inputs:\n    - {service: orders, paths: [\"\(file)\"], format: json}\nservices: {orders: {debug: true}}\n".write(to: config, atomically: true, encoding: .utf8)
        let parsed = try LogshipBinary.run(["parse", file, "-c", config.path])
        #expect(parsed.status == 0, "\(parsed.stderr)")
        let events = parsed.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(events.count == 3)
        func field(_ event: [String: Any], _ path: String) -> Any? {
            path.split(separator: ".").reduce(event as Any?) { ($0 as? [String: Any])?[String($1)] }
        }
        #expect(events.map { field($0, "log.level") as? String } == ["DEBUG", "WARN", "ERROR"])
        #expect(events.allSatisfy { field($0, "log.logger") as? String == "orders.checkout" && field($0, "service.name") as? String == "orders" })
        #expect(events.map { $0["message"] as? String } == ["cache warm", "payment slow", "payment failed"])
        #expect(field(events[0], "trace.id") == nil)
        #expect(events.dropFirst().allSatisfy { field($0, "trace.id") as? String == traceID && field($0, "span.id") as? String == spanID })
        #expect(field(events[1], "event.duration") as? Int == 1_250_000_000, "duration_ms becomes event.duration (ns)")
        #expect(field(events[1], "labels.order_id") as? String == "17" && field(events[0], "labels.region") as? String == "eu-1")
        #expect((events[0]["@timestamp"] as? String)?.hasSuffix("Z") == true)
    }
}
