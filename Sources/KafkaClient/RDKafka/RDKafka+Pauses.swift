import CRdKafka
import Synchronization

extension RDKafka {
    /// Performs the calls a `PartitionPauses` transition returned, in order. A failed call is
    /// not fatal: librdkafka fails them only for partitions no longer assigned, which the next
    /// assignment resets anyway. `positions` holds the next offset of each partition as handed
    /// out to the application (a seek moves it).
    static func perform(_ actions: [PartitionPauses.Action], on handle: OpaquePointer, positions: borrowing Mutex<[TopicPartition: Int64]>) {
        for action in actions {
            switch action {
            case .pause(let partitions):
                let list = makeList(partitions)
                defer { rd_kafka_topic_partition_list_destroy(list) }
                _ = rd_kafka_pause_partitions(handle, list)
            case .resume(let partitions):
                let list = makeList(partitions)
                defer { rd_kafka_topic_partition_list_destroy(list) }
                _ = rd_kafka_resume_partitions(handle, list)
                wakeFetchers(partitions, on: handle, positions: positions)
            case .seek(let partition, let offset):
                let list = makeList([(partition, offset)])
                defer { rd_kafka_topic_partition_list_destroy(list) }
                if let error = rd_kafka_seek_partitions(handle, list, 10_000) { rd_kafka_error_destroy(error) }
                positions.withLock { $0[partition] = offset }
            }
        }
    }

    /// librdkafka (2.0.2) does not wake a broker thread on resume: one whose partitions were all
    /// paused sleeps on its socket for up to a second before it fetches the resumed ones, so a
    /// quiet service's records reached the indexer in one-second bursts (bench/latency.sh). A
    /// seek does wake it ("seek done"): the resumed partitions are sought, asynchronously, to the
    /// position they resume from anyway — the application's (after a seek librdkafka reports
    /// none until the next record, so the consumer keeps its own). None yet: left to the resume.
    static func wakeFetchers(_ resumed: [TopicPartition], on handle: OpaquePointer, positions: borrowing Mutex<[TopicPartition: Int64]>) {
        let known = positions.withLock { positions in resumed.compactMap { tp in positions[tp].map { (tp, $0) } } }
        guard !known.isEmpty else { return }
        let list = makeList(known)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        if let error = rd_kafka_seek_partitions(handle, list, 0) { rd_kafka_error_destroy(error) }
    }
}
