import CRdKafka

extension KafkaProducer {
    /// Registers the transactional id with the coordinator (fencing an older producer with the
    /// same id). Call once before the first transaction.
    public func initTransactions(timeoutMs: Int32 = 30_000) throws {
        if let error = rd_kafka_init_transactions(handle, timeoutMs) { throw KafkaError(rdError: error, "init transactions") }
    }

    /// Runs `body` (which queues messages) in one transaction with the consumed `offsets` of
    /// `group`: Kafka makes the messages visible to read_committed readers and the offsets
    /// committed together, or neither. On failure the transaction is aborted and the error
    /// thrown; nothing of it is visible.
    public func inTransaction(offsets: [TopicPartition: Int64], group: String, timeoutMs: Int32 = 30_000,
                              _ body: () throws -> Void) throws {
        try inTransaction(offsets: offsets, metadata: { rd_kafka_consumer_group_metadata_new(group) }, describing: "group \(group)",
                          timeoutMs: timeoutMs, body)
    }

    /// The same, with the offsets bound to `consumer`'s group membership (KIP-447: member id and
    /// generation): a member that lost its partitions in a rebalance — a zombie — is fenced by
    /// the group coordinator when it tries to commit, whatever its transactional id.
    public func inTransaction(offsets: [TopicPartition: Int64], consumer: KafkaConsumer, timeoutMs: Int32 = 30_000,
                              _ body: () throws -> Void) throws {
        try inTransaction(offsets: offsets, metadata: { rd_kafka_consumer_group_metadata(consumer.handle) },
                          describing: "member of \(consumer.groupID)", timeoutMs: timeoutMs, body)
    }

    private func inTransaction(offsets: [TopicPartition: Int64], metadata makeMetadata: () -> OpaquePointer?, describing: String,
                               timeoutMs: Int32, _ body: () throws -> Void) throws {
        if let error = rd_kafka_begin_transaction(handle) { throw KafkaError(rdError: error, "begin transaction") }
        do {
            try body()
            if !offsets.isEmpty {
                let list = RDKafka.makeList(offsets.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
                defer { rd_kafka_topic_partition_list_destroy(list) }
                let metadata = makeMetadata()
                defer { rd_kafka_consumer_group_metadata_destroy(metadata) }
                if let error = rd_kafka_send_offsets_to_transaction(handle, list, metadata, timeoutMs) {
                    throw KafkaError(rdError: error, "offsets of \(describing) in the transaction")
                }
            }
            if let error = rd_kafka_commit_transaction(handle, timeoutMs) { throw KafkaError(rdError: error, "commit transaction") }
        } catch {
            if let abortError = rd_kafka_abort_transaction(handle, timeoutMs) { rd_kafka_error_destroy(abortError) }
            throw error
        }
    }
}
