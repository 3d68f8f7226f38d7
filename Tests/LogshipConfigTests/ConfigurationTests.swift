import LogshipConfig
import Testing

@Suite struct ConfigurationTests {
    let sample = """
    kafka:
      brokers: ["127.0.0.1:9092", "127.0.0.1:9093"]
      partitions: 12
      properties: {security.protocol: SASL_SSL, sasl.mechanism: PLAIN}
    elasticsearch:
      url: "http://127.0.0.1:9200"
      username: elastic
    agent:
      data_dir: /tmp/agent
      inputs:
        - service: payment
          paths: ["/var/log/payment/*.log"]
          format: python
          multiline: python
          fields: {env: prod}
        - service: orders
          paths: /var/log/orders.log
          multiline: {pattern: '^\\d{4}-', negate: true, match: after}
    indexer:
      group: logship-indexer
      flush_interval: 500ms
      batch_wait: 20ms
    detector:
      notify:
        - {type: webhook, url: "http://127.0.0.1:8080/hook"}
    coordinator:
      listen: "127.0.0.1:9700"
      heartbeat_interval: 5s
    services:
      payment: {owner: "@pay-oncall", debug: true}
    """

    @Test func readsEverySectionOfTheDesignSketch() throws {
        let config = try ConfigurationLoader.parse(sample)
        #expect(config.kafka.brokers == ["127.0.0.1:9092", "127.0.0.1:9093"])
        #expect(config.kafka.partitions == 12)
        #expect(config.kafka.properties["sasl.mechanism"] == "PLAIN")
        #expect(config.elasticsearch.username == "elastic")
        #expect(config.agent.inputs.count == 2)
        #expect(config.agent.inputs[0].format == .python)
        #expect(config.agent.inputs[0].fields == ["env": "prod"])
        #expect(config.agent.inputs[1].paths == ["/var/log/orders.log"])
        #expect(config.agent.inputs[1].multiline == .custom(pattern: "^\\d{4}-", negate: true, match: .after))
        #expect(config.indexer.flushIntervalMs == 500)
        #expect(config.indexer.batchWaitMs == 20)
        #expect(config.coordinator.heartbeatIntervalMs == 5_000)
        #expect(config.detector.notify.first?.url == "http://127.0.0.1:8080/hook")
        #expect(config.services["payment"] == .init(owner: "@pay-oncall", debug: true))
    }

    @Test func emptyFileGivesDefaults() throws {
        let config = try ConfigurationLoader.parse("")
        #expect(config == LogshipConfiguration())
        #expect(config.indexer.group == "logship-indexer")
    }

    @Test func compressionCodecAndLevelAreReadAndChecked() throws {
        #expect(try ConfigurationLoader.parse("").kafka.compression == "zstd")
        let lz4 = try ConfigurationLoader.parse("kafka: {compression: lz4, compression_level: 5}").kafka
        #expect(lz4.compression == "lz4" && lz4.compressionLevel == 5)
        let error = try #require(throws: ConfigurationError.self) {
            try ConfigurationLoader.parse("kafka: {compression: brotli, compression_level: 30}")
        }
        #expect(error.problems.map(\.path) == ["kafka.compression", "kafka.compression_level"])
        #expect(error.problems.first?.message == "is \"brotli\"; one of zstd, lz4, snappy, gzip, none")
        #expect(error.problems.last?.message == "is 30; zstd takes 1–22")
        let none = try #require(throws: ConfigurationError.self) { try ConfigurationLoader.parse("kafka: {compression: none, compression_level: 3}") }
        #expect(none.problems.map(\.message) == ["none has no levels"])
    }

    @Test func environmentOverridesTheFile() throws {
        let config = try ConfigurationLoader.parse(sample, environment: [
            "LOGSHIP_KAFKA_BROKERS": "127.0.0.1:19092, 127.0.0.1:19093",
            "LOGSHIP_ES_URL": "http://127.0.0.1:19200",
            "LOGSHIP_ES_PASSWORD": "from-env",
        ])
        #expect(config.kafka.brokers == ["127.0.0.1:19092", "127.0.0.1:19093"])
        #expect(config.elasticsearch.url == "http://127.0.0.1:19200")
        #expect(config.elasticsearch.password == "from-env")
    }

    @Test func inputTimeZoneFormatsMaskRulesAndFileSelection() throws {
        let config = try ConfigurationLoader.parse("""
        agent:
          inputs:
            - service: edge
              paths: ["/var/log/nginx/**/*.log"]
              format: nginx
              timezone: Asia/Shanghai
              future_limit: 10m
              multiline_timeout: 500ms
              exclude: ["*.1", "/var/log/nginx/old/*"]
              ignore_older: 24h
              mask_rules:
                disable: [card_number]
                enable: [email, cn_resident_id]
                add: ["TICKET-[0-9]+", {name: employee, pattern: "EMP[0-9]{6}"}]
            - {service: k8s, paths: ["/var/log/containers/*.log"], format: cri}
        """)
        let edge = config.agent.inputs[0]
        #expect(edge.format == .nginx && edge.timezone == "Asia/Shanghai" && edge.futureLimitMs == 600_000)
        #expect(edge.multilineTimeoutMs == 500)
        #expect(edge.exclude == ["*.1", "/var/log/nginx/old/*"] && edge.ignoreOlderMs == 86_400_000)
        #expect(edge.maskRules.disable == ["card_number"] && edge.maskRules.enable == ["email", "cn_resident_id"])
        #expect(edge.maskRules.add.map(\.name) == ["agent.inputs[0].mask_rules.add[0]", "employee"])
        let k8s = config.agent.inputs[1]
        #expect(k8s.format == .cri && k8s.timezone == "local" && k8s.futureLimitMs == 3_600_000 && k8s.multiline == .preset(.auto))
        #expect(k8s.multilineTimeoutMs == 200)

        let broken = """
        agent:
          inputs:
            - service: edge
              paths: ["/x.log"]
              timezone: Mars/Olympus
              future_limit: 10ms
              mask_rules: {disable: [cards], enable: [email], add: ["(unclosed"]}
              multiline: sometimes
              multiline_timeout: 1ms
        """
        let error = try #require(throws: ConfigurationError.self) { try ConfigurationLoader.parse(broken) }
        #expect(error.problems.map(\.path) == [
            "agent.inputs[0].future_limit", "agent.inputs[0].mask_rules.add[0]", "agent.inputs[0].mask_rules.disable[0]",
            "agent.inputs[0].multiline", "agent.inputs[0].multiline_timeout", "agent.inputs[0].timezone",
        ])
        #expect(error.problems.first { $0.path.hasSuffix("timezone") }?.message.contains("unknown time zone \"Mars/Olympus\"") == true)
        #expect(error.problems.first { $0.path.hasSuffix("disable[0]") }?.message.contains("card_number") == true)
    }

    @Test func listsEveryProblemWithItsKeyPath() throws {
        let broken = """
        kafka:
          brokers: ["localhost"]
          partitons: 3
        agent:
          inputs:
            - service: payment
              paths: ["/var/log/p.log"]
              format: xml
        coordinator:
          heartbeat_interval: soon
        indexer:
          stall_timeout: 10ms
        """
        let error = try #require(throws: ConfigurationError.self) { try ConfigurationLoader.parse(broken) }
        #expect(error.problems.map(\.path) == [
            "agent.inputs[0].format", "coordinator.heartbeat_interval", "indexer.stall_timeout", "kafka.brokers[0]", "kafka.partitons",
        ])
        #expect(error.problems.first { $0.path == "kafka.partitons" }?.message == "unknown key (did you mean partitions?)")
        #expect(error.problems.first { $0.path == "indexer.stall_timeout" }?.message == "expected a duration of at least 1000 ms, found 10 ms")
        #expect(error.description.contains("5 problems"))
        #expect(try ConfigurationLoader.parse("indexer: {stall_timeout: 2m}").indexer.stallTimeoutMs == 120_000)
        #expect(try ConfigurationLoader.parse("").indexer.stallTimeoutMs == 60_000)
    }

    @Test func detectorSettingsAreReadAndChecked() throws {
        let config = try ConfigurationLoader.parse("""
        detector:
          window: 30s
          allowed_lateness: 10s
          suppress: 2h
          slow_threshold: 750ms
          trace_url: "http://kibana:5601/app/discover#/?_a=(query:(query:'trace.id:{trace_id}'))"
          score_threshold: 0.7
          critical_score: 0.9
          group_wait: 2m
        """)
        #expect(config.detector.windowMs == 30_000 && config.detector.allowedLatenessMs == 10_000)
        #expect(config.detector.scoreThreshold == 0.7 && config.detector.criticalScore == 0.9 && config.detector.groupWaitMs == 120_000)
        #expect(config.detector.suppressMs == 7_200_000 && config.detector.slowThresholdMs == 750)
        #expect(config.detector.traceURL?.contains("{trace_id}") == true)
        let error = try #require(throws: ConfigurationError.self) {
            try ConfigurationLoader.parse("detector: {window: 10ms, trace_url: \"http://x/no-placeholder\", suppres: 1h, score_threshold: 1.5}")
        }
        #expect(error.problems.map(\.path).sorted() == ["detector.score_threshold", "detector.suppres", "detector.trace_url", "detector.window"])
        let inverted = try #require(throws: ConfigurationError.self) {
            try ConfigurationLoader.parse("detector: {score_threshold: 0.9, critical_score: 0.85}")
        }
        #expect(inverted.problems.map(\.path) == ["detector.critical_score"])
    }

    @Test func ruleParametersAndDestinationsAreReadAndChecked() throws {
        let config = try ConfigurationLoader.parse("""
        detector:
          rules:
            error_surge: {increase: 2.5, min_count: 20, model: preset}
            silence: {enabled: false}
            volume_surge: {score: 0.9}
            new_pattern: {min_count: 5, look_back: 3d, span: 2}
          notify:
            - {type: dingtalk, url: "https://oapi.dingtalk.com/robot/send?access_token=t", secret: "SECx"}
            - {type: slack, url: "https://hooks.slack.com/services/x", rate_limit: 1/s, name: ops}
        services:
          payment: {owner: "@pay", rules: {error_rate: {threshold: 0.05}}}
        """)
        #expect(config.detector.rules == ["error_surge": ["increase": 2.5, "min_count": 20, "model": 1], "silence": ["enabled": 0],
                                          "volume_surge": ["score": 0.9], "new_pattern": ["min_count": 5, "look_back": 3 * 86_400_000, "span": 2]])
        #expect(config.services["payment"]?.rules == ["error_rate": ["threshold": 0.05]])
        #expect(config.detector.notify.map(\.name) == ["dingtalk-0", "ops"])
        #expect(config.detector.notify[0].rateLimit == .init(count: 20, perMs: 60_000), "DingTalk's 20/min by default")
        #expect(config.detector.notify[1].rateLimit == .init(count: 1, perMs: 1_000))
        let error = try #require(throws: ConfigurationError.self) {
            try ConfigurationLoader.parse("""
            detector:
              rules: {error_surge: {increse: 2}, spike: {}, error_rate: {threshold: high}, silence: {quiet_windows: 0},
                      slow_requests: {model: neural}, volume_surge: {score: 1},
                      new_pattern: {look_back: soon, min_count: 0, max_templates: 0, model: preset}}
              notify: [{type: dingtalk, url: "https://x.example/robot"}, {type: wecom, url: "https://y.example", rate_limit: lots}]
            services: {pay: {rules: {http_5xx_ratio: {factor: -1}}}}
            """)
        }
        #expect(error.problems.map(\.path).sorted() == [
            "detector.notify[0].secret", "detector.notify[1].rate_limit", "detector.rules.error_rate.threshold",
            "detector.rules.error_surge.increse", "detector.rules.new_pattern.look_back", "detector.rules.new_pattern.max_templates",
            "detector.rules.new_pattern.min_count", "detector.rules.new_pattern.model",
            "detector.rules.silence.quiet_windows", "detector.rules.slow_requests.model",
            "detector.rules.spike", "detector.rules.volume_surge.score", "services.pay.rules.http_5xx_ratio.factor",
        ])
    }

    @Test func badYamlIsOneProblemNotACrash() {
        #expect(throws: ConfigurationError.self) { try ConfigurationLoader.parse("kafka: [unclosed") }
    }
}
