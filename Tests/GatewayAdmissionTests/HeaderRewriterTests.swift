import Foundation
import GatewayConfig
import GatewayPolicy
import JOSE
import NIOHTTP1
import TestSupport
import Testing

@testable import GatewayAdmission

/// The headers an upstream receives, as plain values: what the client may not assert never survives (hop-by-hop
/// and `Connection`-named headers, the identity namespace in every spelling, the denylist, forwarding and trace
/// headers, `Authorization` unless forwarded, framing headers), and what the gateway vouches for (`Host`,
/// `X-Forwarded-*`, `X-Request-Id`, `traceparent`, the body framing, the policy's identity headers) appears
/// exactly once, with the gateway's value, in a fixed order.
@Suite("Header rewriter")
struct HeaderRewriterTests {
    static let yaml = """
        routes:
          - name: api
            match: { methods: [GET, POST], path: /api/** }
            upstream: a
            identity_headers: { X-User-Id: sub, X-Tenant: tenant }
          - name: defaults
            match: { methods: [GET], path: /defaults/** }
            upstream: a
          - name: pass
            match: { methods: [GET], path: /pass/** }
            upstream: a
            forward_authorization: true
            identity_headers: { X-User-Id: sub }
          - name: open
            match: { methods: [GET, POST], path: /open/** }
            upstream: a
            auth: public
          - name: listed
            match: { methods: [GET, POST], path: /listed/** }
            upstream: a
            forward_headers: [Content-Type, accept]
            identity_headers: { X-User-Id: sub }
          - name: closed
            match: { methods: [GET], path: /closed/** }
            upstream: a
            forward_authorization: true
            forward_headers: []
            identity_headers: { X-User-Id: sub }
        """

    static let host = "api.example.com"
    static let clientAddress = "198.51.100.7"
    static let requestID = RequestID(high: 0x0123_4567_89AB_CDEF, low: 0xFEDC_BA98_7654_3210)
    static let requestIDText = "0123456789abcdeffedcba9876543210"
    /// `00-<id>-<low ^ 0x9E3779B97F4A7C15>-01`, written out.
    static let traceparent = "00-0123456789abcdeffedcba9876543210-60ebc321091e4e05-01"
    static let claims: [String: JSONValue] = [
        "iss": "https://idp.example", "sub": "alice", "tenant": "acme", "scope": "read write",
        "roles": .array([.string("admin"), .string("ops")]),
    ]

    let policy: Policy

    init() throws {
        policy = try PolicyFixtures.policy(Self.yaml)
    }

    func route(_ name: String) throws -> Route {
        try #require(policy.routes.first { $0.name == name })
    }

    /// The upstream headers for `client` on route `name`, as `name: value` lines. A protected route is
    /// authorized with `claims` first and its identity headers are the policy's decision.
    func rewrite(
        _ client: [(String, String)], route name: String, claims: [String: JSONValue] = Self.claims,
        host: String = Self.host, framing: RequestGuard.BodyFraming = .none,
        identity: GatewayConfiguration.Identity = .init()
    ) throws -> [String] {
        let route = try route(name)
        guard case .allow(_, let identityHeaders) = policy.authorize(route, claims: claims) else {
            Issue.record("the policy does not allow route \(name) for the claims")
            return []
        }
        let filter = ClientHeaderFilter(identity: identity, policyHeaders: policy.identityHeaderNames)
        let headers = HeaderRewriter(filter: filter).upstreamHeaders(
            from: HTTPHeaders(client), route: route, identity: identityHeaders, host: host,
            client: ClientConnection(address: Self.clientAddress, isHTTP2: false), requestID: Self.requestID,
            framing: framing)
        return headers.map { "\($0.name): \($0.value)" }
    }

    /// What the gateway adds after the client's headers and the framing, before identity headers.
    static func gatewayHeaders(host: String = host) -> [String] {
        [
            "x-forwarded-for: \(clientAddress)", "x-forwarded-proto: https", "x-forwarded-host: \(host)",
            "x-request-id: \(requestIDText)", "traceparent: \(traceparent)",
        ]
    }

    // MARK: - Order and pass-through

    @Test("a plain request keeps the client's end-to-end headers, in order, between Host and the gateway's own")
    func plainRequest() throws {
        let headers = try rewrite(
            [("Host", Self.host), ("Accept", "*/*"), ("User-Agent", "curl/8"), ("Cookie", "a=1"), ("Cookie", "b=2")],
            route: "open")
        #expect(headers == ["host: \(Self.host)", "Accept: */*", "User-Agent: curl/8", "Cookie: a=1", "Cookie: b=2"]
            + Self.gatewayHeaders())
    }

    // MARK: - Hop-by-hop

    @Test("hop-by-hop headers are dropped, in any case")
    func hopByHop() throws {
        let headers = try rewrite(
            [
                ("Host", Self.host), ("Connection", "keep-alive"), ("Keep-Alive", "timeout=5"),
                ("Proxy-Connection", "keep-alive"), ("TE", "trailers"), ("Trailer", "X-Checksum"),
                ("UPGRADE", "websocket"), ("Proxy-Authorization", "Basic YTpi"), ("Proxy-Authenticate", "Basic"),
                ("HTTP2-Settings", "AAMAAABkAAQAAP__"), ("Expect", "100-continue"), ("Accept", "*/*"),
            ],
            route: "open")
        #expect(headers == ["host: \(Self.host)", "Accept: */*"] + Self.gatewayHeaders())
    }

    @Test("every header the client's Connection names is dropped, in any spelling, from every Connection header")
    func connectionNamed() throws {
        let headers = try rewrite(
            [
                ("Host", Self.host), ("Connection", "close, X-Debug-Token ,\tx_secret"), ("connection", "Cookie"),
                ("X-Debug-Token", "1"), ("x-debug-token", "2"), ("X-Secret", "s"), ("X.SECRET", "t"), ("Cookie", "a=1"),
                ("X-Debug-Token-2", "kept"), ("Accept", "*/*"),
            ],
            route: "open")
        #expect(headers == ["host: \(Self.host)", "X-Debug-Token-2: kept", "Accept: */*"] + Self.gatewayHeaders())
    }

    @Test("Connection naming Host, the forwarding headers or an identity header does not remove the gateway's")
    func connectionCannotRemoveGatewayHeaders() throws {
        let headers = try rewrite(
            [
                ("Host", Self.host),
                ("Connection", "host, x-forwarded-for, X-Request-Id, traceparent, X-User-Id, x-tenant, content-length"),
                ("Content-Length", "5"),
            ],
            route: "api", framing: .contentLength(5))
        #expect(headers == ["host: \(Self.host)", "content-length: 5"] + Self.gatewayHeaders()
            + ["X-User-Id: alice", "X-Tenant: acme"])
    }

    @Test("an Authorization the client's Connection names is dropped even on a route that forwards it")
    func connectionNamesAuthorization() throws {
        let headers = try rewrite(
            [("Host", Self.host), ("Connection", "Authorization"), ("Authorization", "Bearer abc.def.ghi")],
            route: "pass")
        #expect(headers == ["host: \(Self.host)"] + Self.gatewayHeaders() + ["X-User-Id: alice"])
    }

    // MARK: - Identity namespace and denylist

    @Test(
        "the configured identity namespace is stripped in every spelling: case, `_` and `.` for `-`",
        arguments: [
            // identity.strip_prefixes (default: X-User-, X-Auth-Request-, X-Token-)
            "X-User-Id", "x-user-id", "X_User_Id", "x.user.email", "X-USER-ROLES", "x_user_", "X-Auth-Request-User",
            "x_auth_request_email", "X-Token-Issuer", "X.TOKEN.SCOPES",
            // identity.strip_headers (default: X-Forwarded-User, X-Remote-User, Remote-User, X-Authenticated-User)
            "X-Forwarded-User", "x_forwarded_user", "X-REMOTE-USER", "remote_user", "Remote.User",
            "x-authenticated-user",
            // a header a policy sets (X-Tenant), which no configured prefix covers
            "X-Tenant", "x_tenant", "X.TENANT",
        ])
    func identityNamespace(_ name: String) throws {
        for route in ["api", "open"] {
            let headers = try rewrite([("Host", Self.host), (name, "mallory"), ("Accept", "*/*")], route: route)
            let identity = route == "api" ? ["X-User-Id: alice", "X-Tenant: acme"] : []
            #expect(headers == ["host: \(Self.host)", "Accept: */*"] + Self.gatewayHeaders() + identity, "\(route)")
        }
    }

    @Test("strip_prefixes and strip_headers of the configuration are what is stripped, not a fixed list")
    func configuredIdentitySettings() throws {
        var identity = GatewayConfiguration.Identity()
        identity.stripPrefixes = ["X-Acme-"]
        identity.stripHeaders = ["X-Employee"]
        let client = [
            ("Host", Self.host), ("X-Acme-Role", "admin"), ("x_acme_level", "9"), ("X.ACME.Team", "red"),
            ("X-Employee", "e1"), ("x_employee", "e2"), ("X-Employees", "kept"), ("X-Acme", "kept"),
        ]
        let custom = try rewrite(client, route: "open", identity: identity)
        #expect(custom == ["host: \(Self.host)", "X-Employees: kept", "X-Acme: kept"] + Self.gatewayHeaders())
        // The default settings do not cover these names.
        let defaults = try rewrite(client, route: "open")
        #expect(defaults == ["host: \(Self.host)", "X-Acme-Role: admin", "x_acme_level: 9", "X.ACME.Team: red",
            "X-Employee: e1", "x_employee: e2", "X-Employees: kept", "X-Acme: kept"] + Self.gatewayHeaders())
    }

    @Test("the maintained denylist is stripped on a public route too, in every spelling")
    func denylistOnPublicRoute() throws {
        let denied = [
            "X-Real-IP", "Forwarded", "X-Original-URL", "x_original_method", "X-HTTP-Method-Override",
            "X_HTTP_Method", "True-Client-IP", "CF-Connecting-IP", "X-Envoy-Internal", "Client-Cert", "X-Remote-Group",
            "remote_groups", "X-Forwarded-Prefix", "X.Forwarded.Port", "X-Amzn-Oidc-Identity", "SM_USER",
            "X-Rewrite-URL", "l5d-dst-override", "Tracestate",
        ]
        let headers = try rewrite(
            [("Host", Self.host)] + denied.map { ($0, "spoofed") } + [("Accept", "*/*")], route: "open")
        #expect(headers == ["host: \(Self.host)", "Accept: */*"] + Self.gatewayHeaders())
    }

    /// Every entry of the maintained denylist (docs/HEADER-DENYLIST.md), in four spellings, with an operator's
    /// `identity` lists emptied: the denylist does not depend on the configuration, and no entry is inert.
    @Test("every denylisted name and namespace is stripped in every spelling, whatever identity.strip_* say")
    func wholeDenylistWithoutConfiguration() throws {
        var none = GatewayConfiguration.Identity()
        none.stripPrefixes = []
        none.stripHeaders = []
        let filter = ClientHeaderFilter(identity: none, policyHeaders: [])
        let names = ClientHeaderDenylist.managed + ClientHeaderDenylist.names + ClientHeaderDenylist.prefixes.map { $0 + "x" }
        for name in names {
            let titled = name.split(separator: "-", omittingEmptySubsequences: false).map { $0.capitalized }.joined(separator: "-")
            for spelling in [name, name.uppercased(), titled.replacingOccurrences(of: "-", with: "_"),
                             titled.replacingOccurrences(of: "-", with: ".")] {
                #expect(filter.strips(spelling), "\(spelling) passes")
            }
        }
        // Names next to the list still pass: prefixes end where they say, exact names are exact.
        for kept in ["X-Auth-Token", "X-Client-Trace-Id", "X-Amzn-Trace-Id", "X-Hosts", "Shibboleth", "X-Userinfos",
                     "X-Ms-Client-Request-Id", "Accept", "Cookie", "Oidc-Claims"] {
            #expect(!filter.strips(kept), "\(kept) is stripped")
        }
    }

    // MARK: - What the gateway vouches for

    @Test("X-Forwarded-For/-Proto/-Host, X-Request-Id and traceparent are the gateway's, exactly once each")
    func forwardingAndTraceHeaders() throws {
        let headers = try rewrite(
            [
                ("Host", Self.host), ("X-Forwarded-For", "10.0.0.1"), ("x_forwarded_for", "10.0.0.2"),
                ("X-Forwarded-Proto", "http"), ("X.Forwarded.Host", "evil.example"), ("X-Request-Id", "client-id"),
                ("x_request_id", "client-id-2"), ("Traceparent", "00-11111111111111111111111111111111-2222222222222222-01"),
                ("TRACESTATE", "vendor=1"),
            ],
            route: "api")
        #expect(headers == ["host: \(Self.host)"] + Self.gatewayHeaders() + ["X-User-Id: alice", "X-Tenant: acme"])
    }

    @Test("Host is the validated host, once and first, whatever Host the client's headers carry")
    func host() throws {
        let headers = try rewrite(
            [("hOsT", "evil.example"), ("Accept", "*/*")], route: "open", host: "api.example.com:8443")
        #expect(headers == ["host: api.example.com:8443", "Accept: */*"]
            + Self.gatewayHeaders(host: "api.example.com:8443"))
    }

    @Test("Authorization is dropped, in any case, on a route that does not forward it")
    func authorizationDropped() throws {
        for route in ["api", "open", "listed"] {
            let headers = try rewrite(
                [("Host", Self.host), ("AUTHORIZATION", "Bearer abc.def.ghi")], route: route)
            let identity = route == "open" ? [] : route == "api" ? ["X-User-Id: alice", "X-Tenant: acme"] : ["X-User-Id: alice"]
            #expect(headers == ["host: \(Self.host)"] + Self.gatewayHeaders() + identity, "\(route)")
        }
    }

    @Test("a route that forwards Authorization sends the client's, exactly once, as written; Proxy-Authorization never")
    func authorizationForwarded() throws {
        let headers = try rewrite(
            [("Host", Self.host), ("authorization", "Bearer abc.def.ghi"), ("Proxy-Authorization", "Basic YTpi")],
            route: "pass")
        #expect(headers == ["host: \(Self.host)", "authorization: Bearer abc.def.ghi"] + Self.gatewayHeaders()
            + ["X-User-Id: alice"])
    }

    @Test("identity headers are the policy's decision for the claims, after the gateway's headers, replacing the client's")
    func identityHeaders() throws {
        let api = try rewrite(
            [("Host", Self.host), ("X-User-Id", "mallory"), ("X-Tenant", "evil")], route: "api")
        #expect(api == ["host: \(Self.host)"] + Self.gatewayHeaders() + ["X-User-Id: alice", "X-Tenant: acme"])
        // A route without `identity_headers` sends the default four.
        let defaults = try rewrite([("Host", Self.host), ("X-User-Roles", "root")], route: "defaults")
        #expect(defaults == ["host: \(Self.host)"] + Self.gatewayHeaders() + [
            "X-User-Id: alice", "X-User-Scopes: read, write", "X-User-Roles: admin, ops",
            "X-Token-Issuer: https://idp.example",
        ])
    }

    // MARK: - Framing

    @Test("no body: no framing header, whatever the client declared")
    func framingNone() throws {
        let headers = try rewrite(
            [("Host", Self.host), ("Content-Length", "0"), ("Accept", "*/*")], route: "open", framing: .none)
        #expect(headers == ["host: \(Self.host)", "Accept: */*"] + Self.gatewayHeaders())
    }

    @Test("a Content-Length body: exactly the accepted length, as the gateway writes it")
    func framingContentLength() throws {
        let headers = try rewrite(
            [("Host", Self.host), ("CONTENT-LENGTH", "00005"), ("Content-Type", "text/plain")], route: "open",
            framing: .contentLength(5))
        #expect(headers == ["host: \(Self.host)", "Content-Type: text/plain", "content-length: 5"]
            + Self.gatewayHeaders())
    }

    @Test("a streamed body: exactly one Transfer-Encoding: chunked, from HTTP/1.1 chunked or HTTP/2 DATA")
    func framingStreamed() throws {
        let chunked = try rewrite(
            [("Host", Self.host), ("Transfer-Encoding", "chunked"), ("Content-Type", "text/plain")], route: "open",
            framing: .streamed)
        #expect(chunked == ["host: \(Self.host)", "Content-Type: text/plain", "transfer-encoding: chunked"]
            + Self.gatewayHeaders())
        let http2 = try rewrite([("Host", Self.host)], route: "open", framing: .streamed)
        #expect(http2 == ["host: \(Self.host)", "transfer-encoding: chunked"] + Self.gatewayHeaders())
    }

    @Test("framing headers in another spelling (`_`, `.`) never reach the upstream next to the gateway's framing")
    func framingSpellings() throws {
        let length = try rewrite(
            [
                ("Host", Self.host), ("Content-Length", "5"), ("Content_Length", "7"), ("Transfer_Encoding", "chunked"),
                ("Accept", "*/*"),
            ],
            route: "open", framing: .contentLength(5))
        #expect(length == ["host: \(Self.host)", "Accept: */*", "content-length: 5"] + Self.gatewayHeaders())
        let streamed = try rewrite(
            [("Host", Self.host), ("Transfer-Encoding", "chunked"), ("content.length", "7"), ("Accept", "*/*")],
            route: "open", framing: .streamed)
        #expect(streamed == ["host: \(Self.host)", "Accept: */*", "transfer-encoding: chunked"] + Self.gatewayHeaders())
    }

    // MARK: - forward_headers

    @Test("forward_headers: only the listed names pass (case-insensitive, no `_` spelling); the gateway's own stay")
    func allowlist() throws {
        let headers = try rewrite(
            [
                ("Host", Self.host), ("Content-Type", "application/json"), ("ACCEPT", "*/*"), ("Accept-Language", "en"),
                ("Cookie", "a=1"), ("Content_Type", "text/evil"), ("X-Custom", "1"), ("Authorization", "Bearer a.b.c"),
                ("Content-Length", "2"), ("X-User-Id", "mallory"),
            ],
            route: "listed", framing: .contentLength(2))
        #expect(headers == ["host: \(Self.host)", "Content-Type: application/json", "ACCEPT: */*", "content-length: 2"]
            + Self.gatewayHeaders() + ["X-User-Id: alice"])
    }

    @Test("forward_headers: [] forwards no client header; a forwarded Authorization and the gateway's headers remain")
    func emptyAllowlist() throws {
        let headers = try rewrite(
            [("Host", Self.host), ("Accept", "*/*"), ("Cookie", "a=1"), ("Authorization", "Bearer a.b.c")],
            route: "closed")
        #expect(headers == ["host: \(Self.host)", "Authorization: Bearer a.b.c"] + Self.gatewayHeaders()
            + ["X-User-Id: alice"])
    }
}
