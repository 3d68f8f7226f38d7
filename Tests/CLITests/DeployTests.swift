import ArgumentParser
import Foundation
import LogshipCLI
import Testing
import TestSupport
import Yams

/// deploy/: the Kubernetes manifests render and validate against the API's models, the systemd
/// units pass `systemd-analyze verify`, and both give each role what its shutdown needs.
@Suite struct DeployTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Each role's graceful-shutdown deadline (README, "One lifecycle for every role").
    static let deadlines = ["agent": 15, "indexer": 30, "detector": 45, "notifier": 20, "coordinator": 10]

    static func workspace() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("deploy-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test func kubernetesManifestsRenderValidateAndFitTheRoles() throws {
        let dir = try Self.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        let rendered = try Subprocess.run("kubectl", ["kustomize", Self.root.appendingPathComponent("deploy/kubernetes").path])
        #expect(rendered.status == 0, "\(rendered.stderr)")
        let file = dir.appendingPathComponent("rendered.yaml")
        try rendered.stdout.write(to: file, atomically: true, encoding: .utf8)
        let validated = try Subprocess.run("python3", [PythonScript.path("validate_k8s.py"), file.path])
        #expect(validated.status == 0, "\(validated.stdout)\(validated.stderr)")

        let objects = try Yams.load_all(yaml: rendered.stdout).compactMap { $0 as? [String: Any] }
        func named(_ kind: String, _ name: String) -> [String: Any]? {
            objects.first { $0["kind"] as? String == kind && ($0["metadata"] as? [String: Any])?["name"] as? String == name }
        }
        let workloads: [(kind: String, role: String)] = [("DaemonSet", "agent"), ("StatefulSet", "indexer"), ("Deployment", "detector"),
                                                         ("Deployment", "notifier"), ("Deployment", "coordinator")]
        for (kind, role) in workloads {
            let object = try #require(named(kind, "logship-\(role)"), "\(kind) logship-\(role)")
            let pod = try #require((((object["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"]) as? [String: Any])
            let grace = pod["terminationGracePeriodSeconds"] as? Int ?? 30
            #expect(grace > Self.deadlines[role]!, "\(role): grace \(grace) s must exceed the deadline \(Self.deadlines[role]!) s")
            let container = try #require((pod["containers"] as? [[String: Any]])?.first)
            #expect(container["livenessProbe"] != nil && container["readinessProbe"] != nil, "\(role): probes")
            #expect(((container["livenessProbe"] as? [String: Any])?["httpGet"] as? [String: Any])?["path"] as? String == "/health")
            let resources = container["resources"] as? [String: Any]
            #expect((resources?["requests"] as? [String: Any])?["memory"] != nil && (resources?["limits"] as? [String: Any])?["memory"] != nil,
                    "\(role): memory request and limit")
            let security = container["securityContext"] as? [String: Any]
            #expect(security?["readOnlyRootFilesystem"] as? Bool == true, "\(role): read-only root")
            #expect(security?["allowPrivilegeEscalation"] as? Bool == false)
            if role != "agent" {
                #expect((pod["securityContext"] as? [String: Any])?["runAsNonRoot"] as? Bool == true, "\(role): non-root")
            }
            // The container's command line is one the CLI accepts: the agent runs its own binary.
            let args = try #require(container["args"] as? [String])
            let command = container["command"] as? [String]
            #expect(command == (role == "agent" ? ["/usr/local/bin/logship-agent"] : nil), "\(role): command \(command ?? [])")
            let root: ParsableCommand.Type = role == "agent" ? AgentBinaryCommand.self : LogshipCommand.self
            #expect(throws: Never.self, "\(role): \(args)") { _ = try root.parseAsRoot(args.map { $0 == "$(POD_NAME)" ? "logship-indexer-0" : $0 }) }
            // Every hostPath mount is read-only but the agent's registry.
            let volumes = pod["volumes"] as? [[String: Any]] ?? []
            let hostPaths = Set(volumes.filter { $0["hostPath"] != nil }.compactMap { $0["name"] as? String })
            for mount in container["volumeMounts"] as? [[String: Any]] ?? [] where hostPaths.contains(mount["name"] as? String ?? "") {
                let path = mount["mountPath"] as? String ?? ""
                #expect(mount["readOnly"] as? Bool == true || path == "/var/lib/logship/agent", "\(role): \(path) read-only")
            }
        }
        // Indexers: the pod's name is the static member id; a PodDisruptionBudget.
        let indexer = try #require(named("StatefulSet", "logship-indexer"))
        let indexerArgs = (((((indexer["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any])?["containers"]
            as? [[String: Any]])?.first?["args"] as? [String]) ?? []
        #expect(indexerArgs.contains("--instance-id") && indexerArgs.contains("$(POD_NAME)"))
        #expect(named("PodDisruptionBudget", "logship-indexer") != nil)
        // The agent: /var/log read-only, NODE_NAME from the node into host.name.
        let agent = try #require(named("DaemonSet", "logship-agent"))
        let agentText = try Yams.dump(object: agent)
        #expect(agentText.contains("spec.nodeName") && agentText.contains("path: /var/log"))

        // The ConfigMap's logship.yml passes `logship config validate` (its secrets as files here).
        let configMap = try #require(objects.first { $0["kind"] as? String == "ConfigMap" })
        var config = try #require((configMap["data"] as? [String: Any])?["logship.yml"] as? String)
        #expect(config.contains("host_name: \"${NODE_NAME}\""))
        let secrets = dir.appendingPathComponent("secrets")
        try FileManager.default.createDirectory(at: secrets, withIntermediateDirectories: true)
        for name in ["es-password", "ca.crt"] { try "x".write(to: secrets.appendingPathComponent(name), atomically: true, encoding: .utf8) }
        config = config.replacingOccurrences(of: "/etc/logship-secrets", with: secrets.path)
        let configFile = dir.appendingPathComponent("logship.yml")
        try config.write(to: configFile, atomically: true, encoding: .utf8)
        let check = try LogshipBinary.run(["config", "validate", "--config", configFile.path], environment: ["NODE_NAME": "node-a"])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
    }

    @Test func systemdUnitsVerifyAndFitTheRoles() throws {
        let dir = try Self.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        let units = Self.root.appendingPathComponent("deploy/systemd")
        let binary = try LogshipBinary.path()
        let names = try FileManager.default.contentsOfDirectory(atPath: units.path).filter { $0.hasSuffix(".service") }.sorted()
        #expect(names == ["logship-agent.service", "logship-coordinator.service", "logship-detector.service",
                          "logship-indexer@.service", "logship-notifier.service"])
        for name in names {
            let text = try String(contentsOf: units.appendingPathComponent(name), encoding: .utf8)
            let role = String(name.dropFirst("logship-".count).prefix { $0 != "." && $0 != "@" })
            func value(_ key: String) -> String? {
                text.split(separator: "\n").first { $0.hasPrefix(key + "=") }.map { String($0.dropFirst(key.count + 1)) }
            }
            #expect(value("Restart") == "on-failure", "\(name)")
            #expect(value("User") == "logship" && value("NoNewPrivileges") == "yes" && value("ProtectSystem") == "strict", "\(name)")
            let stop = Int(value("TimeoutStopSec")?.dropLast() ?? "") ?? 0
            #expect(stop > Self.deadlines[role]!, "\(name): TimeoutStopSec \(stop) s must exceed the deadline")
            // SIGHUP reloads where the role reloads; elsewhere it would end the process.
            #expect((value("ExecReload") != nil) == ["agent", "detector"].contains(role), "\(name): ExecReload")
            let start = try #require(value("ExecStart"))
            let words = start.split(separator: " ").map(String.init)
            let args = words.dropFirst().map { $0 == "%i" ? "1" : $0 }
            if role == "indexer" { #expect(args.suffix(2) == ["--instance-id", "1"]) }
            // The agent runs its own binary; every other role `logship ROLE`.
            let executable = role == "agent" ? "/usr/bin/logship-agent" : "/usr/bin/logship"
            #expect(words.first == executable, "\(name): \(start)")
            let root: ParsableCommand.Type = role == "agent" ? AgentBinaryCommand.self : LogshipCommand.self
            #expect(throws: Never.self, "\(name): \(start)") { _ = try root.parseAsRoot(args) }
            // systemd's own check, with ExecStart pointing at the built binary (the package puts it
            // at /usr/bin/logship, or /usr/bin/logship-agent).
            let copy = dir.appendingPathComponent(name == "logship-indexer@.service" ? "logship-indexer@1.service" : name)
            let built = role == "agent" ? try LogshipBinary.agentPath() : binary
            try text.replacingOccurrences(of: executable + " ", with: built + " ").write(to: copy, atomically: true, encoding: .utf8)
            let verify = try Subprocess.run("systemd-analyze", ["verify", copy.path])
            #expect(verify.status == 0 && verify.stdout.isEmpty && verify.stderr.isEmpty, "\(name): \(verify.stdout)\(verify.stderr)")
        }
    }
}
