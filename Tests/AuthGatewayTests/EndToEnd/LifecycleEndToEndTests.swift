import Foundation
import TestSupport
import JOSE
import Testing
import AuthGateway

/// Reload and shutdown while a real client (Tests/e2e/load.py, keep-alive HTTPS connections) keeps
/// sending requests: no request may fail across reloads, and none may be cut by a graceful shutdown.
@Suite("End to end: reload and shutdown under load", .serialized)
struct LifecycleEndToEndTests {
    @Test("20 reloads under continuous load: every request answered 200, none failed")
    func reloadUnderLoad() async throws {
        try await GatewayHarness.with { gateway in
            let token = try gateway.token(scope: "read:data", expiresIn: 3600)
            let load = try LoadClient.run(gateway, token: token, connections: 4, duration: 6)
            try await Task.sleep(nanoseconds: 500_000_000)
            for generation in 2...21 {
                // Each reload is a new snapshot and key generation, which also empties the token caches.
                let snapshot = try GatewaySnapshot.load(configuration: gateway.configuration, keyGeneration: UInt64(generation))
                try await gateway.server.reload(snapshot)
                try await Task.sleep(nanoseconds: 200_000_000)
            }
            let result = try await LoadClient.result(of: load, timeout: 30)
            print("reload under load: \(result.total) requests, statuses \(result.statuses), failures \(result.failures)")
            #expect(result.failures.isEmpty, "failures: \(result.failures) \(result.examples)")
            #expect(Set(result.statuses.keys) == ["200"])
            #expect(result.total >= 100, "the load barely ran: \(result.total) requests")
        }
    }

    @Test("graceful shutdown under load: in-flight requests finish, none is cut, new connections are refused")
    func shutdownUnderLoad() async throws {
        var options = GatewayHarness.Options()
        options.upstreams = ["svc": [.recording(.init(delayMilliseconds: 300))]]
        try await GatewayHarness.with(options) { gateway in
            let token = try gateway.token(scope: "read:data", expiresIn: 3600)
            let load = try LoadClient.run(gateway, token: token, connections: 6, duration: 5)
            try await Task.sleep(nanoseconds: 1_500_000_000)
            let cut = await gateway.server.shutdown(drainTimeout: .seconds(5))
            #expect(cut == 0, "connections had to be cut after the drain timeout")
            let result = try await LoadClient.result(of: load, timeout: 30)
            print("shutdown under load: \(result.total) requests answered, statuses \(result.statuses), failures \(result.failures)")
            #expect(result.failures["cut", default: 0] == 0, "requests cut mid-way: \(result.examples)")
            #expect(Set(result.statuses.keys) == ["200"])
            #expect(result.total >= 6, "the in-flight requests did not complete")
            #expect(result.failures["refused", default: 0] > 0, "new connections were still accepted after shutdown")
        }
    }
}
