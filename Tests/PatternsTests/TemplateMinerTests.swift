import Patterns
import Testing

/// Corpora generated from known templates in the message layouts of 12 real-world log sources
/// (the message part, as the agent's parsers leave it: HDFS, Spark, syslog/sshd, Android, Java
/// application, nginx access, Python logging, Zookeeper, OpenStack, Apache error, Hadoop
/// MapReduce, Linux kernel). Grouping accuracy: a message counts when the messages mined into
/// its template are exactly those of its true template. One default configuration for all.
@Suite struct TemplateMinerTests {
    /// A slot's value: a number, hex id, IP, path, UUID, block id, or one of a few words.
    enum Slot {
        case number, hex, ip, path, uuid, block, duration, port
        case word([String])

        func value(_ rng: inout SplitMix) -> String {
            switch self {
            case .number: return String(rng.next() % 100_000)
            case .hex: return String(rng.next() & 0xffff_ffff_ffff, radix: 16)
            case .ip: return "10.\(rng.next() % 256).\(rng.next() % 256).\(rng.next() % 256)"
            case .path: return "/var/lib/app/\(["data", "cache", "tmp"][Int(rng.next() % 3)])/f\(rng.next() % 1_000).bin"
            case .uuid:
                let h = String(rng.next() | (1 << 63), radix: 16), l = String(rng.next() | (1 << 63), radix: 16)
                return "\(h.prefix(8))-\(h.dropFirst(8).prefix(4))-\(h.dropFirst(12).prefix(4))-\(l.prefix(4))-\(l.dropFirst(4).prefix(12))"
            case .block: return "blk_\(rng.next() % 2 == 0 ? "-" : "")\(rng.next() % 9_000_000_000_000_000_000)"
            case .duration: return "\(rng.next() % 5_000)ms"
            case .port: return "\(rng.next() % 65_536)"
            case .word(let words): return words[Int(rng.next() % UInt64(words.count))]
            }
        }
    }

    /// Deterministic generator (no Foundation).
    struct SplitMix {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9e37_79b9_7f4a_7c15
            var z = state
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            return z ^ (z >> 31)
        }
    }

    /// A template: text with `{}` where its slots go, in order.
    struct Known {
        let text: String
        let slots: [Slot]
        init(_ text: String, _ slots: Slot...) { self.text = text; self.slots = slots }

        func render(_ rng: inout SplitMix) -> String {
            var out = "", index = 0
            let characters = Array(text)
            var at = 0
            while at < characters.count {
                if characters[at] == "{", at + 1 < characters.count, characters[at + 1] == "}" {
                    out += slots[index].value(&rng)
                    index += 1
                    at += 2
                } else {
                    out.append(characters[at])
                    at += 1
                }
            }
            return out
        }
    }

    static let layouts: [(name: String, templates: [Known])] = [
        ("HDFS", [
            Known("Receiving block {} src: /{}:{} dest: /{}:{}", .block, .ip, .port, .ip, .port),
            Known("PacketResponder {} for block {} terminating", .number, .block),
            Known("Received block {} of size {} from /{}", .block, .number, .ip),
            Known("BLOCK* NameSystem.addStoredBlock: blockMap updated: {}:{} is added to {} size {}", .ip, .port, .block, .number),
            Known("Verification succeeded for {}", .block),
            Known("Deleting block {} file {}", .block, .path),
        ]),
        ("Spark", [
            Known("Running task {} in stage {} (TID {})", .number, .number, .number),
            Known("Finished task {} in stage {} (TID {}) in {} ms on {} (executor {}) ({}/{})", .number, .number, .number, .number, .ip, .number, .number, .number),
            Known("Block broadcast_{} stored as values in memory (estimated size {} KB, free {} MB)", .number, .number, .number),
            Known("Started reading broadcast variable {}", .number),
            Known("Got assigned task {}", .number),
        ]),
        ("syslog-sshd", [
            Known("Accepted publickey for {} from {} port {} ssh2", .word(["alice", "bob", "deploy", "root"]), .ip, .port),
            Known("Failed password for invalid user {} from {} port {} ssh2", .word(["admin", "test", "oracle", "guest"]), .ip, .port),
            Known("pam_unix(sshd:session): session opened for user {} by (uid={})", .word(["alice", "bob", "deploy"]), .number),
            Known("Received disconnect from {} port {}:11: disconnected by user", .ip, .port),
            Known("Connection closed by authenticating user {} {} port {} [preauth]", .word(["root", "admin"]), .ip, .port),
        ]),
        ("Android", [
            Known("setSystemUiVisibility vis={} mask={} oldVal={} newVal={} diff={}", .hex, .hex, .hex, .hex, .hex),
            Known("acquire lock={}, flags={}, tag=\"View Lock\", name=com.android.systemui, ws=null, uid={}, pid={}", .number, .hex, .number, .number),
            Known("Skipping AppWindowToken{{} token=Token{{} ActivityRecord{{} u0 com.tencent.mm/.ui.LauncherUI t{}}}} -- going to hide", .hex, .hex, .hex, .number),
            Known("onStop: isReady={} ms", .duration),
            Known("printFreezingDisplayLogs opening app wtoken = {}, allDrawn= false, startingDisplayed = false", .hex),
        ]),
        ("Java", [
            Known("Started ServerConnector@{}{HTTP/1.1}{{}:{}}", .hex, .ip, .port),
            Known("HikariPool-1 - Connection {} marked as broken because of SQLSTATE({})", .hex, .number),
            Known("Completed initialization in {}", .duration),
            Known("Resolved [org.springframework.web.HttpRequestMethodNotSupportedException: Request method 'POST' not supported]"),
            Known("Exception in thread \"pool-{}-thread-{}\" java.lang.OutOfMemoryError: Java heap space", .number, .number),
            Known("Tomcat started on port(s): {} (http) with context path ''", .port),
        ]),
        // Access lines are one template: the request and user agent are quoted values, masked.
        ("nginx", [
            Known("{} - - [06/Dec/2026:13:{}:{} +0000] \"{} {} HTTP/1.1\" {} {} \"-\" \"curl/7.{}.0\"", .ip, .number, .number,
                  .word(["GET", "POST", "PUT"]), .path, .number, .number, .number),
            Known("upstream timed out (110: Connection timed out) while reading response header from upstream, client: {}, server: api, request: \"GET /api/stock HTTP/1.1\", upstream: \"http://{}:{}/api/stock\"", .ip, .ip, .port),
            Known("{} could not be resolved (3: Host not found)", .word(["db.internal", "cache.internal", "auth.internal"])),
            Known("limiting requests, excess: {} by zone \"api\", client: {}", .number, .ip),
            Known("open() \"{}\" failed (2: No such file or directory)", .path),
        ]),
        ("Python", [
            Known("GET /api/orders status={} duration_ms={} trace_id={} user=u{} request handled ok", .number, .number, .hex, .number),
            Known("UpstreamTimeout: payment gateway did not answer within {}", .duration),
            Known("retrying charge {} attempt {} of 3", .uuid, .number),
            Known("cache miss for key {}", .hex),
            Known("Worker {} started with pid {}", .number, .number),
        ]),
        ("Zookeeper", [
            Known("Received connection request /{}:{}", .ip, .port),
            Known("Notification: {} (n.leader), {} (n.zxid), {} (n.round), LOOKING (n.state), {} (n.sid), {} (n.peerEPoch), LOOKING (my state)", .number, .hex, .hex, .number, .hex),
            Known("Closed socket connection for client /{}:{} which had sessionid {}", .ip, .port, .hex),
            Known("Expiring session {}, timeout of {}ms exceeded", .hex, .number),
        ]),
        ("OpenStack", [
            Known("[instance: {}] VM Started (Lifecycle Event)", .uuid),
            Known("[instance: {}] Took {} seconds to spawn the instance on the hypervisor.", .uuid, .number),
            Known("{} \"GET /v2/{}/servers/detail HTTP/1.1\" status: {} len: {} time: {}", .ip, .hex, .number, .number, .number),
            Known("[instance: {}] Terminating instance", .uuid),
        ]),
        ("Apache", [
            Known("jk2_init() Found child {} in scoreboard slot {}", .number, .number),
            Known("workerEnv.init() ok {}", .path),
            Known("mod_jk child workerEnv in error state {}", .number),
            Known("[client {}] Directory index forbidden by rule: {}", .ip, .path),
        ]),
        ("Hadoop", [
            Known("Progress of TaskAttempt attempt_{}_{}_m_{}_{} is : {}", .number, .number, .number, .number, .number),
            Known("Address change detected. Old: {}:{} New: {}:{}", .ip, .port, .ip, .port),
            Known("Retrying connect to server: {}:{}. Already tried {} time(s); maxRetries=45", .ip, .port, .number),
            Known("TaskAttempt: [attempt_{}_{}_m_{}_{}] using containerId: [container_{}_{}_01_{} on NM: [{}:{}]", .number, .number, .number, .number, .number, .number, .number, .ip, .port),
        ]),
        ("Linux-kernel", [
            Known("audit({}:{}): pid={} uid=0 auid={} ses={} msg='op=PAM:session_open acct=\"root\" exe=\"/usr/sbin/cron\" res=success'", .number, .number, .number, .number, .number),
            Known("EXT4-fs (sda{}): mounted filesystem with ordered data mode. Opts: (null)", .number),
            Known("Out of memory: Killed process {} (java) total-vm:{}kB, anon-rss:{}kB", .number, .number, .number),
            Known("usb {}-{}: new high-speed USB device number {} using xhci_hcd", .number, .number, .number),
        ]),
    ]

    /// Messages of `layout`, shuffled: 2,000 drawn evenly from its templates.
    static func corpus(_ templates: [Known], seed: UInt64) -> [(message: String, truth: Int)] {
        var rng = SplitMix(state: seed)
        return (0..<2_000).map { n in
            let truth = Int(rng.next() % UInt64(templates.count))
            _ = n
            return (templates[truth].render(&rng), truth)
        }
    }

    /// Grouping accuracy of `miner` over `corpus`.
    static func accuracy(_ corpus: [(message: String, truth: Int)], miner: TemplateMiner) -> Double {
        let assigned = corpus.map { miner.add($0.message).id }
        let mined = assigned.map { miner.resolve($0) }
        var minedGroups: [String: Set<Int>] = [:], trueGroups: [Int: Set<Int>] = [:]
        for (index, entry) in corpus.enumerated() {
            minedGroups[mined[index], default: []].insert(index)
            trueGroups[entry.truth, default: []].insert(index)
        }
        let correct = corpus.indices.filter { minedGroups[mined[$0]] == trueGroups[corpus[$0].truth] }.count
        return Double(correct) / Double(corpus.count)
    }

    @Test(arguments: layouts.map(\.name))
    func groupsNinetyPercentOfEachLayoutExactly(layout name: String) {
        let layout = Self.layouts.first { $0.name == name }!
        let corpus = Self.corpus(layout.templates, seed: UInt64(name.utf8.reduce(7) { $0 &* 31 &+ UInt64($1) }))
        let miner = TemplateMiner()
        let accuracy = Self.accuracy(corpus, miner: miner)
        print("grouping accuracy \(name): \(accuracy) (\(miner.all.count) templates for \(layout.templates.count) true)")
        #expect(accuracy >= 0.90, "\(name): \(accuracy); templates: \(miner.all.map(\.text))")
    }

    @Test func masksNumbersHexIpsUuidsPathsAndQuotedValues() {
        #expect(TemplateMiner.mask("Receiving block blk_-160899 src: /10.250.19.102:54106 dest: /10.250.19.102:50010")
                == ["Receiving", "block", "<*>", "src:", "<*>", "dest:", "<*>"])
        #expect(TemplateMiner.mask("user=\"John Smith\" took 12ms on /var/log/app.log id=7f3a9c2e-1b2c-4d5e-8f90-0123456789ab ok")
                == ["user=<*>", "took", "<*>", "on", "<*>", "id=<*>", "ok"])
        #expect(TemplateMiner.mask("state=ready mode=fast") == ["state=ready", "mode=fast"])
        #expect(TemplateMiner.mask("deadbeefcafe reached") == ["<*>", "reached"])
    }

    @Test func idsAreStableAndFollowMerges() {
        let miner = TemplateMiner()
        let first = miner.add("Connection from alice accepted")
        #expect(first.id == TemplateMiner.id(of: ["Connection", "from", "alice", "accepted"]))
        let merged = miner.add("Connection from bob accepted")
        #expect(merged.text == "Connection from <*> accepted")
        #expect(merged.id != first.id)
        #expect(miner.resolve(first.id) == merged.id, "the old id points at the merged template")
        // Another miner (another host, a restart) fed the same gives the same ids.
        let other = TemplateMiner()
        other.add("Connection from carol accepted")
        #expect(other.add("Connection from dave accepted").id == merged.id)
    }

    @Test func memoryIsBoundedByTemplatesNotMessages() {
        let miner = TemplateMiner()
        for n in 0..<50_000 { miner.add("request \(n) served in \(n % 97) ms by worker w\(n % 7)") }
        #expect(miner.all.count == 1)
        #expect(miner.all.first?.count == 50_000)
    }
}
