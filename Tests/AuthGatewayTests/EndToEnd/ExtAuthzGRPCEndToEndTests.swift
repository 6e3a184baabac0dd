import Foundation
import TestSupport
import Testing
import GatewayConfig

/// Envoy's gRPC `ext_authz` (`envoy.service.auth.v3.Authorization/Check`) answered by a decision listener, asked
/// by a real gRPC client: Python's grpcio with stubs generated from the repository's Protos/ (Tests/e2e/
/// ext_authz_client.py). Envoy itself does not run here; the client sends what Envoy sends.
@Suite("End to end: Envoy gRPC ext_authz")
struct ExtAuthzGRPCEndToEndTests {
    struct CheckResult {
        let object: [String: Any]
        var grpcStatus: Int? { object["grpc_status"] as? Int }
        var ok: [String: Any]? { object["ok"] as? [String: Any] }
        var denied: [String: Any]? { object["denied"] as? [String: Any] }

        /// OK headers as (name, value, append action).
        var okHeaders: [(String, String, Int)] {
            (ok?["headers"] as? [[Any]] ?? []).compactMap { item in
                guard item.count == 3, let name = item[0] as? String, let value = item[1] as? String,
                    let action = item[2] as? Int
                else { return nil }
                return (name, value, action)
            }
        }
        var removed: [String] { ok?["headers_to_remove"] as? [String] ?? [] }
        var deniedStatus: Int? { denied?["status"] as? Int }
        func deniedHeader(_ name: String) -> [String] {
            (denied?["headers"] as? [[String]] ?? []).filter { $0.first == name }.map { $0[1] }
        }
        var deniedBody: [String: Any]? {
            (denied?["body"] as? String).flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        }
    }

    static func options(peers: [String] = ["127.0.0.1"]) -> GatewayHarness.Options {
        var options = GatewayHarness.Options()
        options.configure = { configuration in
            configuration.listeners[0].mode = .decision(DecisionListener(
                protocol: .envoyExtAuthzGRPC, trustedPeers: peers.compactMap(PeerAddressRange.init)))
        }
        return options
    }

    static func check(
        _ gateway: GatewayHarness, method: String = "GET", path: String, headers: [String] = [], raw: Bool = false
    ) async throws -> CheckResult {
        let out = gateway.directory + "/stubs-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        var arguments = [
            "-u", E2EPaths.scripts + "/ext_authz_client.py", "--port", String(gateway.port), "--cafile", gateway.caFile,
            "--protos", TestTools.repositoryRoot + "/Protos", "--out", out, "--method", method, "--path", path,
            "--timeout", "30",
        ]
        for header in headers { arguments += ["-H", header] }
        if raw { arguments.append("--raw-headers") }
        let result = try await Command.run(TestTools.python, arguments, directory: gateway.directory, timeout: 60, label: "ext-authz")
        guard result.status == 0,
            let object = try JSONSerialization.jsonObject(with: Data(result.stdoutText.utf8)) as? [String: Any]
        else { throw HarnessError("ext_authz_client.py exited \(result.status): \(result.stdoutText) \(result.stderrText)") }
        return CheckResult(object: object)
    }

    @Test("allowed: OK with the identity overwriting the client's, and every other spelling to remove")
    func allowed() async throws {
        try await GatewayHarness.with(Self.options()) { gateway in
            let token = try gateway.token(sub: "alice", scope: "read:data")
            for raw in [false, true] {
                let result = try await Self.check(
                    gateway, path: "/api/data/%61b/./c?q=1",
                    headers: ["Authorization: Bearer \(token)", "X-User-Id: admin", "X-User-Roles: admin", "X_User_Id: admin"],
                    raw: raw)
                #expect(result.grpcStatus == 0, "\(result.object)")
                let headers = Dictionary(result.okHeaders.map { ($0.0, $0.1) }, uniquingKeysWith: { first, _ in first })
                #expect(headers["x-user-id"] == "alice")
                #expect(headers["x-user-scopes"] == "read:data")
                #expect(headers["x-user-roles"] == nil)
                #expect(headers["x-auth-gateway-target"] == "/api/data/ab/c?q=1")
                #expect(result.okHeaders.allSatisfy { $0.2 == 2 }, "OVERWRITE_IF_EXISTS_OR_ADD: \(result.okHeaders)")
                #expect(Set(result.removed) == ["x-user-roles", "x_user_id"], "\(result.removed)")
            }
            let records = await gateway.observer.waitForRecords(2)
            #expect(records.allSatisfy { $0.mode == .decision && $0.protocolName == "gRPC" && $0.verdict == .allow })
            #expect(records.first?.path == "/api/data/ab/c")
            #expect(records.first?.subject == "alice")
            #expect(await gateway.upstream.settledEvents(since: 0).isEmpty)
        }
    }

    @Test("denied: the status, the RFC 6750 challenge and the problem document, with a gRPC status that is not OK")
    func denied() async throws {
        try await GatewayHarness.with(Self.options()) { gateway in
            let anonymous = try await Self.check(gateway, path: "/api/data/x")
            #expect(anonymous.grpcStatus == 16, "\(anonymous.object)")
            #expect(anonymous.deniedStatus == 401)
            #expect(anonymous.deniedHeader("www-authenticate") == [#"Bearer realm="auth-gateway""#])
            #expect(anonymous.deniedHeader("content-type") == ["application/problem+json"])
            #expect(anonymous.deniedBody?["code"] as? String == "token_missing")

            let reader = try gateway.token(scope: "read:data")
            let forbidden = try await Self.check(
                gateway, method: "POST", path: "/upload/x", headers: ["Authorization: Bearer \(reader)"])
            #expect(forbidden.grpcStatus == 7)
            #expect(forbidden.deniedStatus == 403)
            #expect(forbidden.deniedHeader("www-authenticate").first?.contains(#"error="insufficient_scope""#) == true)

            let analyst = try gateway.token(roles: ["analyst"])
            let trick = try await Self.check(gateway, path: "/public/%2e%2e/admin/x", headers: ["Authorization: Bearer \(analyst)"])
            #expect(trick.deniedStatus == 403, "judged as /admin/x")
            let unreadable = try await Self.check(gateway, path: "/admin%2fx", headers: ["Authorization: Bearer \(analyst)"])
            #expect(unreadable.deniedStatus == 400)
            #expect(unreadable.deniedBody?["code"] as? String == "bad_path")
            let noPath = try await Self.check(gateway, path: "", headers: ["Authorization: Bearer \(analyst)"])
            #expect(noPath.deniedStatus == 400)

            let records = await gateway.observer.waitForRecords(5)
            #expect(records.map(\.status) == [401, 403, 403, 400, 400])
            #expect(records.map(\.method) == ["GET", "POST", "GET", "GET", "GET"])
            #expect(await gateway.upstream.settledEvents(since: 0).isEmpty)
        }
    }

    @Test("a route's rate limit counts checks per subject; over it, DENIED with 429 and Retry-After")
    func rateLimited() async throws {
        var options = Self.options()
        options.policy = standardPolicy.replacingOccurrences(
            of: "    require:\n      scopes: { all: [\"read:data\"] }\n",
            with: "    require:\n      scopes: { all: [\"read:data\"] }\n    rate_limit: { key: sub, rate: 1/hour }\n")
        #expect(options.policy.contains("rate_limit"), "the policy fixture changed shape")
        try await GatewayHarness.with(options) { gateway in
            let token = try gateway.token(sub: "alice", scope: "read:data")
            let first = try await Self.check(gateway, path: "/api/data/1", headers: ["Authorization: Bearer \(token)"])
            #expect(first.grpcStatus == 0, "\(first.object)")
            #expect(first.okHeaders.contains { $0.0 == "ratelimit-policy" })
            let second = try await Self.check(gateway, path: "/api/data/2", headers: ["Authorization: Bearer \(token)"])
            #expect(second.deniedStatus == 429, "\(second.object)")
            #expect(second.deniedHeader("retry-after").first.flatMap(Int.init).map { $0 > 0 } == true)
            #expect(second.deniedBody?["code"] as? String == "rate_limited")
            #expect(await gateway.upstream.settledEvents(since: 0).isEmpty)
        }
    }

    @Test("a peer outside trusted_peers is refused: 403 untrusted_peer")
    func untrustedPeer() async throws {
        try await GatewayHarness.with(Self.options(peers: ["10.0.0.0/8"])) { gateway in
            let token = try gateway.token()
            let result = try await Self.check(gateway, path: "/api/data/x", headers: ["Authorization: Bearer \(token)"])
            #expect(result.grpcStatus == 7, "\(result.object)")
            #expect(result.deniedStatus == 403)
            #expect(result.deniedBody?["code"] as? String == "untrusted_peer")
            #expect(result.ok == nil)
        }
    }
}
