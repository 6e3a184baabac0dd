import Foundation
import JOSE
import Testing
import GatewayPolicy

/// the attack catalogue "Identity headers": whatever a client says about who it is, where it comes from or what the
/// gateway decided never reaches the upstream; the gateway's own values are the only ones. Every spoofed value
/// carries the marker `SPOOF`, so the oracle is simple: no header line the upstream received contains it.
@Suite("Attacks: identity headers", .serialized, .attackGateway())
struct IdentityHeaderAttackTests {
    typealias Challenge = AttackGateway.Challenge

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let origin: AttackOrigin
        var target = "/api/data/identity"
        /// Extra header lines (the valid token of `alice` is added unless `token` says otherwise).
        var headers: [String] = []
        /// The token's claims, changed from alice's defaults; `nil`: no token at all.
        var claims: [String: JSONValue?]? = [:]
        var status = 200
        var challenge: Challenge?
        /// The problem document's code of a denied case.
        var code = "claim_unencodable"
        /// Exact values the upstream must receive for these headers (the gateway's own).
        var expected: [String: [String]] = [:]
        /// Headers the upstream must not receive at all (compared case-insensitively with `_`/`.` as `-`).
        var absent: [String] = []

        var testDescription: String { name }

        static func spoof(_ name: String, _ origin: AttackOrigin, _ headers: [String], absent: [String] = [], expected: [String: [String]] = [:]) -> Case {
            Case(name: name, origin: origin, headers: headers, expected: expected, absent: absent)
        }

        static func spoof(_ name: String, _ headers: [String], absent: [String] = [], expected: [String: [String]] = [:]) -> Case {
            spoof(name, .attacksMD, headers, absent: absent, expected: expected)
        }

        static func unencodable(_ name: String, _ origin: AttackOrigin, _ claims: [String: JSONValue?]) -> Case {
            Case(name: name, origin: origin, claims: claims, status: 401, challenge: .invalidToken)
        }

        static func unencodable(_ name: String, _ claims: [String: JSONValue?]) -> Case {
            unencodable(name, .attacksMD, claims)
        }

        /// A token without a value for a required identity header: 401 `claim_missing`, nothing upstream.
        static func missing(_ name: String, _ origin: AttackOrigin, _ claims: [String: JSONValue?], headers: [String] = []) -> Case {
            Case(name: name, origin: origin, headers: headers, claims: claims, status: 401, challenge: .invalidToken,
                 code: "claim_missing")
        }
    }

    /// What the gateway vouches for on every allowed request of alice (scope read:data, no roles).
    static let gatewayIdentity: [String: [String]] = [
        "X-User-Id": ["alice"], "X-User-Scopes": ["read:data"], "X-Token-Issuer": [E2EFixtures.issuer],
        "X-Forwarded-For": ["127.0.0.1"], "X-Forwarded-Proto": ["https"], "X-Forwarded-Host": ["localhost"],
    ]

    static let fromAttacksMD: [Case] = [
        .spoof("X-User-Id: SPOOF", ["X-User-Id: SPOOF-admin"]),
        .spoof("x-user-id in lower case", ["x-user-id: SPOOF-admin"]),
        .spoof("X-USER-ID in upper case", ["X-USER-ID: SPOOF-admin"]),
        .spoof("x-UsEr-iD in mixed case", ["x-UsEr-iD: SPOOF-admin"]),
        .spoof("X_User_Id with underscores", ["X_User_Id: SPOOF-admin"]),
        .spoof("X.User.Id with dots", ["X.User.Id: SPOOF-admin"]),
        .spoof("two copies of X-User-Id", ["X-User-Id: SPOOF-1", "X-User-Id: SPOOF-2"]),
        .spoof("X-User-Id as a list value", ["X-User-Id: SPOOF-admin, SPOOF-root"]),
        .spoof("X-User-Roles: admin (no roles in the token)", ["X-User-Roles: SPOOF-admin"], absent: ["X-User-Roles"]),
        .spoof("X-Forwarded-User", ["X-Forwarded-User: SPOOF"], absent: ["X-Forwarded-User"]),
        .spoof("X-Remote-User", ["X-Remote-User: SPOOF"], absent: ["X-Remote-User"]),
        .spoof("Remote-User", ["Remote-User: SPOOF"], absent: ["Remote-User"]),
        .spoof("X-Auth-Request-User and -Email", ["X-Auth-Request-User: SPOOF", "X-Auth-Request-Email: SPOOF@example.com"],
               absent: ["X-Auth-Request-User", "X-Auth-Request-Email"]),
        .spoof("X-Forwarded-For", ["X-Forwarded-For: SPOOF-6.6.6.6"]),
        .spoof("Forwarded", ["Forwarded: for=SPOOF;proto=http;host=SPOOF"], absent: ["Forwarded"]),
        .spoof("X-Real-IP", ["X-Real-IP: SPOOF-6.6.6.6"], absent: ["X-Real-IP"]),
        .spoof("X-Forwarded-Host", ["X-Forwarded-Host: SPOOF.example"]),
        .spoof("X-Forwarded-Proto", ["X-Forwarded-Proto: SPOOF-http"]),
        .unencodable("claim value with CR", ["sub": "alice\rX-User-Id: admin"]),
        .unencodable("claim value with LF", ["sub": "alice\nX-User-Id: admin"]),
        .unencodable("claim value with CRLF", ["sub": "alice\r\nX-User-Id: admin"]),
        .unencodable("claim value with NUL", ["sub": "alice\u{0}admin"]),
        .unencodable("claim value with a comma", ["sub": "alice, admin"]),
        .unencodable("role with a comma (list separator)", ["roles": ["analyst,admin"]]),
    ]

    static let own: [Case] = [
        // CVE-2024-45410 (Traefik), hop-by-hop abuse (Davison 2019): a client may not make the gateway drop its
        // own forwarding or identity headers by naming them in Connection.
        .spoof("Connection naming X-Forwarded-For", .own("CVE-2024-45410, RFC 9110 §7.6.1"), ["Connection: keep-alive, X-Forwarded-For"]),
        .spoof("Connection naming X-User-Id", .own("RFC 9110 §7.6.1, hop-by-hop abuse"), ["Connection: X-User-Id, X-Token-Issuer", "X-User-Id: SPOOF"]),
        .spoof("Connection naming Host", .own("RFC 9110 §7.6.1, hop-by-hop abuse"), ["Connection: keep-alive, Host"],
               expected: ["Host": ["localhost"]]),
        .spoof("Connection naming X-Request-Id and traceparent", .own("RFC 9110 §7.6.1"),
               ["Connection: X-Request-Id, traceparent", "X-Request-Id: SPOOF", "traceparent: 00-SPOOF-01"]),
        // Method override headers let an upstream run another method than the one the policy authorized
        // (Express method-override, ASP.NET X-HTTP-Method, Symfony _method; OWASP WSTG-CONF-06).
        .spoof("X-HTTP-Method-Override: DELETE on a GET route", .own("OWASP WSTG-CONF-06"), ["X-HTTP-Method-Override: DELETE"],
               absent: ["X-HTTP-Method-Override"]),
        .spoof("X-HTTP-Method and X-Method-Override", .own("OWASP WSTG-CONF-06"), ["X-HTTP-Method: DELETE", "X-Method-Override: PUT"],
               absent: ["X-HTTP-Method", "X-Method-Override"]),
        // URL override headers: the upstream routes on them instead of the request line.
        .spoof("X-Original-URL pointing at /admin", .own("CVE-2018-14773 (Symfony), IIS URL Rewrite"), ["X-Original-URL: /admin/SPOOF"],
               absent: ["X-Original-URL"]),
        .spoof("X-Rewrite-URL pointing at /admin", .own("CVE-2018-14773 (Symfony/Zend)"), ["X-Rewrite-URL: /admin/SPOOF"],
               absent: ["X-Rewrite-URL"]),
        .spoof("X-Forwarded-Prefix", .own("Spring ForwardedHeaderFilter, CVE-2020-5398-class"), ["X-Forwarded-Prefix: /SPOOF"],
               absent: ["X-Forwarded-Prefix"]),
        // Other X-Forwarded-* that forward-auth proxies and frameworks trust (Traefik X-Forwarded-Uri/-Method,
        // Rails X-Forwarded-Scheme, Apache X-Forwarded-Server).
        .spoof("X-Forwarded-Uri, -Method, -Scheme, -Server, -Port, -Ssl", .own("Traefik forwardAuth, Rails, RFC 7239 §1"),
               ["X-Forwarded-Uri: /admin/SPOOF", "X-Forwarded-Method: SPOOF", "X-Forwarded-Scheme: SPOOF", "X-Forwarded-Server: SPOOF",
                "X-Forwarded-Port: 1SPOOF", "X-Forwarded-Ssl: SPOOF"],
               absent: ["X-Forwarded-Uri", "X-Forwarded-Method", "X-Forwarded-Scheme", "X-Forwarded-Server", "X-Forwarded-Port", "X-Forwarded-Ssl"]),
        // Client-IP headers CDNs and load balancers set, which upstream allow-lists trust.
        .spoof("True-Client-IP, CF-Connecting-IP, X-Client-IP, X-Cluster-Client-IP, X-Originating-IP, Client-IP",
               .own("Akamai/Cloudflare client-IP headers; IP allow-list bypasses (CWE-290)"),
               ["True-Client-IP: SPOOF", "CF-Connecting-IP: SPOOF", "X-Client-IP: SPOOF", "X-Cluster-Client-IP: SPOOF",
                "X-Originating-IP: SPOOF", "Client-IP: SPOOF"],
               absent: ["True-Client-IP", "CF-Connecting-IP", "X-Client-IP", "X-Cluster-Client-IP", "X-Originating-IP", "Client-IP"]),
        .spoof("X_Real_IP and X.Forwarded.For spellings", .own("CWE-290; nginx underscores_in_headers, WSGI/CGI name folding"),
               ["X_Real_IP: SPOOF", "X.Forwarded.For: SPOOF", "x_forwarded_proto: SPOOF"], absent: ["X-Real-IP"]),
        .spoof("Proxy-Authorization", .own("RFC 9110 §11.7.2 (hop-by-hop credentials)"), ["Proxy-Authorization: Basic SPOOF"],
               absent: ["Proxy-Authorization"]),
        .spoof("TE: trailers and Trailer", .own("RFC 9110 §10.1.4, §6.6.2 (hop-by-hop)"), ["TE: trailers", "Trailer: X-User-Id"],
               absent: ["TE", "Trailer"]),
        .spoof("X-Request-Id and traceparent from the client", .own("W3C Trace Context §3; log forging (CWE-117)"),
               ["X-Request-Id: SPOOF", "traceparent: 00-SPOOF-SPOOF-01", "tracestate: SPOOF"], absent: ["tracestate"]),
        .spoof("X-Token-Issuer and X-User-Scopes", .own("POLICY.md identity namespace"),
               ["X-Token-Issuer: https://SPOOF.example", "X-User-Scopes: SPOOF admin"]),
        .spoof("Authorization is not forwarded", .own("RFC 6750 §5.3 (token leakage)"), [], absent: ["Authorization"]),
        Case(name: "public route: client identity headers stripped, none injected", origin: .own("POLICY.md: public routes send no identity"),
             target: "/public/identity", headers: ["X-User-Id: SPOOF", "X-Forwarded-User: SPOOF"], claims: nil,
             expected: ["X-Forwarded-For": ["127.0.0.1"]], absent: ["X-User-Id", "X-User-Scopes", "X-Token-Issuer", "X-Forwarded-User"]),
        Case(name: "Authorization forwarded only on a forward_authorization route, once", origin: .own("POLICY.md forward_authorization"),
             target: "/forwarding/x", headers: ["X-User-Id: SPOOF"],
             expected: ["X-User-Id": ["alice"]]),
        .unencodable("claim value with non-ASCII text", .own("RFC 9110 §5.5 (field values are visible ASCII)"), ["sub": "älice"]),
        .unencodable("claim value with a leading space", .own("RFC 9110 §5.5 (no leading or trailing whitespace)"), ["sub": " admin"]),
        .unencodable("claim value with a tab", .own("RFC 9110 §5.5"), ["sub": "alice\tadmin"]),
        .unencodable("claim value with DEL", .own("RFC 9110 §5.5"), ["sub": "alice\u{7F}"]),
        .unencodable("scope with CRLF", .own("RFC 9110 §5.5"), ["scope": "read:data evil\r\nX-User-Id:admin"]),
        .unencodable("roles as a nested array", .own("POLICY.md encoding"), ["roles": [["admin"]]]),
        .unencodable("sub as an object", .own("POLICY.md encoding"), ["sub": ["id": "admin"]]),
        .unencodable("sub as a fraction", .own("POLICY.md encoding"), ["sub": .double(1.5)]),
        // A token without a subject (RFC 9068 §2.2 makes `sub` required): the upstream would get no X-User-Id and
        // might fall back to an anonymous or default identity.
        .missing("empty sub: denied, never a client's X-User-Id", .own("RFC 9068 §2.2"), ["sub": ""], headers: ["X-User-Id: SPOOF"]),
        .missing("no sub at all: denied", .own("RFC 9068 §2.2"), ["sub": nil], headers: ["X-User-Id: SPOOF"]),
        .missing("null sub: denied", .own("RFC 9068 §2.2"), ["sub": .null]),
        // A list element is a token: a separator inside one would make an upstream parser see extra values.
        .unencodable("semicolon in a role: denied", .own("RFC 9110 §5.6.1; parsers that split on ';'"), ["roles": ["analyst;admin"]]),
        .unencodable("space in a role: denied (\"user admin\" would be two roles)", .own("issue: list separators"),
                     ["roles": ["user admin"]]),
        .unencodable("roles as a string: denied (\"viewer admin\" would read as two roles the policy never granted)",
                     .own("review: roles claim type"), ["roles": "viewer admin"]),
        .unencodable("quote in a role: denied", .own("RFC 8941 §3.3.3 (quoted strings)"), ["roles": ["\"admin\""]]),
        .unencodable("space inside an scp element: denied", .own("issue: list separators"), ["scp": ["read:data admin"]]),
        // Issue 11 audit: the other separators and escapes list parsers know, in roles and in scopes.
        .unencodable("backslash in a role: denied", .own("RFC 8941 §3.3.3 (escapes); RFC 9110 §5.6.4"), ["roles": ["admin\\"]]),
        .unencodable("tab inside a role: denied", .own("RFC 9110 §5.6.3 (OWS); parsers that split on white space"), ["roles": ["user\tadmin"]]),
        .unencodable("parentheses and = in a role: denied", .own("RFC 9110 §5.6.2 (delimiters)"), ["roles": ["a=b(admin)"]]),
        .unencodable("semicolon inside a granted scope list: denied", .own("RFC 9110 §5.6.1; parsers that split on ';'"),
                     ["scope": "read:data admin;root"]),
        .unencodable("quoted scope: denied", .own("RFC 8941 §3.3.3"), ["scope": "read:data \"admin\""]),
        .unencodable("comma inside an scp element: denied", .own("RFC 9110 §5.6.1"), ["scp": ["read:data", "admin,root"]]),
        .unencodable("sub as an array: denied, never X-User-Id: alice, admin", .own("RFC 7519 §4.1.2 (sub is one StringOrURI)"),
                     ["sub": ["alice", "admin"]]),
    ]

    static let allCases = fromAttacksMD + own

    @Test("spoofed identity", arguments: allCases)
    func identity(_ attack: Case) async throws {
        let shared = try AttackGateway.shared()
        let marks = shared.begin()
        let forge = TokenForge(gateway: shared.gateway)
        var lines = attack.headers
        var token: String?
        if let changes = attack.claims {
            token = try forge.signed(sub: "alice", claims: changes)
            lines.insert("Authorization: Bearer " + token!, at: 0)
        }
        let (connection, response) = try await shared.exchange(Array(AttackGateway.get(attack.target, headers: lines).utf8))
        guard attack.status == 200 else {
            shared.expectAnswer(response, status: attack.status, challenge: attack.challenge, closes: false, code: attack.code)
            await shared.expectFate(connection, closes: false)
            await shared.expectUntouched(since: marks)
            return
        }
        #expect(response?.status == 200, "\(String(describing: response))")
        let requests = await shared.forwarded(1, since: marks)
        await shared.expectFate(connection, closes: false)
        guard let request = requests.first else { return }
        let subject: String? = attack.claims == nil || attack.absent.contains("X-User-Id") ? nil : "alice"
        var forwardedAuthorization: String?
        if attack.target.hasPrefix("/forwarding"), let token { forwardedAuthorization = "Bearer " + token }
        shared.expectSanitized(request, target: attack.target, subject: subject, authorization: forwardedAuthorization)
        let values: [String] = (request.headers ?? []).map { (line: [String]) -> String in line.joined(separator: ": ") }
        #expect(!values.contains { $0.uppercased().contains("SPOOF") }, "a client value reached the upstream: \(values)")
        var expected: [String: [String]] = attack.claims == nil ? [:] : Self.gatewayIdentity
        expected.merge(attack.expected) { _, new in new }
        for (name, value) in expected where !attack.absent.contains(name) {
            #expect(request.values(name) == value, "\(name): \(request.values(name))")
        }
        let folded = Set(request.headerNames.map(AttackGateway.fold))
        for name in attack.absent {
            #expect(!folded.contains(AttackGateway.fold(name)), "\(name) reached the upstream: \(values)")
        }
    }

    /// A sample of the maintained denylist (docs/HEADER-DENYLIST.md), each in a spelling of its own, sent on a
    /// **public** route, where no identity is injected: none may reach the upstream.
    static let denylisted = [
        "X-User: admin", "X_Email: admin@example.com", "Remote-Groups: admins", "X-Remote-Extra-Scopes: admin",
        "X-WEBAUTH-USER: admin", "x-authentik-username: admin", "X-Pomerium-Claim-Email: admin@example.com",
        "X-Goog-Authenticated-User-Email: accounts.google.com:admin@example.com", "X-MS-CLIENT-PRINCIPAL-NAME: admin",
        "X-Amzn-Oidc-Identity: admin", "Cf-Access-Authenticated-User-Email: admin@example.com",
        "X-Consumer-Username: admin", "SM_USER: admin", "x-proxy-roles: admin", "X-Auth-Roles: admin",
        "X-Endpoint-API-UserInfo: eyJzdWIiOiJhZG1pbiJ9", "Fastly-Client-IP: 10.0.0.1", "X-Azure-ClientIP: 10.0.0.1",
        "X.Original.Host: admin.internal", "L5d-Dst-Override: admin.internal:80", "X-Envoy-Internal: true",
        "X-Forwarded-Client-Cert: By=spiffe://admin", "Client-Cert: :MIIB:", "ssl_client_verify: SUCCESS",
        "X-HTTP-Method: DELETE", "Front-End-Https: on",
        // Added by the issue 11 audit: Apache mod_auth_openidc, Shibboleth, kong-oidc/APISIX, oauth2-proxy (the
        // maintained list now holds X-Auth-Request-* itself), DigitalOcean, Azure ARR, Host overrides.
        "OIDC_CLAIM_sub: admin", "OIDC_access_token: eyJhbGciOiJub25lIn0", "Shib-Identity-Provider: https://idp.invalid",
        "X-Userinfo: eyJzdWIiOiJhZG1pbiJ9", "x.id.token: eyJzdWIiOiJhZG1pbiJ9", "X_Auth_Request_Redirect: https://evil.invalid",
        "DO-Connecting-IP: 10.0.0.1", "X-ARR-SSL: on", "X-Host: admin.internal", "X-HTTP-Host-Override: admin.internal",
    ]

    @Test("the maintained denylist: identity, address, URL, method and certificate headers never pass, even on a public route",
          arguments: denylisted)
    func denylistedOnPublicRoute(_ line: String) async throws {
        let shared = try AttackGateway.shared()
        let marks = shared.begin()
        let (connection, response) = try await shared.exchange(Array(AttackGateway.get("/public/denylist", headers: [line]).utf8))
        #expect(response?.status == 200, "\(String(describing: response))")
        let requests = await shared.forwarded(1, since: marks)
        await shared.expectFate(connection, closes: false)
        let name = String(line.prefix { $0 != ":" })
        let folded = Set((requests.first?.headerNames ?? []).map(AttackGateway.fold))
        #expect(!folded.contains(AttackGateway.fold(name)), "\(name) reached the upstream")
    }

    @Test("forward_headers: only the listed client headers reach the upstream, besides the gateway's own")
    func allowlist() async throws {
        let shared = try AttackGateway.shared()
        let marks = shared.begin()
        let lines = [
            "Accept: application/json", "X-Custom: kept", "Content_Type: text/evil", "X-Other: dropped",
            "User-Agent: curl", "Cookie: session=1", "X-User-Id: SPOOF", "X-Forwarded-For: 6.6.6.6",
        ]
        let (connection, response) = try await shared.exchange(Array(AttackGateway.get("/allowlisted/x", headers: lines).utf8))
        #expect(response?.status == 200, "\(String(describing: response))")
        let requests = await shared.forwarded(1, since: marks)
        await shared.expectFate(connection, closes: false)
        guard let request = requests.first else { return }
        shared.expectSanitized(request, target: "/allowlisted/x", subject: nil)
        let names = Set(request.headerNames.map { $0.lowercased() })
        #expect(names == [
            "host", "accept", "x-custom", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-request-id",
            "traceparent",
        ], "\(request.headers ?? [])")
        #expect(request.values("Accept") == ["application/json"])
        #expect(request.values("X-Custom") == ["kept"])
    }
}
