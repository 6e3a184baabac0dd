import GatewayPolicy
import Testing

@testable import GatewayAdmission

/// The per-loop buckets: counted per key, bounded in memory, and honest about a full table.
@Suite("Local rate limiter")
struct LocalRateLimiterTests {
    static let second: Int64 = 1_000_000_000
    static let rule = RateLimitRule(name: "r", key: .sub, requests: 2, periodSeconds: 1, burst: 2, store: .local)

    @Test("keys do not bleed into each other; a refused request leaves its bucket as it was")
    func perKey() throws {
        var limiter = LocalRateLimiter(capacity: 100)
        let now = 10 * Self.second
        for _ in 0..<2 { #expect(limiter.check(Self.rule, bucket: "alice", now: now)?.allowed == true) }
        #expect(limiter.check(Self.rule, bucket: "alice", now: now)?.allowed == false)
        #expect(limiter.check(Self.rule, bucket: "bob", now: now)?.allowed == true)
        let other = Self.rule.named("other")
        #expect(limiter.check(other, bucket: "alice", now: now)?.allowed == true, "another rule's bucket was shared")
        #expect(limiter.check(Self.rule, bucket: "alice", now: now + Self.second / 2)?.allowed == true)
    }

    @Test("a full table sweeps full buckets; a new key that still finds no room is not counted (nil)")
    func bounded() {
        var limiter = LocalRateLimiter(capacity: 3)
        let now = 10 * Self.second
        for key in ["a", "b", "c"] { #expect(limiter.check(Self.rule, bucket: key, now: now)?.allowed == true) }
        #expect(limiter.check(Self.rule, bucket: "d", now: now) == nil)
        #expect(limiter.check(Self.rule, bucket: "a", now: now)?.allowed == true, "a known key is still counted")
        #expect(limiter.count == 3)
        // One second later every bucket is full again: the sweep frees the table.
        #expect(limiter.check(Self.rule, bucket: "d", now: now + 2 * Self.second)?.allowed == true)
        #expect(limiter.count == 1)
    }

    @Test("the RateLimit fields of an allowed and a refused request; Retry-After at least 1")
    func fields() {
        let allowed = RateLimitGCRA.Result(allowed: true, tat: 0, remaining: 4, retryAfter: 0, reset: 2_500_000_000)
        #expect(RateLimitAnswer.fields(allowed, rule: Self.rule).map { "\($0.0): \($0.1)" } == [
            #"ratelimit-policy: "r";q=2;w=1"#, #"ratelimit: "r";r=4;t=3"#,
        ])
        let refused = RateLimitGCRA.Result(allowed: false, tat: 0, remaining: 0, retryAfter: 1_000, reset: 900_000_000)
        let response = RateLimitAnswer.refusal(refused, rule: Self.rule)
        #expect(response.status == .tooManyRequests && response.code == .rateLimited)
        #expect(response.extraHeaders.map { "\($0.0): \($0.1)" } == [
            #"ratelimit-policy: "r";q=2;w=1"#, #"ratelimit: "r";r=0;t=1"#, "retry-after: 1",
        ])
    }
}
