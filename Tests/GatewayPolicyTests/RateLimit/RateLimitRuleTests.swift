import JOSE
import Testing
import TestSupport
@testable import GatewayPolicy

/// `rate_limit:` as the policy reads it, the buckets it keys on, and the GCRA that counts.
@Suite("Rate limit rule")
struct RateLimitRuleTests {
    static let second: Int64 = 1_000_000_000

    @Test("a burst passes at once, the next request waits exactly one interval, and the rate refills it")
    func gcraBurstAndRefill() {
        let interval = Self.second / 10  // 10/second
        let tolerance = interval * 3  // burst 3
        var tat: Int64?
        var now: Int64 = 1_000 * Self.second
        for remaining in [2, 1, 0] {
            let result = RateLimitGCRA.check(tat: tat, now: now, interval: interval, tolerance: tolerance)
            #expect(result.allowed && result.remaining == remaining, "\(result)")
            tat = result.tat
        }
        let refused = RateLimitGCRA.check(tat: tat, now: now, interval: interval, tolerance: tolerance)
        #expect(!refused.allowed && refused.retryAfter == interval && refused.tat == tat, "\(refused)")
        #expect(refused.reset == 3 * interval)
        now += interval - 1
        #expect(!RateLimitGCRA.check(tat: tat, now: now, interval: interval, tolerance: tolerance).allowed)
        now += 1
        let after = RateLimitGCRA.check(tat: tat, now: now, interval: interval, tolerance: tolerance)
        #expect(after.allowed && after.remaining == 0)
        // A long pause: the bucket is full again, never fuller.
        let rested = RateLimitGCRA.check(tat: after.tat, now: now + 100 * Self.second, interval: interval, tolerance: tolerance)
        #expect(rested.allowed && rested.remaining == 2)
    }

    @Test("over any random arrival pattern, no window lets more than burst + window/interval requests through")
    func gcraNeverExceedsTheRate() {
        var random = SplitMix64(seed: 42)
        for _ in 0..<50 {
            let interval = Int64(random.next() % 1_000 + 1) * 1_000_000
            let burst = Int64(random.next() % 8 + 1)
            var tat: Int64?
            var now: Int64 = 0
            var allowedAt: [Int64] = []
            for _ in 0..<400 {
                now += Int64(random.next() % UInt64(interval * 2))
                let result = RateLimitGCRA.check(tat: tat, now: now, interval: interval, tolerance: interval * burst)
                if result.allowed {
                    allowedAt.append(now)
                    tat = result.tat
                } else {
                    #expect(result.retryAfter > 0 && result.retryAfter <= interval)
                }
            }
            for (index, start) in allowedAt.enumerated() {
                let window = Int64(random.next() % 20 + 1) * interval
                let inWindow = allowedAt[index...].prefix { $0 < start + window }.count
                #expect(Int64(inWindow) <= burst + window / interval, "interval \(interval) burst \(burst) window \(window)")
            }
        }
    }

    @Test("buckets: the verified claims, client_id before azp, the client address, or one for the route")
    func buckets() {
        let claims: [String: JSONValue] = ["sub": "alice", "iss": "https://idp", "azp": "web", "client_id": "cli"]
        func rule(_ key: RateLimitRule.Key) -> RateLimitRule {
            RateLimitRule(name: "r", key: key, requests: 1, periodSeconds: 1, burst: 1, store: .local)
        }
        #expect(rule(.sub).bucket(claims: claims, clientAddress: "10.0.0.1") == "alice")
        #expect(rule(.clientID).bucket(claims: claims, clientAddress: "10.0.0.1") == "cli")
        #expect(rule(.clientID).bucket(claims: ["azp": "web"], clientAddress: "10.0.0.1") == "web")
        #expect(rule(.clientID).bucket(claims: ["sub": "x"], clientAddress: "10.0.0.1") == "-")
        #expect(rule(.iss).bucket(claims: claims, clientAddress: "10.0.0.1") == "https://idp")
        #expect(rule(.clientAddress).bucket(claims: claims, clientAddress: "10.0.0.1") == "10.0.0.1")
        #expect(rule(.route).bucket(claims: claims, clientAddress: "10.0.0.1") == "")
        #expect(rule(.sub).family != rule(.iss).family)
    }

    @Test("RateLimit-Policy: the burst per the seconds it takes to earn back; the name a structured string")
    func policyField() {
        let rule = RateLimitRule(name: #"orders "eu"\x"#, key: .sub, requests: 100, periodSeconds: 60, burst: 20, store: .local)
        #expect(rule.policyFieldValue == #""orders \"eu\"\\x";q=20;w=12"#)
        #expect(rule.intervalNanoseconds == 600_000_000)
    }

    static let routes = """
        routes:
          - name: orders
            match: { methods: [GET], path: /orders }
            upstream: a
            rate_limit: { key: sub, rate: 100/minute, burst: 20, store: redis }
          - name: open
            match: { methods: [GET], path: /open }
            upstream: a
            auth: public
            rate_limit: { key: client_address, rate: 5/s }
          - name: shared
            match: { methods: [GET], path: /shared }
            upstream: a
            rate_limit: { key: route, rate: 1000/h, name: pool }
        """

    @Test("a policy's rate_limit rules load with their route's name, or their own")
    func loads() throws {
        let policy = try PolicyFixtures.policy(Self.routes)
        let orders = try #require(policy.routes.first { $0.name == "orders" }?.rateLimit)
        #expect(orders == RateLimitRule(name: "orders", key: .sub, requests: 100, periodSeconds: 60, burst: 20, store: .redis))
        let open = try #require(policy.routes.first { $0.name == "open" }?.rateLimit)
        #expect(open.burst == 5 && open.periodSeconds == 1 && open.key == .clientAddress && open.store == .local)
        #expect(policy.routes.first { $0.name == "shared" }?.rateLimit?.name == "pool")
    }

    @Test("defaults.rate_limit gives each route its own buckets, under its own name")
    func defaultsApply() throws {
        let policy = try PolicyFixtures.policy("""
            defaults:
              rate_limit: { key: sub, rate: 10/s }
            routes:
              - { name: a, match: { methods: [GET], path: /a }, upstream: u }
              - { name: b, match: { methods: [GET], path: /b }, upstream: u, rate_limit: { key: iss, rate: 1/s } }
            """)
        #expect(policy.routes.first { $0.name == "a" }?.rateLimit?.name == "a")
        #expect(policy.routes.first { $0.name == "b" }?.rateLimit?.key == .iss)
    }

    @Test("mistakes are errors at their lines, with a hint", arguments: [
        ("{ key: sub, rate: 100 }", "is not a rate"),
        ("{ key: sub, rate: 100/fortnight }", "is not a rate"),
        ("{ key: sub, rate: 0/s }", "is not a rate"),
        ("{ key: sub, rate: 2000000/s }", "faster than 1000000"),
        ("{ key: subject, rate: 1/s }", "unknown `key` value `subject`"),
        ("{ key: sub, rate: 1/s, burst: 0 }", "between 1 and 1000000"),
        ("{ key: sub, rate: 1/s, store: memcached }", "unknown `store` value"),
        ("{ key: x-user-id, rate: 1/s }", "unknown `key` value"),
        ("{ rate: 1/s }", "key"),
        ("{ key: sub, rate: 1/s, per: minute }", "per"),
    ])
    func mistakes(_ rule: String, _ expected: String) {
        let errors = PolicyFixtures.errors("""
            routes:
              - name: data
                match: { methods: [GET], path: /data }
                upstream: a
                rate_limit: \(rule)
            """).map(\.description)
        #expect(errors.count == 1 && errors[0].contains(expected), "\(rule): \(errors)")
        #expect(errors.first?.contains("bad.yaml:5:") == true, "\(errors)")
    }

    @Test("a public route cannot count a claim (it has no verified token), from its own rule or the defaults")
    func publicRouteClaimKey() {
        for (defaults, own) in [("", "rate_limit: { key: sub, rate: 1/s }"), ("defaults: { rate_limit: { key: client_id, rate: 1/s } }", "")] {
            let errors = PolicyFixtures.errors("""
                \(defaults)
                routes:
                  - name: open
                    match: { methods: [GET], path: /open }
                    upstream: a
                    auth: public
                    \(own)
                """).map(\.description)
            #expect(errors.count == 1 && errors[0].contains("a public route has no verified token"), "\(errors)")
        }
    }

    @Test("store: redis without Redis in the gateway configuration is an error")
    func redisNeedsConfiguration() {
        let errors = PolicyFixtures.errors(
            Self.routes, environment: PolicyEnvironment(redisRateLimits: false)
        ).map(\.description)
        #expect(errors.count == 1 && errors[0].contains("`store: redis` needs Redis"), "\(errors)")
    }
}
