import Foundation

/// Asks Python confluent-kafka (a real, independent client) about a group and a topic, so tests
/// compare logship's view against it.
public struct ConfluentKafkaProbe: Decodable, Sendable {
    public var committed: [String: Int64?]
    public var low: [String: Int64]
    public var high: [String: Int64]
    public var forTime: [String: Int64]

    enum CodingKeys: String, CodingKey {
        case committed, low, high
        case forTime = "for_time"
    }

    public static func describe(bootstrap: String, group: String, topic: String, partitions: Int,
                                timestampMs: Int64) throws -> ConfluentKafkaProbe {
        let script = """
        import json, sys
        from confluent_kafka import Consumer, TopicPartition
        bootstrap, group, topic, n, ts = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
        c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
        tps = [TopicPartition(topic, p) for p in range(n)]
        out = {"committed": {}, "low": {}, "high": {}, "for_time": {}}
        for tp in c.committed(tps, timeout=10):
            out["committed"][str(tp.partition)] = tp.offset if tp.offset >= 0 else None
        for tp in tps:
            lo, hi = c.get_watermark_offsets(tp, timeout=10, cached=False)
            out["low"][str(tp.partition)] = lo
            out["high"][str(tp.partition)] = hi
        for tp in c.offsets_for_times([TopicPartition(topic, p, ts) for p in range(n)], timeout=10):
            off = tp.offset
            if off < 0:
                off = out["high"][str(tp.partition)]
            out["for_time"][str(tp.partition)] = off
        c.close()
        print(json.dumps(out))
        """
        let result = try Subprocess.run("python3", ["-c", script, bootstrap, group, topic, String(partitions), String(timestampMs)],
                                        timeout: 60)
        guard result.status == 0 else {
            throw TestBackendError("confluent-kafka probe failed (\(result.status)): \(result.stderr)")
        }
        return try JSONDecoder().decode(ConfluentKafkaProbe.self, from: Data(result.stdout.utf8))
    }
}
