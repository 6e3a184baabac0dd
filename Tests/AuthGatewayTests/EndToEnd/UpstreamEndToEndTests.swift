import Foundation
import GatewayObservability
import Testing

/// Load balancing, dead targets and timeouts with real upstream processes and closed ports.
@Suite("End to end: upstream targets, failures and timeouts")
struct UpstreamEndToEndTests {
    @Test("round robin: two targets share the requests of one connection")
    func roundRobin() async throws {
        var options = GatewayHarness.Options()
        options.upstreams = ["svc": [.recording(.init(name: "a")), .recording(.init(name: "b"))]]
        try await GatewayHarness.with(options) { gateway in
            let token = try gateway.token()
            // One keep-alive connection lives on one event loop, whose balancer alternates strictly.
            let responses = try await PythonClient.request(gateway, "/api/data/rr", headers: [gateway.bearer(token)], repeat: 6)
            #expect(responses.map(\.status) == Array(repeating: 200, count: 6))
            let names = responses.compactMap { $0.header("X-Upstream-Name") }
            #expect(names.filter { $0 == "a" }.count == 3, "upstreams in order: \(names)")
            #expect(names.filter { $0 == "b" }.count == 3, "upstreams in order: \(names)")
            let a = gateway.upstreams["svc"]![0].requests().count
            let b = gateway.upstreams["svc"]![1].requests().count
            #expect(a == 3 && b == 3)
        }
    }

    @Test("one target down: requests still succeed on the other")
    func oneTargetDown() async throws {
        var options = GatewayHarness.Options()
        options.upstreams = ["svc": [.closed, .recording(.init(name: "live"))]]
        try await GatewayHarness.with(options) { gateway in
            let token = try gateway.token()
            var statuses: [Int] = []
            for index in 0..<4 {
                statuses.append(try await Curl.request(gateway, "/api/data/\(index)", headers: [gateway.bearer(token)]).status)
            }
            statuses += try await PythonClient.request(gateway, "/api/data/py", headers: [gateway.bearer(token)], repeat: 4).map(\.status)
            #expect(statuses == Array(repeating: 200, count: 8))
            #expect(await gateway.upstream.waitForRequests(8).count == 8)
        }
    }

    @Test("all targets down: 502 from the gateway; the access log and the metrics name the upstream and the target")
    func allTargetsDown() async throws {
        var options = GatewayHarness.Options()
        options.upstreams = ["svc": [.closed, .closed]]
        let metrics = GatewayMetrics()
        options.metrics = metrics
        try await GatewayHarness.with(options) { gateway in
            let token = try gateway.token()
            for _ in 0..<2 {
                let response = try await Curl.request(gateway, "/api/data/x", headers: [gateway.bearer(token)])
                #expect(response.status == 502, "body: \(response.bodyText)")
                #expect(response.header("Content-Type") == "application/problem+json")
                #expect(response.json?["code"] as? String == "upstream_error")
                #expect(!response.bodyText.contains("127.0.0.1"), "no internal address in the answer")
            }
            // The audit trail: who was refused service by which upstream, and where it tried.
            let targets = Set(gateway.configuration.upstreams["svc"]?.targets.map(\.description) ?? [])
            let records = await gateway.observer.waitForRecords(2)
            #expect(records.count == 2)
            for record in records {
                #expect(record.status == 502 && record.verdict == .error)
                #expect(record.reason == .upstream(.connectFailed), "\(String(describing: record.reason))")
                #expect(record.upstream == "svc")
                #expect(record.upstreamTarget.map(targets.contains) == true, "\(String(describing: record.upstreamTarget)) not in \(targets)")
                #expect(record.subject == "alice" && record.issuer == E2EFixtures.issuer)
            }
            let errors = String(decoding: metrics.exposition(), as: UTF8.self).split(separator: "\n")
                .filter { $0.hasPrefix("gateway_upstream_errors_total{") }
            #expect(!errors.isEmpty)
            for line in errors {
                #expect(line.contains(#"upstream="svc""#) && line.contains(#"kind="connect_failed""#), "\(line)")
                #expect(targets.contains { line.contains(#"target="\#($0)""#) }, "\(line)")
            }
            let counted: Double = errors.reduce(0) { sum, line in sum + (line.split(separator: " ").last.flatMap { Double($0) } ?? 0) }
            #expect(counted == 2)
        }
    }

    @Test("a target at its connection limit queues requests instead of refusing them")
    func connectionLimitQueues() async throws {
        var options = GatewayHarness.Options()
        options.upstreams = ["svc": [.recording(.init(name: "one-at-a-time", delayMilliseconds: 300))]]
        options.configure = { configuration in
            configuration.upstreams["svc"]?.maxConnections = 1
            configuration.upstreams["svc"]?.connectTimeout = .seconds(10)
        }
        try await GatewayHarness.with(options) { gateway in
            let token = try gateway.token()
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<5 {
                    group.addTask {
                        try await Curl.request(gateway, "/api/data/\(index)", headers: [gateway.bearer(token)]).status
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses == [200, 200, 200, 200, 200], "queued requests must be served, not refused")
            let requests = await gateway.upstream.waitForRequests(5)
            #expect(requests.count == 5)
            // Each loop keeps at most one connection to the target.
            #expect(Set(requests.map(\.conn)).count <= 2)
        }
    }

    @Test("a slow upstream: 504 after the response timeout")
    func slowUpstream() async throws {
        var options = GatewayHarness.Options()
        options.upstreams = ["svc": [.recording(.init(name: "slow", delayMilliseconds: 15_000))]]
        options.configure = { $0.upstreams["svc"]?.responseTimeout = .seconds(1) }
        try await GatewayHarness.with(options) { gateway in
            let token = try gateway.token()
            let started = Date()
            let response = try await Curl.request(gateway, "/api/data/slow", headers: [gateway.bearer(token)])
            let elapsed = Date().timeIntervalSince(started)
            #expect(response.status == 504, "body: \(response.bodyText)")
            #expect(response.json?["code"] as? String == "upstream_timeout")
            // Not a speed check: the gateway must have answered on its own timeout, long before the
            // upstream's 15 s reply.
            #expect(elapsed >= 0.9 && elapsed < 10, "answered after \(elapsed) s")
            #expect(await gateway.upstream.waitForRequests(1).count == 1)
        }
    }
}

extension RecordingUpstream.Behaviour {
    init(name: String, delayMilliseconds: Int = 0, status: Int = 200, responseBytes: Int? = nil) {
        self.init()
        self.name = name
        self.delayMilliseconds = delayMilliseconds
        self.status = status
        self.responseBytes = responseBytes
    }
}
