// swift-tools-version:6.0
import PackageDescription

/// The binaries are linked by lld with packed relative relocations (DT_RELR, glibc >= 2.36) and
/// without exporting their symbols: the static Swift runtime's ~100,000 relocations and ~30,000
/// dynamic symbols were ~4 MB of every process's resident set (README, "Pipeline speed").
let leanLink: [LinkerSetting] = [
    .unsafeFlags(["-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs", "-Xlinker", "--no-export-dynamic"]),
]

/// The per-line modules (and the Kafka client the agent ships through) are compiled without
/// type-layout-based lowering: with it, the outlined copies and destroys of values such as
/// `String?` inside the events went through the type's metadata and `Optional`'s generic value
/// witnesses (~110 instructions a copy, ~70 a destroy, instead of one retain or release):
/// ~660 instructions a shipped line (README, "Pipeline speed").
/// In release builds they also leave out the run-time exclusivity checks (every access to a class's
/// stored property on the per-line path began and ended one: ~240 instructions a line); debug
/// builds, which the tests run, keep them.
let perLine: [SwiftSetting] = [
    .unsafeFlags(["-Xfrontend", "-disable-type-layout"]),
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

let package = Package(
    name: "logship",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "logship", targets: ["logship"]),
        // The agent alone (the same role as `logship agent`): no Elasticsearch client, no libcurl.
        .executable(name: "logship-agent", targets: ["logship-agent"]),
        // For Swift services: a swift-log handler writing what the agent parses best.
        .library(name: "LogshipLogging", targets: ["LogshipLogging"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-service-context", from: "1.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.1.0"),
    ],
    targets: [
        // C libraries, found through pkg-config; only the client modules import them.
        .systemLibrary(name: "CRdKafka", pkgConfig: "rdkafka",
                       providers: [.apt(["librdkafka-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl",
                       providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd",
                       providers: [.apt(["libzstd-dev"])]),

        // SSE2 byte scans for the agent's per-line work (JSON escaping, field marks).
        .target(name: "CByteScan"),
        // glibc's malloc_trim: the idle agent hands back the heap of its last burst.
        .target(name: "CHeap"),
        // Events, naming rules, retry classification. No I/O.
        .target(name: "LogModel", dependencies: ["CByteScan"], swiftSettings: perLine),
        .target(name: "LogshipConfig", dependencies: [
            "LogModel",
            .product(name: "Yams", package: "Yams"),
        ]),
        .target(name: "KafkaClient", dependencies: [
            "CRdKafka",
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: perLine),
        .target(name: "ElasticClient", dependencies: [
            "CCurl", "LogModel", "LogshipConfig",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "Codecs", dependencies: ["CZstd"]),
        // Metrics (swift-prometheus behind swift-metrics), the HTTP endpoints, heartbeats, and the
        // lifecycle every role runs under (one ServiceGroup per process).
        .target(name: "Telemetry", dependencies: [
            "LogModel", "LogshipConfig", "KafkaClient",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        .target(name: "Agent", dependencies: [
            "CByteScan", "CHeap", "LogModel", "LogshipConfig", "KafkaClient", "Telemetry",
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: perLine),
        .target(name: "Indexer", dependencies: [
            "LogModel", "LogshipConfig", "KafkaClient", "ElasticClient", "Telemetry",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        // Windowed anomaly detection: pure logic, events in, alerts out.
        .target(name: "Detector", dependencies: ["LogModel", "Patterns"]),
        .target(name: "Patterns"),
        // The detector role: Kafka in, alerts out, state rebuilt from Kafka.
        .target(name: "DetectorRole", dependencies: [
            "Detector", "KafkaClient", "ElasticClient", "LogModel", "LogshipConfig", "Telemetry",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        // Operator tasks shared by the CLI and the coordinator: lag, replay.
        .target(name: "Operations", dependencies: ["KafkaClient", "ElasticClient", "LogModel", "Codecs"]),
        // Cluster health from heartbeats, metadata, lag and Elasticsearch; HTTP API and dashboard.
        .target(name: "Coordinator", dependencies: [
            "KafkaClient", "ElasticClient", "LogModel", "LogshipConfig", "Operations", "Detector", "DetectorRole", "Telemetry",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        // The CLI basics every command shares, and the agent's command: all `logship-agent` links.
        .target(name: "AgentCLI", dependencies: [
            "Agent", "LogModel", "LogshipConfig", "KafkaClient", "Telemetry",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "LogshipCLI", dependencies: [
            "AgentCLI", "LogModel", "LogshipConfig", "KafkaClient", "ElasticClient", "Agent", "Indexer", "Telemetry", "Operations", "Detector", "DetectorRole", "Coordinator", "Patterns",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        .executableTarget(name: "logship", dependencies: ["LogshipCLI"], linkerSettings: leanLink),
        // Its functions laid out in the order the agent runs them (bench/agent-symbol-order.sh makes
        // the list): the code an agent runs sits together, fewer of the binary's pages are mapped.
        .executableTarget(name: "logship-agent", dependencies: ["AgentCLI"], exclude: ["symbol-order.txt"],
                          linkerSettings: leanLink + [.unsafeFlags([
                              "-Xlinker", "--symbol-ordering-file=\(Context.packageDirectory)/Sources/logship-agent/symbol-order.txt",
                              "-Xlinker", "--no-warn-symbol-ordering",
                          ])]),
        // Client side for Swift services: JSON lines with trace ids from the task-local ServiceContext.
        .target(name: "LogshipLogging", dependencies: [
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceContextModule", package: "swift-service-context"),
        ]),

        // Test backends: noida-db on free loopback ports, librdkafka's mock cluster.
        .target(name: "TestSupport", dependencies: [
            "KafkaClient", "Telemetry",
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),

        .testTarget(name: "LogModelTests", dependencies: ["LogModel", "CByteScan"]),
        .testTarget(name: "LogshipLoggingTests", dependencies: [
            "LogshipLogging", "TestSupport",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceContextModule", package: "swift-service-context"),
        ]),
        .testTarget(name: "LogshipConfigTests", dependencies: ["LogshipConfig"]),
        .testTarget(name: "KafkaClientTests", dependencies: ["KafkaClient", "TestSupport"]),
        .testTarget(name: "ElasticClientTests", dependencies: ["ElasticClient", "TestSupport"]),
        .testTarget(name: "CodecsTests", dependencies: ["Codecs"]),
        .testTarget(name: "DetectorTests", dependencies: ["Detector", "LogModel", "Patterns"]),
        .testTarget(name: "PatternsTests", dependencies: ["Patterns"]),
        .testTarget(name: "DetectorRoleTests", dependencies: ["DetectorRole", "Detector", "LogshipConfig", "KafkaClient", "Telemetry", "TestSupport"]),
        .testTarget(name: "CoordinatorTests", dependencies: ["Coordinator", "LogModel", "LogshipConfig", "KafkaClient", "TestSupport"]),
        .testTarget(name: "OperationsTests", dependencies: ["Operations", "KafkaClient", "ElasticClient", "LogModel", "TestSupport"]),
        .testTarget(name: "IndexerTests", dependencies: ["Indexer", "LogModel", "LogshipConfig", "KafkaClient", "ElasticClient", "Telemetry", "TestSupport"]),
        .testTarget(name: "EndToEndTests", dependencies: ["KafkaClient", "ElasticClient", "LogModel", "TestSupport"]),
        .testTarget(name: "AgentTests", dependencies: ["Agent", "LogModel", "LogshipConfig", "KafkaClient", "Telemetry", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: [
            "LogshipCLI", "LogshipConfig", "TestSupport",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Yams", package: "Yams"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
