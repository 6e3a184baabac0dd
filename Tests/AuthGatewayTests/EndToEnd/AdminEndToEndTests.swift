import Foundation
import TestSupport
import JOSE
import Testing
import GatewayObservability
import AuthGateway

/// The admin listener scraped for real (curl over plain HTTP on loopback) after real traffic.
@Suite("End to end: admin listener and metrics")
struct AdminEndToEndTests {
    static func get(_ url: String) async throws -> (status: Int, body: String) {
        let result = try await Command.run(
            E2EPaths.curl, ["-sS", "-w", "\n%{http_code}", "--max-time", "10", url],
            directory: FileManager.default.temporaryDirectory.path, timeout: 15, label: "curl-admin")
        var lines = result.stdoutText.split(separator: "\n", omittingEmptySubsequences: false)
        let status = Int(lines.popLast() ?? "") ?? 0
        return (status, lines.joined(separator: "\n"))
    }

    @Test("/metrics counts requests by route, status and decision, the token cache and verifications; /healthz and /readyz answer")
    func scrape() async throws {
        var options = GatewayHarness.Options()
        let metrics = GatewayMetrics()
        options.metrics = metrics
        try await GatewayHarness.with(options) { gateway in
            let admin = try await AdminServer.start(
                address: "127.0.0.1", port: 0, group: gateway.group, metrics: metrics, gateway: gateway.server)
            defer { Task { await admin.stop() } }
            let token = try gateway.token(scope: "read:data")
            for _ in 0..<3 {
                #expect(try await Curl.request(gateway, "/api/data/x", headers: [gateway.bearer(token)]).status == 200)
            }
            #expect(try await Curl.request(gateway, "/api/data/x").status == 401)
            #expect(try await Curl.request(gateway, "/nowhere").status == 404)

            let scrape = try await Self.get("http://127.0.0.1:\(admin.port)/metrics")
            #expect(scrape.status == 200)
            let lines = Set(scrape.body.split(separator: "\n").map(String.init))
            #expect(lines.contains(#"gateway_requests_total{route="data",status="200",decision="allow"} 3"#), "\(scrape.body)")
            #expect(lines.contains(#"gateway_requests_total{route="data",status="401",decision="deny"} 1"#))
            #expect(lines.contains(#"gateway_requests_total{route="none",status="404",decision="deny"} 1"#))
            #expect(lines.contains(#"gateway_request_duration_seconds_count{route="data"} 4"#))
            #expect(lines.contains(#"gateway_token_verifications_total{alg="RS256"} 1"#) || lines.contains(#"gateway_token_verifications_total{alg="RS256"} 2"#),
                    "one verification per event loop at most: the cache answers the rest")
            let hits = lines.first { $0.hasPrefix("gateway_token_cache_hits_total ") }.flatMap { Int($0.split(separator: " ")[1]) }
            #expect((hits ?? 0) >= 1)
            #expect(!scrape.body.contains(token), "a token must never appear in metrics")

            #expect(try await Self.get("http://127.0.0.1:\(admin.port)/healthz").status == 200)
            let ready = try await Self.get("http://127.0.0.1:\(admin.port)/readyz")
            #expect(ready.status == 200, "\(ready.body)")
            #expect(try await Self.get("http://127.0.0.1:\(admin.port)/other").status == 404)
        }
    }
}
