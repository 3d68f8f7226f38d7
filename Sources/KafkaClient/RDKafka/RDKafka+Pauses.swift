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
                if case .pause = action { _ = rd_kafka_pause_partitions(handle, list) } else { _ = rd_kafka_resume_partitions(handle, list) }
            case .seek(let partition, let offset):
                let list = makeList([(partition, offset)])
                defer { rd_kafka_topic_partition_list_destroy(list) }
                if let error = rd_kafka_seek_partitions(handle, list, 10_000) { rd_kafka_error_destroy(error) }
            }
        }
    }
}
