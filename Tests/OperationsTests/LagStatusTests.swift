import Operations
import Testing

@Suite struct LagStatusTests {
    typealias S = LagStatus.Sample
    func w(_ points: [(Int64?, Int64)], owned: Bool = true) -> [S] {
        points.enumerated().map { index, p in
            S(atMs: Int64(index) * 1000, committed: p.0, logEnd: p.1, lag: p.1 - (p.0 ?? 0), owned: owned)
        }
    }

    @Test func caughtUpAtAnyPointIsOK() {
        #expect(LagStatus.partition(w([(10, 10), (10, 20), (12, 30)])) == .ok)
    }

    @Test func movingAndShrinkingIsOK() {
        #expect(LagStatus.partition(w([(10, 50), (30, 60), (55, 70)])) == .ok)
    }

    @Test func movingButGrowingEveryIntervalIsWarn() {
        #expect(LagStatus.partition(w([(10, 50), (20, 70), (30, 95)])) == .warn)
        #expect(LagStatus.group([.ok, .warn, .ok]) == .warn)
    }

    @Test func notMovingWithLagIsStallWhenOwnedAndStopWhenNot() {
        #expect(LagStatus.partition(w([(10, 50), (10, 50), (10, 60)])) == .stall)
        #expect(LagStatus.partition(w([(10, 50), (10, 50), (10, 60)], owned: false)) == .stop)
        #expect(LagStatus.group([.ok, .stall]) == .err)
        #expect(LagStatus.group([.stop]) == .err)
    }

    @Test func goingBackwardsIsRewind() {
        #expect(LagStatus.partition(w([(40, 50), (5, 50), (20, 50)])) == .rewind)
        #expect(LagStatus.group([.rewind, .warn]) == .err)
    }

    @Test func oneSampleIsOKUnlessNobodyOwnsTheLag() {
        #expect(LagStatus.partition(w([(10, 50)])) == .ok)
        #expect(LagStatus.partition(w([(10, 50)], owned: false)) == .stop)
        #expect(LagStatus.partition([]) == .ok)
    }

    @Test func windowKeepsTheLastSamplesAndGivesATrend() {
        var window = SampleWindow<String>(capacity: 3)
        for (index, lag) in [100, 200, 300, 400].enumerated() {
            window.add(S(atMs: Int64(index) * 30_000, committed: 0, logEnd: Int64(lag), lag: Int64(lag), owned: true), for: "p0")
        }
        #expect(window.samples["p0"]?.map(\.lag) == [200, 300, 400])
        #expect(window.trendPerMinute(["p0"]) == 200)
        #expect(window.status(of: "p0") == .stall)
    }
}
