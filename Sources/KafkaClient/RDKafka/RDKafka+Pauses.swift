import CRdKafka

extension RDKafka {
    /// Performs the calls a `PartitionPauses` transition returned, in order. A failed call is
    /// not fatal: librdkafka fails them only for partitions no longer assigned, which the next
    /// assignment resets anyway.
    static func perform(_ actions: [PartitionPauses.Action], on handle: OpaquePointer) {
        for action in actions {
            switch action {
            case .pause(let partitions), .resume(let partitions):
                let list = makeList(partitions)
                defer { rd_kafka_topic_partition_list_destroy(list) }
                if case .pause = action {
                    _ = rd_kafka_pause_partitions(handle, list)
                } else {
                    _ = rd_kafka_resume_partitions(handle, list)
                    wakeFetchers(list, on: handle)
                }
            case .seek(let partition, let offset):
                let list = makeList([(partition, offset)])
                defer { rd_kafka_topic_partition_list_destroy(list) }
                if let error = rd_kafka_seek_partitions(handle, list, 10_000) { rd_kafka_error_destroy(error) }
            }
        }
    }

    /// librdkafka (2.0.2) does not wake a broker thread on resume: one whose partitions were all
    /// paused sleeps on its socket for up to a second before it fetches the resumed ones, so a
    /// quiet service's records reached the indexer in one-second bursts (bench/latency.sh). A
    /// seek does wake it ("seek done"): the resumed partitions are sought, asynchronously, to the
    /// position they resume from anyway (the application's; none yet: left to the resume).
    static func wakeFetchers(_ resumed: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>, on handle: OpaquePointer) {
        guard rd_kafka_position(handle, resumed) == RD_KAFKA_RESP_ERR_NO_ERROR else { return }
        let positions = read(resumed).filter { $0.1 >= 0 && $0.2 == RD_KAFKA_RESP_ERR_NO_ERROR }
        guard !positions.isEmpty else { return }
        let list = makeList(positions.map { ($0.0, $0.1) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        if let error = rd_kafka_seek_partitions(handle, list, 0) { rd_kafka_error_destroy(error) }
    }
}
