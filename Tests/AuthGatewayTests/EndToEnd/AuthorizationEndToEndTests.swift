import Foundation
import JOSE
import Testing

/// Allowed and denied requests through the real TLS listener, with curl and Python as clients and the
/// recording upstream as the oracle: what the upstream received, byte for byte.
@Suite("End to end: authorization and identity headers")
struct AuthorizationEndToEndTests {
    /// The identity headers the standard policy injects (defaults of docs/POLICY.md).
    static let identityHeaders = ["X-User-Id", "X-User-Scopes", "X-User-Roles", "X-Token-Issuer"]

    @Test("an allowed request reaches the upstream with the canonical path and only the gateway's identity")
    func allowedRequest() async throws {
        try await GatewayHarness.with { gateway in
            let token = try gateway.token(sub: "alice", scope: "read:data", roles: ["analyst"])
            let response = try await Curl.request(
                gateway, "/api/data/%61b/./c?q=1",
                headers: [
                    gateway.bearer(token),
                    "X-User-Id: admin", "x-user-id: admin2", "X_User_Id: admin3", "X.User.Id: admin4",
                    "X-User-Id: admin5", "X-User-Roles: admin", "X-Forwarded-User: admin",
                    "X-Forwarded-For: 6.6.6.6", "X-Token-Issuer: https://evil.example",
                ])
            #expect(response.status == 200, "body: \(response.bodyText)")
            let requests = await gateway.upstream.waitForRequests(1)
            try #require(requests.count == 1)
            let request = requests[0]

            #expect(request.requestLine == "GET /api/data/ab/c?q=1 HTTP/1.1")
            #expect(request.values("X-User-Id") == ["alice"])
            #expect(request.values("X-User-Scopes") == ["read:data"])
            #expect(request.values("X-User-Roles") == ["analyst"])
            #expect(request.values("X-Token-Issuer") == [E2EFixtures.issuer])
            #expect(request.values("Authorization").isEmpty, "the bearer token must not reach the upstream")
            #expect(request.values("X-Forwarded-For") == ["127.0.0.1"])
            #expect(request.values("X-Forwarded-User").isEmpty)
            // No spelling of an identity header from the client survives (case, `_`, `.`).
            let folded = request.headerNames.map { $0.lowercased().replacingOccurrences(of: "_", with: "-").replacingOccurrences(of: ".", with: "-") }
            for name in Self.identityHeaders.map({ $0.lowercased() }) {
                #expect(folded.filter { $0 == name }.count <= 1, "\(name) sent more than once: \(request.headers ?? [])")
            }
            let allValues = (request.headers ?? []).map { $0[1] }
            for spoofed in ["admin", "admin2", "admin3", "admin4", "admin5", "6.6.6.6", "https://evil.example"] {
                #expect(!allValues.contains(spoofed), "client value \(spoofed) reached the upstream")
            }
            #expect(request.values("X-Request-Id").count == 1)
            #expect(request.values("Host").count == 1)

            let records = await gateway.observer.waitForRecords(1)
            #expect(records.first?.verdict == .allow)
            #expect(records.first?.route == "data")
            #expect(records.first?.subject == "alice")
            #expect(records.first?.path == "/api/data/ab/c")
            #expect(records.first?.status == 200)
        }
    }

    @Test("Python's http.client as a second client: allowed, then denied, on one connection")
    func pythonClient() async throws {
        try await GatewayHarness.with { gateway in
            let token = try gateway.token(sub: "carol", scope: "read:data")
            let allowed = try await PythonClient.request(
                gateway, "/api/data/x", headers: [gateway.bearer(token), "X_User_Id: admin", "x-user-id: admin"],
                repeat: 2)
            #expect(allowed.map(\.status) == [200, 200])
            let echoed = allowed.first?.json?["headers"] as? [[String]] ?? []
            #expect(echoed.filter { $0[0].lowercased() == "x-user-id" }.map { $0[1] } == ["carol"])
            let requests = await gateway.upstream.waitForRequests(2)
            #expect(requests.count == 2)
            #expect(requests.allSatisfy { $0.values("X-User-Id") == ["carol"] && !$0.headerNames.contains("X_User_Id") })

            let mark = gateway.upstream.mark()
            let denied = try await PythonClient.request(gateway, "/api/data/x", headers: ["X-User-Id: admin"])
            #expect(denied.first?.status == 401)
            #expect(denied.first?.header("WWW-Authenticate") == #"Bearer realm="auth-gateway""#)
            #expect(await gateway.upstream.settledEvents(since: mark).isEmpty)
        }
    }

    /// A request the gateway must answer itself.
    struct DeniedCase: Sendable, CustomTestStringConvertible {
        let name: String
        let path: String
        let status: Int
        let challenge: String?
        let code: String
        /// What the access log names as having denied it (`denied_by`).
        var deniedBy: String? = nil
        /// The request's extra header lines, from the harness (tokens need its keys).
        let headers: @Sendable (GatewayHarness) throws -> [String]

        var testDescription: String { name }
    }

    static let deniedCases: [DeniedCase] = [
        DeniedCase(
            name: "no token", path: "/api/data/x", status: 401, challenge: #"Bearer realm="auth-gateway""#,
            code: "token_missing"
        ) { _ in ["X-User-Id: admin"] },
        DeniedCase(
            name: "bad signature", path: "/api/data/x", status: 401,
            challenge: #"Bearer realm="auth-gateway", error="invalid_token""#, code: "token_invalid"
        ) { [try $0.bearer($0.token(key: $0.fixtures.foreignRSAKey))] },
        DeniedCase(
            name: "expired token", path: "/api/data/x", status: 401,
            challenge: #"Bearer realm="auth-gateway", error="invalid_token""#, code: "token_invalid"
        ) { [try $0.bearer($0.token(expiresIn: -3600))] },
        DeniedCase(
            name: "wrong audience", path: "/api/data/x", status: 401,
            challenge: #"Bearer realm="auth-gateway", error="invalid_token""#, code: "token_invalid"
        ) { [try $0.bearer($0.token(aud: "someone-else"))] },
        DeniedCase(
            name: "wrong issuer", path: "/api/data/x", status: 401,
            challenge: #"Bearer realm="auth-gateway", error="invalid_token""#, code: "token_invalid"
        ) { [try $0.bearer($0.token(iss: "https://evil.example"))] },
        DeniedCase(
            name: "missing scope", path: "/api/data/x", status: 403,
            challenge: #"Bearer realm="auth-gateway", error="insufficient_scope", scope="read:data""#,
            code: "insufficient_scope", deniedBy: "scopes all [read:data]"
        ) { [try $0.bearer($0.token(scope: "read:info"))] },
        DeniedCase(
            name: "missing role", path: "/admin/users", status: 403, challenge: nil, code: "missing_role",
            deniedBy: "roles any [admin]"
        ) { [try $0.bearer($0.token(scope: "read:data", roles: ["analyst"]))] },
        DeniedCase(
            name: "no route", path: "/nowhere", status: 404, challenge: nil, code: "no_route"
        ) { [try $0.bearer($0.token())] },
        DeniedCase(
            name: "two Authorization headers", path: "/api/data/x", status: 400,
            challenge: #"Bearer realm="auth-gateway", error="invalid_request""#, code: "invalid_request"
        ) { let token = try $0.token(); return [$0.bearer(token), $0.bearer(token)] },
    ]

    @Test("denied requests are answered by the gateway and the upstream receives nothing", arguments: deniedCases)
    func deniedRequest(_ denied: DeniedCase) async throws {
        try await GatewayHarness.with { gateway in
            let response = try await Curl.request(gateway, denied.path, headers: try denied.headers(gateway))
            #expect(response.status == denied.status, "body: \(response.bodyText)")
            if let challenge = denied.challenge {
                #expect(response.values("WWW-Authenticate") == [challenge])
            } else if denied.status == 403 {
                // A role denial still says why in RFC 6750 terms; the scope list may be absent.
                #expect(response.header("WWW-Authenticate")?.contains(#"error="insufficient_scope""#) == true)
            }
            #expect(response.header("Content-Type") == "application/problem+json")
            #expect(response.json?["code"] as? String == denied.code, "body: \(response.bodyText)")
            #expect(response.json?["status"] as? Int == denied.status)
            #expect(!response.bodyText.contains("eyJ"), "a problem document must never echo a token")
            // Never opened an upstream connection, let alone sent a request.
            let events = await gateway.upstream.settledEvents(since: 0)
            #expect(events.isEmpty, "the upstream saw: \(events.map { $0.event + " " + ($0.requestLine ?? "") })")
            let records = await gateway.observer.waitForRecords(1)
            #expect(records.first?.verdict != .allow)
            #expect(records.first?.status == denied.status)
            // The audit trail names the clause that denied a 403, and who was refused.
            #expect(records.first?.deniedBy == denied.deniedBy)
            if denied.status == 403 {
                #expect(records.first?.subject == "alice" && records.first?.issuer == E2EFixtures.issuer)
            } else if denied.status == 401 {
                // A token that did not verify names nobody: its `sub` and `iss` are the sender's claims.
                #expect(records.first?.subject == nil && records.first?.issuer == nil)
            }
        }
    }

    @Test("an issuer with token_types: a token of another typ is 401 invalid_token and reaches nothing; at+jwt passes")
    func tokenTypes() async throws {
        var options = GatewayHarness.Options()
        options.configure = { $0.issuers[0].tokenTypes = ["at+jwt"] }
        try await GatewayHarness.with(options) { gateway in
            // The harness mints `typ: JWT`: an ID-token-like JWT of the same issuer, signature valid.
            let untyped = try await Curl.request(gateway, "/api/data/x", headers: [gateway.bearer(try gateway.token())])
            #expect(untyped.status == 401, "body: \(untyped.bodyText)")
            #expect(untyped.values("WWW-Authenticate") == [#"Bearer realm="auth-gateway", error="invalid_token""#])
            #expect(untyped.json?["code"] as? String == "token_invalid")
            #expect(await gateway.upstream.settledEvents(since: 0).isEmpty, "a refused typ must reach nothing")
            let denial = await gateway.observer.waitForRecords(1).first
            #expect(denial?.reason == .token(.badType))

            let now = Int64(Date().timeIntervalSince1970)
            let header: [String: JSONValue] = ["alg": "RS256", "kid": "rsa-1", "typ": "application/AT+JWT"]
            let claims: [String: JSONValue] = [
                "iss": .string(E2EFixtures.issuer), "aud": .string(E2EFixtures.audience), "sub": "alice",
                "scope": "read:data", "iat": .int(now), "exp": .int(now + 600),
            ]
            let typed = try JWTSigner.signRaw(
                header: JSONSerializer.bytes(.object(header)), payload: JSONSerializer.bytes(.object(claims)),
                key: gateway.fixtures.rsaKey)
            let allowed = try await Curl.request(gateway, "/api/data/x", headers: [gateway.bearer(typed)])
            #expect(allowed.status == 200, "body: \(allowed.bodyText)")
            #expect(await gateway.upstream.waitForRequests(1).first?.values("X-User-Id") == ["alice"])
        }
    }

    @Test("the upstream is chosen by the route table only: Host, absolute-form targets and jku never reach a canary")
    func canaryNeverTouched() async throws {
        try await GatewayHarness.with { gateway in
            // Killed by its deinit if an expectation throws before the explicit stop.
            let canary = try await Canary.start(in: gateway.directory)
            let token = try gateway.token()
            // A Host naming the canary: still the configured upstream (or refused), never the canary.
            let hosted = try await Curl.request(
                gateway, "/api/data/x", headers: [gateway.bearer(token), "Host: \(canary.hostPort)"])
            #expect([200, 400, 404].contains(hosted.status))
            // An absolute-form target naming the canary, over raw bytes.
            let absolute = try await RawTLSClient.exchange(
                gateway,
                Array("GET http://\(canary.hostPort)/api/data/x HTTP/1.1\r\nHost: \(canary.hostPort)\r\nAuthorization: Bearer \(token)\r\nConnection: close\r\n\r\n".utf8))
            #expect(absolute.statuses.count == 1, "raw response: \(absolute.text)")
            // A token whose header points at the canary for its key: never fetched, and it is not trusted.
            let forged = try JWTSigner.sign(
                claims: ["iss": .string(E2EFixtures.issuer), "sub": "mallory", "scope": "read:data",
                         "aud": .string(E2EFixtures.audience), "exp": .int(Int64(Date().timeIntervalSince1970) + 600)],
                key: try JWSKey.generate(algorithm: .RS256, keyID: "rsa-1"),
                extraHeader: ["jku": .string("http://\(canary.hostPort)/jwks.json"), "x5u": .string("http://\(canary.hostPort)/x5u")])
            let forgedResponse = try await Curl.request(gateway, "/api/data/x", headers: [gateway.bearer(forged)])
            #expect(forgedResponse.status == 401)
            let touches = await canary.touches()
            #expect(touches.isEmpty, "the canary was contacted: \(touches.map { $0.data ?? $0.event })")
            for request in gateway.upstream.requests() {
                #expect(request.values("X-User-Id") == ["alice"])
            }
            await canary.stop()
        }
    }
}
