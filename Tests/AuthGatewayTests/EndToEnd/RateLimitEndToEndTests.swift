import Foundation
import GatewayConfig
import GatewayObservability
import Testing
import TestSupport

/// `rate_limit` through the real gateway: local buckets per subject and per client address, Redis buckets
/// shared by two gateway processes, and Redis going away under both failure modes. Every refusal is checked
/// at the client (429, `Retry-After`, the `RateLimit` fields, the problem code) and at the upstream, which
/// receives exactly the requests that were let through.
@Suite("End to end: rate limits", .serialized)
struct RateLimitEndToEndTests {
    static func policy(store: String, burst: Int = 3) -> String {
        """
        version: 1
        routes:
          - name: data
            match: { methods: [GET], path: /api/data/** }
            upstream: svc
            require:
              scopes: { all: ["read:data"] }
            rate_limit: { key: sub, rate: \(burst)/hour, burst: \(burst), store: \(store) }
          - name: public
            match: { methods: [GET], path: /public/** }
            upstream: svc
            auth: public
            rate_limit: { key: client_address, rate: 2/hour }
        """
    }

    static func options(
        store: String = "local", redisPort: Int? = nil, failureMode: GatewayConfiguration.FailureMode = .failOpen,
        metrics: GatewayMetrics = GatewayMetrics()
    ) -> GatewayHarness.Options {
        var options = GatewayHarness.Options()
        options.policy = policy(store: store)
        options.metrics = metrics
        options.configure = { configuration in
            configuration.rateLimits.failureMode = failureMode
            if let redisPort {
                var redis = GatewayConfiguration.Redis(host: "127.0.0.1", port: redisPort)
                redis.timeout = .milliseconds(300)
                configuration.rateLimits.redis = redis
            }
        }
        return options
    }

    /// `count` requests for `sub` on `/api/data/n`; their statuses.
    static func requests(_ gateway: GatewayHarness, sub: String, count: Int, http2: Bool = false) async throws -> [ClientResponse] {
        let token = try gateway.token(sub: sub)
        var responses: [ClientResponse] = []
        for index in 0..<count {
            responses.append(try await Curl.request(gateway, "/api/data/\(sub)-\(index)", headers: [gateway.bearer(token)], http2: http2))
        }
        return responses
    }

    /// Runs `body` with a fresh redis-server, stopped whatever happens.
    static func withRedis(_ body: (RedisServer) async throws -> Void) async throws {
        let directory = try TestTools.temporaryDirectory(prefix: "rl-redis")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let redis = try await RedisServer.start(in: directory)
        do {
            try await body(redis)
        }
    }

    @Test("local, per subject: the burst passes with RateLimit fields, then 429 with Retry-After; nothing more upstream; another subject is untouched",
          arguments: [false, true])
    func localPerSubject(http2: Bool) async throws {
        let metrics = GatewayMetrics()
        try await GatewayHarness.with(Self.options(metrics: metrics)) { gateway in
            let alice = try await Self.requests(gateway, sub: "alice", count: 5, http2: http2)
            #expect(alice.map(\.status) == [200, 200, 200, 429, 429])
            #expect(alice.prefix(3).map { $0.header("RateLimit")?.split(separator: ";")[1] } == ["r=2", "r=1", "r=0"])
            #expect(alice[0].header("RateLimit-Policy") == #""data";q=3;w=3600"#)
            let refused = alice[3]
            #expect(refused.header("Retry-After").flatMap(Int.init).map { (1...1200).contains($0) } == true, "\(refused.headers)")
            #expect(refused.header("RateLimit")?.contains("r=0") == true)
            #expect(refused.header("WWW-Authenticate") == nil)
            #expect(refused.json?["code"] as? String == "rate_limited")
            let bob = try await Self.requests(gateway, sub: "bob", count: 1, http2: http2)
            #expect(bob.map(\.status) == [200], "alice's limit bled into bob's")
            let targets = await gateway.upstream.waitForRequests(4).map(\.target)
            #expect(targets.sorted() == ["/api/data/alice-0", "/api/data/alice-1", "/api/data/alice-2", "/api/data/bob-0"])
            #expect(await gateway.upstream.settledEvents(since: 0).filter(\.isRequest).count == 4)
            let records = await gateway.observer.waitForRecords(6)
            let limited = records.filter { $0.reason?.code == "rate_limited" }
            #expect(limited.count == 2 && limited.allSatisfy { $0.subject == "alice" && $0.status == 429 && $0.verdict == .reject })
            let exposition = String(decoding: metrics.exposition(), as: UTF8.self)
            #expect(exposition.contains(#"gateway_rate_limit_checks_total{route="data",store="local",result="limited"} 2"#), "\(exposition)")
        }
    }

    @Test("a request the policy denies is not counted: 401s do not spend the subject's burst")
    func deniedNotCounted() async throws {
        try await GatewayHarness.with(Self.options()) { gateway in
            for _ in 0..<5 { #expect(try await Curl.request(gateway, "/api/data/x").status == 401) }
            let alice = try await Self.requests(gateway, sub: "alice", count: 3)
            #expect(alice.map(\.status) == [200, 200, 200])
        }
    }

    @Test("a public route counts by client address")
    func publicByAddress() async throws {
        try await GatewayHarness.with(Self.options()) { gateway in
            var statuses: [Int] = []
            for index in 0..<3 { statuses.append(try await Curl.request(gateway, "/public/\(index)").status) }
            #expect(statuses == [200, 200, 429])
            #expect(await gateway.upstream.settledEvents(since: 0).filter(\.isRequest).count == 2)
        }
    }

    @Test("Redis, fail_open: counted in Redis; Redis killed lets requests through (counted as errors); Redis back, limits again")
    func redisFailOpen() async throws {
        try await Self.withRedis { redis in
            let metrics = GatewayMetrics()
            try await GatewayHarness.with(Self.options(store: "redis", redisPort: redis.port, metrics: metrics)) { gateway in
                let first = try await Self.requests(gateway, sub: "alice", count: 4)
                #expect(first.map(\.status) == [200, 200, 200, 429])
                #expect(first[3].header("Retry-After") != nil)
                #expect(try redis.cli(["--scan", "--pattern", "auth-gateway:rl:*"]).contains("auth-gateway:rl:data/sub:alice"))
                await redis.kill()
                let during = try await Self.requests(gateway, sub: "alice", count: 3)
                #expect(during.map(\.status) == [200, 200, 200], "fail_open")
                #expect(during.allSatisfy { $0.header("RateLimit") == nil })
                try await redis.restart()
                // The client retries after its back-off; until then requests pass (fail_open). Each round uses
                // a fresh subject, so a round that found Redis back shows the whole burst and the refusal.
                var statuses: [Int] = []
                let deadline = Date().addingTimeInterval(15)
                var round = 0
                while statuses != [200, 200, 200, 429], Date() < deadline {
                    round += 1
                    statuses = try await Self.requests(gateway, sub: "after-\(round)", count: 4).map(\.status)
                }
                #expect(statuses == [200, 200, 200, 429], "limits did not come back with Redis: \(statuses)")
                let exposition = String(decoding: metrics.exposition(), as: UTF8.self)
                #expect(exposition.contains(#"result="failed_open""#), "\(exposition)")
                #expect(exposition.contains("gateway_rate_limit_store_errors_total{store=\"redis\""), "\(exposition)")
            }
        }
    }

    @Test("Redis, fail_closed: Redis killed is 503 rate_limit_unavailable and nothing reaches the upstream")
    func redisFailClosed() async throws {
        try await Self.withRedis { redis in
            try await GatewayHarness.with(Self.options(store: "redis", redisPort: redis.port, failureMode: .failClosed)) { gateway in
                #expect(try await Self.requests(gateway, sub: "alice", count: 1).map(\.status) == [200])
                await redis.kill()
                let mark = gateway.upstream.events().count
                let during = try await Self.requests(gateway, sub: "alice", count: 3)
                #expect(during.map(\.status) == [503, 503, 503])
                #expect(during.allSatisfy { $0.json?["code"] as? String == "rate_limit_unavailable" })
                #expect(await gateway.upstream.settledEvents(since: mark).filter(\.isRequest).isEmpty)
            }
        }
    }

    @Test("a client that leaves while its request waits on a frozen Redis reaches nothing and leaves nothing behind")
    func leaveWhileWaiting() async throws {
        try await Self.withRedis { redis in
            var options = Self.options(store: "redis", redisPort: redis.port)
            let configure = options.configure
            options.configure = { configuration in
                configure(&configuration)
                configuration.rateLimits.redis?.timeout = .seconds(5)
            }
            try await GatewayHarness.with(options) { gateway in
                #expect(try await Self.requests(gateway, sub: "alice", count: 1).map(\.status) == [200])
                let mark = gateway.upstream.events().count
                redis.pause()
                let token = try gateway.token(sub: "alice")
                for http2 in [false, true] {
                    _ = try? await Curl.request(
                        gateway, "/api/data/left", headers: [gateway.bearer(token)], http2: http2, extra: ["--max-time", "0.5"])
                }
                redis.resume()
                try await Task.sleep(nanoseconds: 500_000_000)
                #expect(await gateway.upstream.settledEvents(since: mark).filter(\.isRequest).isEmpty, "a request whose client left was forwarded")
                #expect(try await Self.requests(gateway, sub: "bob", count: 1).map(\.status) == [200])
            }
        }
    }
}

/// Two `auth-gateway serve` processes with one Redis: one limit between them, per subject.
@Suite("End to end: a Redis rate limit shared by two gateway processes", .serialized)
struct SharedRateLimitEndToEndTests {
    @Test("two gateways share each subject's burst through Redis; subjects do not bleed into each other")
    func twoProcessesShareOneLimit() async throws {
        let directory = try TestTools.temporaryDirectory(prefix: "rl-shared")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let redis = try await RedisServer.start(in: directory)
        let upstream = try await RecordingUpstream.start(in: directory)
        var gateways: [GatewayProcess] = []
        do {
            for index in 0..<2 {
                let own = directory + "/gw\(index)"
                try FileManager.default.createDirectory(atPath: own, withIntermediateDirectories: true)
                let config = GatewayBinary.configuration(upstream: [upstream.url], accessLog: "off") + """
                    rate_limits:
                      redis: { address: 127.0.0.1, port: \(redis.port), timeout: 500ms }
                      failure_mode: fail_closed

                    """
                let path = try GatewayBinary.writeConfiguration(
                    config, policy: RateLimitEndToEndTests.policy(store: "redis", burst: 4), in: own)
                gateways.append(try await GatewayProcess.start(configPath: path, directory: own))
            }
            for subject in ["alice", "bob"] {
                let token = try GatewayTokens.token(sub: subject, scope: "read:data")
                var statuses: [Int] = []
                for index in 0..<10 {
                    let response = try await Curl.request(
                        gateways[index % 2], "/api/data/\(subject)-\(index)", headers: ["Authorization: Bearer \(token)"])
                    statuses.append(response.status)
                }
                #expect(statuses == [200, 200, 200, 200] + Array(repeating: 429, count: 6), "\(subject): \(statuses)")
            }
            let targets = await upstream.waitForRequests(8).map(\.target)
            #expect(targets.count == 8 && Set(targets).count == 8, "\(targets)")
            #expect(await upstream.settledEvents(since: 0).filter(\.isRequest).count == 8)
            for gateway in gateways {
                #expect(try await gateway.metric("gateway_rate_limit_checks_total") == 10)
            }
        } catch {
            for gateway in gateways { await gateway.stop() }
            await upstream.stop()
            await redis.stop()
            throw error
        }
        for gateway in gateways { await gateway.stop() }
        await upstream.stop()
        await redis.stop()
    }
}
