/// What each long-running role reads of `logship.yml`: taken out of the whole once, after
/// `ConfigurationLoader` has validated it, and checked for what that role needs to run. A role
/// is built from its own type and sees its own sections only; the field names are those of
/// `logship.yml`, so `configuration.agent.inputs` reads the same in the role as in the file.
public struct AgentConfiguration: Sendable, Equatable {
    public var kafka: LogshipConfiguration.Kafka
    public var agent: LogshipConfiguration.Agent
    public var services: [String: LogshipConfiguration.Service]
    public var coordinator: LogshipConfiguration.Coordinator

    public init(_ configuration: LogshipConfiguration) throws(ConfigurationError) {
        guard !configuration.agent.inputs.isEmpty else {
            throw ConfigurationError(source: "agent", problems: [.init(path: "agent.inputs", message: "is empty: nothing to tail")])
        }
        kafka = configuration.kafka
        agent = configuration.agent
        services = configuration.services
        coordinator = configuration.coordinator
    }
}

public struct IndexerConfiguration: Sendable, Equatable {
    public var kafka: LogshipConfiguration.Kafka
    public var elasticsearch: LogshipConfiguration.Elasticsearch
    public var indexer: LogshipConfiguration.Indexer
    public var services: [String: LogshipConfiguration.Service]
    public var coordinator: LogshipConfiguration.Coordinator

    public init(_ configuration: LogshipConfiguration) {
        kafka = configuration.kafka
        elasticsearch = configuration.elasticsearch
        indexer = configuration.indexer
        services = configuration.services
        coordinator = configuration.coordinator
    }
}

/// The detector and the notifier (which delivers what the detector raised).
public struct DetectorConfiguration: Sendable, Equatable {
    public var kafka: LogshipConfiguration.Kafka
    public var detector: LogshipConfiguration.Detector
    public var services: [String: LogshipConfiguration.Service]
    public var coordinator: LogshipConfiguration.Coordinator

    public init(_ configuration: LogshipConfiguration) {
        kafka = configuration.kafka
        detector = configuration.detector
        services = configuration.services
        coordinator = configuration.coordinator
    }

    /// For the notifier: the same sections, and at least one destination.
    public static func forNotifier(_ configuration: LogshipConfiguration) throws(ConfigurationError) -> DetectorConfiguration {
        guard !configuration.detector.notify.isEmpty else {
            throw ConfigurationError(source: "notifier", problems: [.init(path: "detector.notify", message: "has no destinations")])
        }
        return DetectorConfiguration(configuration)
    }
}

/// The coordinator reads everything it judges: both groups, Elasticsearch, the services' owners.
public struct CoordinatorConfiguration: Sendable, Equatable {
    public var kafka: LogshipConfiguration.Kafka
    public var elasticsearch: LogshipConfiguration.Elasticsearch
    public var coordinator: LogshipConfiguration.Coordinator
    public var indexer: LogshipConfiguration.Indexer
    public var detector: LogshipConfiguration.Detector
    public var services: [String: LogshipConfiguration.Service]

    public init(_ configuration: LogshipConfiguration) {
        kafka = configuration.kafka
        elasticsearch = configuration.elasticsearch
        coordinator = configuration.coordinator
        indexer = configuration.indexer
        detector = configuration.detector
        services = configuration.services
    }
}
