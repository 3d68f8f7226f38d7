import ArgumentParser
import Foundation
import Synchronization
import LogModel

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Write realistic log traffic of four Python-style services, for a local cluster.",
        discussion: helpText("""
        gateway (structlog JSON), orders and payment (Python logging text, tracebacks on errors)
        and inventory (python-json-logger JSON) log each request with one shared W3C trace id,
        span ids, methods, paths, HTTP statuses and duration_ms; slow requests log WARN, and
        about one charge in 200 is declined (402, WARN). A scheduled incident makes half of
        payment's charges time out upstream (503 with an UpstreamTimeout traceback) for a
        while, so the detector and `logship patterns` have something to find. Events written per service are kept in OUT/demo-counts.json.
        """)
    )

    @Option(help: "Directory for the log files (one folder per service).") var out: String = ".run/demo"
    @Option(help: "Requests per second.") var rate: Double = 20
    @Option(help: "How long to run, e.g. 60s or 10m (default: until SIGTERM).") var duration: String?
    @Option(help: "Seconds after start when the payment incident begins (negative: none).") var incidentAt: Double = 20
    @Option(help: "Seconds the incident lasts.") var incidentLength: Double = 20
    @Option(help: "Random seed, for repeatable traffic.") var seed: UInt64 = 42

    func validate() throws {
        if rate <= 0 { throw ValidationError("--rate must be positive") }
        if let duration, DemoCommand.seconds(duration) == nil { throw ValidationError("--duration: expected e.g. 60s, 5m, 1h") }
    }

    static func seconds(_ text: String) -> Double? {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            if let value = Double(text.dropLast(suffix.count)) { return value * factor }
        }
        return Double(text)
    }

    func run() async throws {
        let writer = try DemoWriter(directory: out, seed: seed)
        let stop = StopFlag()
        signal(SIGTERM, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        let sources = [SIGTERM, SIGINT].map { number -> DispatchSourceSignal in
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { stop.set() }
            source.resume()
            return source
        }
        defer { sources.forEach { $0.cancel() } }
        let limit = duration.flatMap(Self.seconds)
        let start = Date()
        var sent = 0
        print("demo: writing \(rate) requests/s to \(out) (gateway, orders, payment, inventory)"
              + (incidentAt >= 0 ? "; payment incident at +\(Int(incidentAt)) s for \(Int(incidentLength)) s" : ""))
        while !stop.isSet {
            let elapsed = Date().timeIntervalSince(start)
            if let limit, elapsed >= limit { break }
            let due = Int(elapsed * rate) + 1
            while sent < due {
                let incident = incidentAt >= 0 && elapsed >= incidentAt && elapsed < incidentAt + incidentLength
                try writer.request(incident: incident)
                sent += 1
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        try writer.close()
        print("demo: \(sent) requests; events per service in \(out)/demo-counts.json")
    }
}

final class StopFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .releasing) }
    var isSet: Bool { value.load(ordering: .acquiring) }
}

/// Writes one request's log lines across the four services.
final class DemoWriter {
    let directory: String
    var files: [String: FileHandle] = [:]
    var counts: [String: Int] = [:]
    var rng: SplitMix
    let services = ["gateway", "orders", "payment", "inventory"]
    let paths = ["/api/orders", "/api/orders/{id}", "/api/cart", "/api/checkout"]
    let users = (1...50).map { "user\($0)" }

    init(directory: String, seed: UInt64) throws {
        self.directory = directory
        rng = SplitMix(seed: seed)
        for service in services {
            let folder = "\(directory)/\(service)"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let path = "\(folder)/\(service).log"
            if !FileManager.default.fileExists(atPath: path) { FileManager.default.createFile(atPath: path, contents: nil) }
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            handle.seekToEndOfFile()
            files[service] = handle
        }
        if let data = FileManager.default.contents(atPath: "\(directory)/demo-counts.json"),
           let previous = try? JSONDecoder().decode([String: Int].self, from: data) {
            counts = previous
        }
    }

    func hex(_ digits: Int) -> String {
        (0..<(digits / 16)).map { _ in
            let d = String(rng.next(), radix: 16)
            return String(repeating: "0", count: 16 - d.count) + d
        }.joined()
    }

    func now() -> (iso: String, python: String) {
        let iso = Timestamps.format(epochMillis: Int64(Date().timeIntervalSince1970 * 1000))
        var python = iso.replacingOccurrences(of: "T", with: " ").replacingOccurrences(of: "Z", with: "")
        python = python.replacingOccurrences(of: ".", with: ",")
        return (iso, python)
    }

    func write(_ service: String, _ line: String) throws {
        files[service]?.write(Data((line + "\n").utf8))
        counts[service, default: 0] += 1
    }

    func request(incident: Bool) throws {
        let trace = hex(32)
        let path = paths[Int(rng.next() % UInt64(paths.count))]
        let method = path == "/api/checkout" || path == "/api/orders" ? "POST" : "GET"
        let user = users[Int(rng.next() % UInt64(users.count))]
        let slow = rng.next() % 25 == 0
        // Outside the incident a charge is now and then declined (a card problem, 402); in it,
        // half time out upstream (the acquirer, 503 with a traceback).
        let paymentOutcome = rng.next()
        let paymentFails = incident && paymentOutcome % 2 == 0
        let paymentDeclined = !incident && paymentOutcome % 200 == 0
        let inventoryDuration = Int(rng.next() % 40) + 2 + (slow ? 1_500 : 0)
        let paymentDuration = Int(rng.next() % 120) + 10 + (paymentFails ? 2_000 : 0)
        let ordersStatus = paymentFails ? 502 : paymentDeclined ? 402 : (rng.next() % 30 == 0 ? 404 : 200)
        let ordersDuration = inventoryDuration + paymentDuration + Int(rng.next() % 20)
        let gatewayStatus = ordersStatus
        let gatewayDuration = ordersDuration + Int(rng.next() % 10) + 1
        var t = now()

        // inventory: python-json-logger JSON.
        let inventoryLevel = slow ? "WARNING" : "INFO"
        try write("inventory", #"{"asctime": "\#(t.python)", "levelname": "\#(inventoryLevel)", "name": "inventory.stock", "message": "reserved items for \#(user)\#(slow ? " (slow)" : "")", "trace_id": "\#(trace)", "span_id": "\#(hex(16))", "method": "POST", "path": "/internal/reserve", "status": 200, "duration_ms": \#(inventoryDuration)}"#)

        // payment: Python logging text, a traceback when it fails.
        t = now()
        if paymentFails {
            try write("payment", """
            \(t.python) ERROR [payment.api] POST /internal/charge status=503 duration_ms=\(paymentDuration) trace_id=\(trace) span_id=\(hex(16)) charge failed for \(user) card=4111111111111111
            Traceback (most recent call last):
              File "/app/payment/api.py", line 88, in charge
                response = gateway.authorize(amount, token)
              File "/app/payment/gateway.py", line 41, in authorize
                raise UpstreamTimeout(f"acquirer did not answer in {timeout}s")
            payment.gateway.UpstreamTimeout: acquirer did not answer in 2.0s
            """)
        } else if paymentDeclined {
            try write("payment", "\(t.python) WARNING [payment.api] POST /internal/charge status=402 duration_ms=\(paymentDuration) trace_id=\(trace) span_id=\(hex(16)) card declined for \(user): insufficient funds")
        } else {
            try write("payment", "\(t.python) INFO [payment.api] POST /internal/charge status=200 duration_ms=\(paymentDuration) trace_id=\(trace) span_id=\(hex(16)) charged \(user) password=s3cr3t-\(rng.next() % 1000)")
        }

        // orders: Python logging text.
        t = now()
        let ordersLevel = ordersStatus >= 500 ? "ERROR" : (slow ? "WARNING" : "INFO")
        try write("orders", "\(t.python) \(ordersLevel) [orders.views] \(method) \(path.replacingOccurrences(of: "{id}", with: String(rng.next() % 9000 + 1000))) status=\(ordersStatus) duration_ms=\(ordersDuration) trace_id=\(trace) span_id=\(hex(16)) user=\(user)")

        // gateway: structlog JSON.
        t = now()
        let gatewayLevel = gatewayStatus >= 500 ? "error" : (slow ? "warning" : "info")
        try write("gateway", #"{"event": "\#(method) \#(path) \#(gatewayStatus)", "level": "\#(gatewayLevel)", "logger": "gateway.access", "timestamp": "\#(t.iso)", "trace_id": "\#(trace)", "span_id": "\#(hex(16))", "method": "\#(method)", "path": "\#(path)", "status": \#(gatewayStatus), "duration_ms": \#(gatewayDuration), "client": "10.0.0.\#(rng.next() % 250)"}"#)
        if counts.values.reduce(0, +) % 200 == 0 { try saveCounts() }
    }

    func saveCounts() throws {
        let data = try JSONEncoder().encode(counts)
        try data.write(to: URL(fileURLWithPath: "\(directory)/demo-counts.json"), options: .atomic)
    }

    func close() throws {
        try saveCounts()
        for handle in files.values { try handle.close() }
    }
}
