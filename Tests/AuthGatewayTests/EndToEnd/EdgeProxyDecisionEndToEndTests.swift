import Foundation
import TestSupport
import Testing
import GatewayConfig

/// Debian's nginx (`auth_request`) and Caddy (`forward_auth`) in front of the recording upstream, configured with
/// the snippets of `deploy/nginx/` and `deploy/caddy/` verbatim, asking a decision-mode gateway. The oracle is
/// the recording upstream: allowed requests arrive with exactly the gateway's identity and the canonical target,
/// denied ones never arrive at all, and the client gets the gateway's status and challenge.
@Suite("End to end: nginx and Caddy in front of a decision-mode gateway", .serialized)
struct EdgeProxyDecisionEndToEndTests {
    /// Every identity spelling a client tries, in several forms: case, `_`, `.`, repeats, other products' names.
    static let spoofed = [
        "X-User-Id: admin", "x-user-id: admin2", "X-USER-ID: admin3", "X_User_Id: admin4", "X.User.Id: admin5",
        "X-User-Roles: admin", "X-User-Scopes: write:data", "X-Token-Issuer: https://evil.example",
        "X-Forwarded-User: admin", "X-Remote-User: admin", "Remote-User: admin", "X-Auth-Request-User: admin",
        "X-Auth-Gateway-Identity-Headers: X-Evil", "X-Auth-Gateway-Target: /admin/secret",
        "X-Original-URI: /public/x", "X-Original-Method: GET", "X-Forwarded-Uri: /public/x",
        "X-Forwarded-Method: GET", "X-Forwarded-Prefix: /admin", "X-Original-URL: /admin/secret",
        "X-HTTP-Method-Override: DELETE", "X-Auth-Gateway-Code: allow",
    ]
    static let spoofedValues = ["admin", "admin2", "admin3", "admin4", "admin5", "write:data", "https://evil.example",
                                "X-Evil", "/admin/secret"]

    /// The standard policy's identity headers.
    static let identityNames = ["x-user-id", "x-user-scopes", "x-user-roles", "x-token-issuer"]

    /// A decision-mode gateway (the proxy's protocol, trusting loopback) and `kind` in front of its recording
    /// upstream; both stopped whatever happens.
    static func withProxy(
        _ kind: EdgeProxy.Kind, decisionPort: Int? = nil, _ body: (GatewayHarness, EdgeProxy) async throws -> Void
    ) async throws {
        var options = GatewayHarness.Options()
        options.configure = { configuration in
            configuration.listeners[0].mode = .decision(DecisionListener(
                protocol: kind == .nginx ? .nginxAuthRequest : .forwardAuth,
                trustedPeers: [PeerAddressRange("127.0.0.1")!]))
        }
        try await GatewayHarness.with(options) { gateway in
            let proxy = try await EdgeProxy.start(
                kind, wiring: .init(decisionPort: decisionPort ?? gateway.port, upstreamPort: gateway.upstream.port))
            do {
                try await body(gateway, proxy)
                #expect(proxy.isRunning, "\(kind) died: \(proxy.errorLog)")
            } catch {
                await proxy.stop()
                throw error
            }
            await proxy.stop()
        }
    }

    /// Nothing reached the upstream since `mark`.
    static func expectNothingUpstream(
        _ gateway: GatewayHarness, since mark: Int, _ what: String, sourceLocation: SourceLocation = #_sourceLocation
    ) async {
        let events = await gateway.upstream.settledEvents(since: mark)
        #expect(events.isEmpty, "\(what) reached the upstream: \(events)", sourceLocation: sourceLocation)
    }

    @Test("allowed: the upstream gets exactly the gateway's identity and the canonical target", arguments: EdgeProxy.Kind.allCases)
    func allowedCarriesOnlyTheGatewaysIdentity(kind: EdgeProxy.Kind) async throws {
        try await Self.withProxy(kind) { gateway, proxy in
            let token = try gateway.token(sub: "alice", scope: "read:data")
            let response = try await Curl.request(
                proxy, "/api/data/%61b/./c?q=1", headers: [gateway.bearer(token)] + Self.spoofed)
            #expect(response.status == 200, "\(kind): \(response.bodyText) \(proxy.errorLog)")
            let requests = await gateway.upstream.waitForRequests(1)
            try #require(requests.count == 1)
            let request = requests[0]
            #expect(request.method == "GET")
            #expect(request.target == "/api/data/ab/c?q=1", "the path the policy judged, byte for byte")
            #expect(request.values("X-User-Id") == ["alice"])
            #expect(request.values("X-User-Scopes") == ["read:data"])
            #expect(request.values("X-User-Roles").isEmpty, "the token has no roles; the client's must not pass")
            #expect(request.values("X-Token-Issuer") == [E2EFixtures.issuer])
            #expect(request.values("Authorization").isEmpty)
            Self.expectNoSpoofedIdentity(request)
            let record = try #require(await gateway.observer.waitForRecords(1).first)
            #expect(record.mode == .decision)
            #expect(record.path == "/api/data/ab/c")
        }
    }

    static func expectNoSpoofedIdentity(_ request: UpstreamEvent, sourceLocation: SourceLocation = #_sourceLocation) {
        let folded = request.headerNames.map {
            $0.lowercased().replacingOccurrences(of: "_", with: "-").replacingOccurrences(of: ".", with: "-")
        }
        for name in identityNames + ["x-forwarded-user", "x-remote-user", "remote-user", "x-auth-request-user",
                                     "x-auth-gateway-identity-headers", "x-auth-gateway-target"] {
            #expect(folded.filter { $0 == name }.count <= 1, "\(name) twice: \(request.headers ?? [])", sourceLocation: sourceLocation)
        }
        let absent = [
            "x-forwarded-user", "x-remote-user", "remote-user", "x-auth-request-user", "x-auth-gateway-target",
            "x-auth-gateway-code", "x-auth-gateway-identity-headers", "x-forwarded-uri", "x-forwarded-method",
            "x-forwarded-prefix", "x-original-uri", "x-original-url", "x-original-method", "x-http-method-override",
        ]
        for name in absent {
            #expect(!folded.contains(name), "\(name) reached the upstream: \(request.headers ?? [])", sourceLocation: sourceLocation)
        }
        let values = (request.headers ?? []).map { $0[1] }
        for value in spoofedValues {
            #expect(!values.contains(value), "client value \(value) reached the upstream: \(request.headers ?? [])",
                    sourceLocation: sourceLocation)
        }
    }

    @Test("a public route passes without identity, and spoofed identity still does not pass", arguments: EdgeProxy.Kind.allCases)
    func publicRoute(kind: EdgeProxy.Kind) async throws {
        try await Self.withProxy(kind) { gateway, proxy in
            let response = try await Curl.request(proxy, "/public/page", headers: Self.spoofed)
            #expect(response.status == 200, "\(kind): \(response.bodyText) \(proxy.errorLog)")
            let request = try #require(await gateway.upstream.waitForRequests(1).first)
            #expect(request.target == "/public/page")
            for name in Self.identityNames { #expect(request.values(name).isEmpty, "\(name): \(request.headers ?? [])") }
            Self.expectNoSpoofedIdentity(request)
        }
    }

    @Test("a body goes from the proxy to the upstream; the decision service never sees it", arguments: EdgeProxy.Kind.allCases)
    func uploadBody(kind: EdgeProxy.Kind) async throws {
        try await Self.withProxy(kind) { gateway, proxy in
            let file = proxy.directory + "/body.bin"
            try Data(repeating: 0x61, count: 100_000).write(to: URL(fileURLWithPath: file))
            let writer = try gateway.token(scope: "write:data")
            let response = try await Curl.request(
                proxy, "/upload/file", method: "POST", headers: [gateway.bearer(writer)], dataFile: file)
            #expect(response.status == 200, "\(kind): \(response.bodyText) \(proxy.errorLog)")
            let request = try #require(await gateway.upstream.waitForRequests(1).first)
            #expect(request.method == "POST")
            #expect(request.bodyLength == 100_000)
            let record = try #require(await gateway.observer.waitForRecords(1).first)
            #expect(record.method == "POST")
            #expect(record.bytesIn == 0, "the decision request has no body")
        }
    }

    @Test("denials reach the client with the status, the challenge and the problem code; nothing upstream",
          arguments: EdgeProxy.Kind.allCases)
    func denials(kind: EdgeProxy.Kind) async throws {
        try await Self.withProxy(kind) { gateway, proxy in
            let anonymous = try await Curl.request(proxy, "/api/data/x", headers: Self.spoofed)
            #expect(anonymous.status == 401, "\(kind): \(anonymous.bodyText) \(proxy.errorLog)")
            #expect(anonymous.values("WWW-Authenticate") == [#"Bearer realm="auth-gateway""#])
            #expect(anonymous.json?["code"] as? String == "token_missing", "\(anonymous.bodyText)")
            #expect(anonymous.header("Content-Type")?.hasPrefix("application/problem+json") == true)

            let forged = try gateway.token(key: gateway.fixtures.foreignRSAKey)
            let invalid = try await Curl.request(proxy, "/api/data/x", headers: [gateway.bearer(forged)])
            #expect(invalid.status == 401)
            #expect(invalid.values("WWW-Authenticate").count == 1)
            #expect(invalid.header("WWW-Authenticate")?.contains(#"error="invalid_token""#) == true)

            let expired = try gateway.token(expiresIn: -3600)
            #expect(try await Curl.request(proxy, "/api/data/x", headers: [gateway.bearer(expired)]).status == 401)

            let reader = try gateway.token(scope: "read:data")
            let forbidden = try await Curl.request(proxy, "/upload/x", method: "POST", headers: [gateway.bearer(reader)])
            #expect(forbidden.status == 403)
            #expect(forbidden.values("WWW-Authenticate").count == 1)
            #expect(forbidden.header("WWW-Authenticate")?.contains(#"error="insufficient_scope""#) == true)
            #expect(forbidden.json?["code"] as? String == "insufficient_scope", "\(forbidden.bodyText)")

            let analyst = try gateway.token(roles: ["analyst"])
            let noRole = try await Curl.request(proxy, "/admin/x", headers: [gateway.bearer(analyst)])
            #expect(noRole.status == 403)
            #expect(noRole.json?["code"] as? String == "missing_role", "\(noRole.bodyText)")

            // Answers nginx cannot pass on (400, 404): it answers 500; Caddy passes the gateway's answer.
            let unrouted = try await Curl.request(proxy, "/nowhere", headers: [gateway.bearer(reader)])
            #expect(unrouted.status == (kind == .nginx ? 500 : 404))
            let twoTokens = try await Curl.request(
                proxy, "/api/data/x", headers: [gateway.bearer(reader), gateway.bearer(reader)])
            // nginx refuses a second Authorization line itself (400); Caddy passes the gateway's 400.
            #expect(twoTokens.status == 400)
            let inQuery = try await Curl.request(proxy, "/api/data/x?access_token=\(reader)")
            #expect(inQuery.status == (kind == .nginx ? 500 : 400))
            await Self.expectNothingUpstream(gateway, since: 0, "a denied request")
            let records = await gateway.observer.waitForRecords(8)
            #expect(records.allSatisfy { $0.mode == .decision && $0.verdict != .allow }, "\(records.map(\.status))")
        }
    }

    @Test("path tricks are judged on the canonical path; unreadable paths are denied", arguments: EdgeProxy.Kind.allCases)
    func pathTricks(kind: EdgeProxy.Kind) async throws {
        try await Self.withProxy(kind) { gateway, proxy in
            let analyst = try gateway.token(roles: ["analyst"])
            let tricks = ["/public/../admin/x", "/public/%2e%2e/admin/x", "/%61dmin/x", "/./admin/x", "/public/%2E%2E/admin/x"]
            for trick in tricks {
                let response = try await Curl.request(proxy, trick, headers: [gateway.bearer(analyst)])
                // nginx resolves `..` itself before it asks (then /admin/x is what it asks about); either way the
                // answer is the admin route's.
                #expect(response.status == 403, "\(kind) \(trick): \(response.status) \(response.bodyText)")
            }
            let unreadable = ["/admin%2fx", "/public/..%2fadmin", "/admin%5cx", "/admin%00", "/public/%c0%af"]
            for trick in unreadable {
                let response = try await Curl.request(proxy, trick, headers: [gateway.bearer(analyst)])
                #expect([400, 500].contains(response.status), "\(kind) \(trick): \(response.status) \(response.bodyText)")
            }
            await Self.expectNothingUpstream(gateway, since: 0, "a path trick")

            // With the role, the trick is allowed and the upstream gets the canonical path, not the proxy's spelling.
            let admin = try gateway.token(roles: ["admin"])
            let allowed = try await Curl.request(proxy, "/public/%2e%2e/admin/x?y=1", headers: [gateway.bearer(admin)])
            #expect(allowed.status == 200, "\(kind): \(allowed.bodyText) \(proxy.errorLog)")
            let request = try #require(await gateway.upstream.waitForRequests(1).first)
            #expect(request.target == "/admin/x?y=1")
        }
    }

    @Test("a decision service that is down fails closed: 5xx, nothing upstream", arguments: EdgeProxy.Kind.allCases)
    func decisionServiceDown(kind: EdgeProxy.Kind) async throws {
        let closed = try ClosedLoopbackPort()
        defer { closed.close() }
        try await Self.withProxy(kind, decisionPort: closed.port) { gateway, proxy in
            let token = try gateway.token()
            for path in ["/api/data/x", "/public/x"] {
                let response = try await Curl.request(proxy, path, headers: [gateway.bearer(token)] + Self.spoofed)
                #expect(response.status == (kind == .nginx ? 500 : 502), "\(kind) \(path): \(response.status)")
                #expect(response.values("X-User-Id").isEmpty)
            }
            await Self.expectNothingUpstream(gateway, since: 0, "a request while the decision service was down")
        }
    }

    @Test("the proxy is not a trusted peer: every request is refused, nothing upstream", arguments: EdgeProxy.Kind.allCases)
    func proxyNotTrusted(kind: EdgeProxy.Kind) async throws {
        var options = GatewayHarness.Options()
        options.configure = { configuration in
            configuration.listeners[0].mode = .decision(DecisionListener(
                protocol: kind == .nginx ? .nginxAuthRequest : .forwardAuth, trustedPeers: [PeerAddressRange("10.9.9.9")!]))
        }
        try await GatewayHarness.with(options) { gateway in
            let proxy = try await EdgeProxy.start(kind, wiring: .init(decisionPort: gateway.port, upstreamPort: gateway.upstream.port))
            let token = try gateway.token()
            let response = try await Curl.request(proxy, "/public/x", headers: [gateway.bearer(token)])
            await proxy.stop()
            #expect(response.status == 403)
            #expect(response.json?["code"] as? String == "untrusted_peer", "\(response.bodyText)")
            await Self.expectNothingUpstream(gateway, since: 0, "a request the gateway refused to decide")
        }
    }
}
