import CRdKafka

extension KafkaAdmin {
    /// The effective configuration values of a topic (DescribeConfigs), e.g.
    /// `min.insync.replicas`; only the `keys` asked for, when the broker reports them.
    public func topicConfig(_ topic: String, keys: Set<String>) throws -> [String: String] {
        guard let resource = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic) else {
            throw KafkaError.client("cannot describe the configuration of \(topic)")
        }
        var resources: [OpaquePointer?] = [resource]
        defer { rd_kafka_ConfigResource_destroy(resource) }
        let queue = rd_kafka_queue_new(handle)
        defer { rd_kafka_queue_destroy(queue) }
        rd_kafka_DescribeConfigs(handle, &resources, 1, nil, queue)
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
        var values: [String: String] = [:]
        for index in 0..<count {
            guard let result = results[index] else { continue }
            let resultErr = rd_kafka_ConfigResource_error(result)
            guard resultErr == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(resultErr, "describe configs of \(topic)") }
            var entryCount = 0
            guard let entries = rd_kafka_ConfigResource_configs(result, &entryCount) else { continue }
            for e in 0..<entryCount {
                guard let entry = entries[e], let name = rd_kafka_ConfigEntry_name(entry).map({ String(cString: $0) }),
                      keys.contains(name) else { continue }
                values[name] = rd_kafka_ConfigEntry_value(entry).map { String(cString: $0) }
            }
        }
        return values
    }
}
