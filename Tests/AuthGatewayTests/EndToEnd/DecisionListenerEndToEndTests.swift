import Foundation
import Testing
import GatewayConfig
import GatewayAdmission
import GatewayObservability

/// A decision-mode listener asked directly with curl, in each protocol's shape: the answers, the records and
/// the metrics, and that nothing is ever forwarded (the gateway's own upstream stays untouched).
@Suite("End to end: decision listener")
struct DecisionListenerEndToEndTests {
    static func options(
        _ decisionProtocol: DecisionListener.DecisionProtocol, peers: [String] = ["127.0.0.1"], prefix: String = "",
        metrics: GatewayMetrics? = nil
    ) -> GatewayHarness.Options {
        var options = GatewayHarness.Options()
        options.metrics = metrics
        options.configure = { configuration in
            configuration.listeners[0].mode = .decision(DecisionListener(
                protocol: decisionProtocol, trustedPeers: peers.compactMap(PeerAddressRange.init), pathPrefix: prefix))
        }
        return options
    }

    /// nginx's describing headers for `method` and `uri`.
    static func nginx(_ method: String, _ uri: String, host: String = "api.example") -> [String] {
        ["X-Original-Method: \(method)", "X-Original-URI: \(uri)", "X-Original-Host: \(host)", "X-Original-Proto: https"]
    }

    static func expectNothingForwarded(_ gateway: GatewayHarness, sourceLocation: SourceLocation = #_sourceLocation) async {
        let events = await gateway.upstream.settledEvents(since: 0)
        #expect(events.isEmpty, "decision mode forwarded: \(events)", sourceLocation: sourceLocation)
    }

    @Test("nginx shape: allowed, with the identity, its list and the canonical target; recorded as a decision")
    func nginxAllowed() async throws {
        try await GatewayHarness.with(Self.options(.nginxAuthRequest)) { gateway in
            let token = try gateway.token(sub: "alice", scope: "read:data")
            let response = try await Curl.request(
                gateway, "/auth",
                headers: Self.nginx("GET", "/api/data/%61b/./c?q=1") + [
                    gateway.bearer(token), "X-User-Id: admin", "X-User-Roles: admin", "X-Forwarded-User: admin",
                ])
            #expect(response.status == 200)
            #expect(response.body.isEmpty)
            #expect(response.values("X-User-Id") == ["alice"])
            #expect(response.values("X-User-Scopes") == ["read:data"])
            #expect(response.values("X-User-Roles").isEmpty, "the client's roles are never echoed")
            #expect(response.values("X-Token-Issuer") == [E2EFixtures.issuer])
            #expect(response.values("X-Forwarded-User").isEmpty)
            #expect(response.header("X-Auth-Gateway-Identity-Headers") == "X-User-Id, X-User-Scopes, X-Token-Issuer")
            #expect(response.header("X-Auth-Gateway-Target") == "/api/data/ab/c?q=1")
            #expect(response.header("X-Request-Id") != nil)
            let record = try #require(await gateway.observer.waitForRecords(1).first)
            #expect(record.mode == .decision)
            #expect(record.method == "GET")
            #expect(record.path == "/api/data/ab/c")
            #expect(record.route == "data")
            #expect(record.verdict == .allow)
            #expect(record.subject == "alice")
            #expect(record.host == "api.example")
            await Self.expectNothingForwarded(gateway)
        }
    }

    @Test("a route's rate limit counts decisions per subject: RateLimit fields on allows, then 429 with Retry-After as a denial")
    func rateLimited() async throws {
        var options = Self.options(.nginxAuthRequest)
        options.policy = standardPolicy.replacingOccurrences(
            of: "    require:\n      scopes: { all: [\"read:data\"] }\n",
            with: "    require:\n      scopes: { all: [\"read:data\"] }\n    rate_limit: { key: sub, rate: 2/hour }\n")
        #expect(options.policy.contains("rate_limit"), "the policy fixture changed shape")
        try await GatewayHarness.with(options) { gateway in
            let alice = try gateway.token(sub: "alice")
            var statuses: [Int] = []
            var last: ClientResponse?
            for index in 0..<3 {
                let response = try await Curl.request(
                    gateway, "/auth", headers: Self.nginx("GET", "/api/data/\(index)") + [gateway.bearer(alice)])
                statuses.append(response.status)
                if index == 0 { #expect(response.header("RateLimit-Policy") == #""data";q=2;w=3600"#) }
                last = response
            }
            #expect(statuses == [200, 200, 429])
            #expect(last?.header("Retry-After").flatMap(Int.init).map { $0 > 0 } == true)
            #expect(last?.header("X-Auth-Gateway-Code") == "rate_limited")
            #expect(last?.values("X-User-Id").isEmpty == true, "a refusal carries no identity")
            let bob = try await Curl.request(
                gateway, "/auth", headers: Self.nginx("GET", "/api/data/b") + [gateway.bearer(try gateway.token(sub: "bob"))])
            #expect(bob.status == 200, "alice's limit bled into bob's")
            let records = await gateway.observer.waitForRecords(4)
            #expect(records.filter { $0.reason?.code == "rate_limited" }.map(\.subject) == ["alice"])
            await Self.expectNothingForwarded(gateway)
        }
    }

    @Test("nginx shape: denials carry the status, the RFC 6750 challenge, the problem document and its code")
    func nginxDenied() async throws {
        try await GatewayHarness.with(Self.options(.nginxAuthRequest)) { gateway in
            let anonymous = try await Curl.request(gateway, "/auth", headers: Self.nginx("GET", "/api/data/x"))
            #expect(anonymous.status == 401)
            #expect(anonymous.header("WWW-Authenticate") == #"Bearer realm="auth-gateway""#)
            #expect(anonymous.header("X-Auth-Gateway-Code") == "token_missing")
            #expect(anonymous.json?["code"] as? String == "token_missing")
            #expect(anonymous.values("X-User-Id").isEmpty)

            let forged = try gateway.token(key: gateway.fixtures.foreignRSAKey)
            let invalid = try await Curl.request(
                gateway, "/auth", headers: Self.nginx("GET", "/api/data/x") + [gateway.bearer(forged)])
            #expect(invalid.status == 401)
            #expect(invalid.header("WWW-Authenticate")?.contains(#"error="invalid_token""#) == true)

            let reader = try gateway.token(scope: "read:data")
            let forbidden = try await Curl.request(
                gateway, "/auth", headers: Self.nginx("POST", "/upload/x") + [gateway.bearer(reader)])
            #expect(forbidden.status == 403)
            #expect(forbidden.header("WWW-Authenticate")?.contains(#"error="insufficient_scope""#) == true)
            #expect(forbidden.header("WWW-Authenticate")?.contains(#"scope="write:data""#) == true)
            #expect(forbidden.json?["code"] as? String == "insufficient_scope")

            let unrouted = try await Curl.request(gateway, "/auth", headers: Self.nginx("GET", "/nowhere"))
            #expect(unrouted.status == 404)
            let records = await gateway.observer.waitForRecords(4)
            #expect(records.map(\.status) == [401, 401, 403, 404])
            #expect(records.allSatisfy { $0.mode == .decision && $0.verdict == .deny })
            #expect(records.map(\.method) == ["GET", "GET", "POST", "GET"])
            await Self.expectNothingForwarded(gateway)
        }
    }

    @Test(
        "path tricks in the original URI are judged on the canonical path, and unreadable ones denied",
        arguments: [
            ("/public/../admin/x", 403, "/admin/x"), ("/public/%2e%2e/admin/x", 403, "/admin/x"),
            ("/%61dmin/x", 403, "/admin/x"), ("//admin//x", 403, "/admin/x"), ("/./admin/x", 403, "/admin/x"),
            ("/admin%2fx", 400, nil), ("/public/..%2fadmin", 400, nil), ("/admin%5cx", 400, nil),
            ("/admin%00", 400, nil), ("/%zz", 400, nil), ("/public/%c0%af", 400, nil),
        ] as [(String, Int, String?)])
    func pathTricks(uri: String, status: Int, judged: String?) async throws {
        try await GatewayHarness.with(Self.options(.nginxAuthRequest)) { gateway in
            let analyst = try gateway.token(roles: ["analyst"])
            let response = try await Curl.request(gateway, "/auth", headers: Self.nginx("GET", uri) + [gateway.bearer(analyst)])
            #expect(response.status == status, "\(uri): \(response.bodyText)")
            let record = try #require(await gateway.observer.waitForRecords(1).first)
            #expect(record.path == judged ?? "-")
            if status == 400 { #expect(response.json?["code"] as? String == "bad_path") }

            if let judged {
                let admin = try gateway.token(roles: ["admin"])
                let allowed = try await Curl.request(gateway, "/auth", headers: Self.nginx("GET", uri) + [gateway.bearer(admin)])
                #expect(allowed.status == 200)
                #expect(allowed.header("X-Auth-Gateway-Target") == judged)
            }
            await Self.expectNothingForwarded(gateway)
        }
    }

    @Test("a decision request that does not describe one request is refused (400) and the connection kept")
    func unreadableDecisionRequests() async throws {
        try await GatewayHarness.with(Self.options(.nginxAuthRequest)) { gateway in
            let token = try gateway.token()
            let cases: [[String]] = [
                ["X-Original-Method: GET", "X-Original-Host: a"],
                ["X-Original-URI: /api/data/x", "X-Original-Host: a"],
                Self.nginx("GET", "/api/data/x") + ["X-Original-URI: /public/x"],
                Self.nginx("GET", "http://api.example/api/data/x"),
                Self.nginx("G(ET", "/api/data/x"),
            ]
            for headers in cases {
                let response = try await Curl.request(gateway, "/auth", headers: headers + [gateway.bearer(token)])
                #expect(response.status == 400, "\(headers)")
                #expect(response.json?["code"] as? String == "bad_decision_request")
                #expect(response.header("Connection") == nil, "the proxy's connection stays open")
            }
            let records = await gateway.observer.waitForRecords(cases.count)
            #expect(records.allSatisfy { $0.mode == .decision && $0.verdict == .reject })
            await Self.expectNothingForwarded(gateway)
        }
    }

    @Test("a peer outside trusted_peers is refused with 403 untrusted_peer, counted, whatever it sends")
    func untrustedPeer() async throws {
        let metrics = GatewayMetrics()
        try await GatewayHarness.with(Self.options(.forwardAuth, peers: ["10.0.0.0/8", "::1"], metrics: metrics)) { gateway in
            let token = try gateway.token()
            let response = try await Curl.request(
                gateway, "/auth",
                headers: [
                    "X-Forwarded-Method: GET", "X-Forwarded-Uri: /api/data/x", "X-Forwarded-Host: a",
                    "X-Forwarded-For: 10.0.0.1", "X-Real-IP: 10.0.0.1", "Forwarded: for=10.0.0.1", gateway.bearer(token),
                ])
            #expect(response.status == 403)
            #expect(response.json?["code"] as? String == "untrusted_peer")
            #expect(response.values("X-User-Id").isEmpty)
            #expect(response.header("WWW-Authenticate") == nil)
            let record = try #require(await gateway.observer.waitForRecords(1).first)
            #expect(record.reason == .gateway(.untrustedPeer))
            #expect(record.mode == .decision)
            let text = String(decoding: metrics.exposition(), as: UTF8.self)
            #expect(text.contains("gateway_decision_untrusted_peers_total 1"), "\(text)")
            #expect(text.contains(#"gateway_decisions_total{route="none",status="403",decision="reject"} 1"#), "\(text)")
            await Self.expectNothingForwarded(gateway)
        }
    }

    @Test("forward-auth shape (Traefik, Caddy): X-Forwarded-Method, -Uri, -Host describe the request")
    func forwardAuth() async throws {
        try await GatewayHarness.with(Self.options(.forwardAuth)) { gateway in
            let writer = try gateway.token(scope: "write:data")
            let headers = ["X-Forwarded-Method: PUT", "X-Forwarded-Uri: /upload/a?b=c", "X-Forwarded-Host: api.example",
                           "X-Forwarded-Proto: https", gateway.bearer(writer)]
            let allowed = try await Curl.request(gateway, "/verify", headers: headers)
            #expect(allowed.status == 200)
            #expect(allowed.header("X-Auth-Gateway-Target") == "/upload/a?b=c")
            let anonymous = try await Curl.request(gateway, "/verify", headers: Array(headers.dropLast()))
            #expect(anonymous.status == 401)
            #expect(anonymous.header("WWW-Authenticate") == #"Bearer realm="auth-gateway""#)
            let records = await gateway.observer.waitForRecords(2)
            #expect(records.map(\.method) == ["PUT", "PUT"])
            await Self.expectNothingForwarded(gateway)
        }
    }

    @Test("Envoy ext_authz HTTP shape: the original method, the path after path_prefix, the client's headers")
    func envoyExtAuthzHTTP() async throws {
        try await GatewayHarness.with(Self.options(.envoyExtAuthzHTTP, prefix: "/ext-authz")) { gateway in
            let reader = try gateway.token(sub: "bob", scope: "read:data")
            // Envoy's check request: the client's method, path behind the prefix, Host, the allowed headers, and
            // an empty body (content-length: 0).
            let allowed = try await Curl.request(
                gateway, "/ext-authz/api/data/x?y=1", method: "HEAD",
                headers: [
                    "Host: api.example", "Content-Length: 0", gateway.bearer(reader), "X-User-Id: admin",
                    "X-User-Roles: admin", "X_User_Id: admin", "X-Forwarded-User: admin", "X-Forwarded-Proto: https",
                    "X-Envoy-Expected-Rq-Timeout-Ms: 200",
                    // Other gateways' identity headers, on the built-in denylist (docs/HEADER-DENYLIST.md).
                    "X-Auth-Request-User: admin", "OIDC_CLAIM_sub: admin", "Shib-Identity-Provider: https://evil",
                    "X-Userinfo: e30", "X-ID-Token: x.y.z",
                ],
                extra: ["--head"])
            #expect(allowed.status == 200)
            #expect(allowed.values("X-User-Id") == ["bob"])
            #expect(allowed.header("X-Auth-Gateway-Target") == "/api/data/x?y=1")
            // Envoy overwrites the headers the answer sets; every other identity spelling it is told to remove.
            let removed = Set((allowed.header("X-Envoy-Auth-Headers-To-Remove") ?? "").split(separator: ",").map {
                $0.trimmingCharacters(in: .whitespaces)
            })
            #expect(removed == [
                "x-user-roles", "x_user_id", "x-forwarded-user", "x-auth-request-user", "oidc_claim_sub",
                "shib-identity-provider", "x-userinfo", "x-id-token",
            ], "\(removed)")
            #expect(allowed.header("Connection") == nil, "Content-Length: 0 announces no body: the connection stays")

            let denied = try await Curl.request(
                gateway, "/ext-authz/api/data/x", method: "DELETE", headers: ["Host: api.example", gateway.bearer(reader)])
            #expect(denied.status == 405)
            let outside = try await Curl.request(gateway, "/api/data/x", headers: [gateway.bearer(reader)])
            #expect(outside.status == 400)
            #expect(outside.json?["code"] as? String == "bad_decision_request")
            let trick = try await Curl.request(gateway, "/ext-authz/../admin/x", headers: [gateway.bearer(reader)])
            #expect(trick.status == 403, "the prefix is stripped first, then the rest canonicalized: /../admin/x → /admin/x")
            let records = await gateway.observer.waitForRecords(4)
            #expect(records.map(\.method) == ["HEAD", "DELETE", "GET", "GET"])
            #expect(records.map(\.status) == [200, 405, 400, 403])
            await Self.expectNothingForwarded(gateway)
        }
    }

    @Test("decision mode over HTTP/2 answers the same")
    func http2() async throws {
        try await GatewayHarness.with(Self.options(.nginxAuthRequest)) { gateway in
            let token = try gateway.token()
            let allowed = try await Curl.request(
                gateway, "/auth", headers: Self.nginx("GET", "/api/data/x") + [gateway.bearer(token)], http2: true)
            #expect(allowed.httpVersion == "2")
            #expect(allowed.status == 200)
            #expect(allowed.values("x-user-id") == ["alice"])
            let denied = try await Curl.request(gateway, "/auth", headers: Self.nginx("GET", "/api/data/x"), http2: true)
            #expect(denied.status == 401)
            await Self.expectNothingForwarded(gateway)
        }
    }
}
