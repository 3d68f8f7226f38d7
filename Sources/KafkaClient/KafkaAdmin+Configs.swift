import CRdKafka

extension KafkaAdmin {
    /// The effective configuration values of topics in one DescribeConfigs request, e.g.
    /// `min.insync.replicas`: per topic, only the `keys` asked for that the broker reports.
    public func topicConfigs(_ topics: [String], keys: Set<String>) throws -> [String: [String: String]] {
        guard !topics.isEmpty else { return [:] }
        var resources: [OpaquePointer?] = topics.map { rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, $0) }
        defer { for resource in resources { rd_kafka_ConfigResource_destroy(resource) } }
        let topic = topics.count == 1 ? topics[0] : "\(topics.count) topics"
        let queue = rd_kafka_queue_new(handle)
        defer { rd_kafka_queue_destroy(queue) }
        rd_kafka_DescribeConfigs(handle, &resources, resources.count, nil, queue)
        guard let event = rd_kafka_queue_poll(queue, timeoutMs + 1000) else {
            throw KafkaError.client("describe configs of \(topic): no answer from the cluster within \(timeoutMs) ms", retriable: true)
        }
        defer { rd_kafka_event_destroy(event) }
        let err = rd_kafka_event_error(event)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(err, "describe configs of \(topic): \(String(cString: rd_kafka_event_error_string(event)))")
        }
        var count = 0
        guard let results = rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(event), &count) else { return [:] }
        var values: [String: [String: String]] = [:]
        for index in 0..<count {
            // A topic the broker could not describe is left out.
            guard let result = results[index], rd_kafka_ConfigResource_error(result) == RD_KAFKA_RESP_ERR_NO_ERROR,
                  let name = rd_kafka_ConfigResource_name(result).map({ String(cString: $0) }) else { continue }
            var entryCount = 0
            guard let entries = rd_kafka_ConfigResource_configs(result, &entryCount) else { continue }
            for e in 0..<entryCount {
                guard let entry = entries[e], let key = rd_kafka_ConfigEntry_name(entry).map({ String(cString: $0) }),
                      keys.contains(key) else { continue }
                values[name, default: [:]][key] = rd_kafka_ConfigEntry_value(entry).map { String(cString: $0) }
            }
        }
        return values
    }
}
