import Testing

@testable import GatewayAuth

@Suite("Retry backoff")
struct RetryBackoffTests {
    @Test func doublesUpToTheCapWithJitterAndStartsOverAfterASuccess() {
        var backoff = RetryBackoff(base: .seconds(2), cap: .seconds(30))
        #expect(backoff.failed(random: 0.999_999) < .seconds(2.000_001))
        #expect(backoff.failed(random: 0) == .seconds(2), "second failure: 4 s, jittered down to half")
        #expect(backoff.failed(random: 1) == .seconds(8))
        #expect(backoff.failed(random: 1) == .seconds(16))
        #expect(backoff.failed(random: 1) == .seconds(30), "capped")
        for _ in 0..<100 { _ = backoff.failed(random: 1) }
        #expect(backoff.failed(random: 0.5) == .seconds(22.5), "still capped, no overflow after many failures")
        backoff.succeeded()
        #expect(backoff.failed(random: 0) == .seconds(1))
    }

    @Test func theCapIsNeverBelowTheBase() {
        var backoff = RetryBackoff(base: .seconds(10), cap: .seconds(1))
        #expect(backoff.failed(random: 1) == .seconds(10))
    }
}
