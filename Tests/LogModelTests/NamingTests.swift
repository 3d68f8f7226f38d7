import LogModel
import Testing

@Suite struct NamingTests {
    @Test func topicsAreLowerCasedAndSanitised() {
        #expect(Naming.topic(forService: "Payment") == "logs.payment")
        #expect(Naming.topic(forService: "order service/v2") == "logs.order_service_v2")
        #expect(Naming.topic(forService: "a.b-c_d9") == "logs.a.b-c_d9")
    }

    @Test func serviceOfTopicIgnoresTheDeadLetterTopicAndOthers() {
        #expect(Naming.service(ofTopic: "logs.payment") == "payment")
        #expect(Naming.service(ofTopic: "logs.dlq") == nil)
        #expect(Naming.service(ofTopic: "logship.alerts") == nil)
        #expect(Naming.service(ofTopic: "logs.") == nil)
    }

    @Test func dailyIndexAndAlias() {
        #expect(Naming.index(service: "payment", year: 2026, month: 1, day: 5) == "logs-payment-2026.01.05")
        #expect(Naming.index(service: "payment", year: 2026, month: 11, day: 25, suffix: "v2") == "logs-payment-2026.11.25-v2")
        #expect(Naming.alias(service: "Payment") == "logs-payment")
    }

    @Test func jsonValueFollowsDottedPaths() throws {
        let value: JSONValue = ["version": ["number": "8.15.3"], "count": 3]
        #expect(value[path: "version.number"]?.string == "8.15.3")
        #expect(value["count"]?.int == 3)
        #expect(value[path: "version.missing"] == nil)
    }
}
