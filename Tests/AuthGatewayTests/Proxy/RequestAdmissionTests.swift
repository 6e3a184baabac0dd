import Foundation
import GatewayAuth
import GatewayConfig
import GatewayPolicy
import JOSE
import NIOCore
import NIOEmbedded
import NIOHTTP1
import TestSupport
import Testing

@testable import AuthGateway
@testable import GatewayAdmission

/// One request head through the whole admission, against a snapshot loaded as the gateway loads it (a policy
/// directory and an HS256 JWK on disk): each outcome the gateway can give before it talks to an upstream
/// (guard rejections, 404/405, 401, 403, 400 `invalid_request`, 413 only after authorization) and a forwarded
/// request's rewritten head, with the exact response fields and the exact ``RequestOutcome`` the access log and
/// the metrics get.
@Suite("Request admission")
struct RequestAdmissionTests {
    static let now: Double = 1_800_000_000
    static let issuer = "https://idp.example.com"
    static let host = "api.example.com"
    static let clientAddress = "192.0.2.7"
    static let realm = "test-realm"
    static let requestID = RequestID(high: 0x0123_4567_89AB_CDEF, low: 0xFEDC_BA98_7654_3210)
    static let gatewayHeaders = [
        "x-forwarded-for: 192.0.2.7", "x-forwarded-proto: https", "x-forwarded-host: api.example.com",
        "x-request-id: 0123456789abcdeffedcba9876543210",
        "traceparent: 00-0123456789abcdeffedcba9876543210-60ebc321091e4e05-01",
    ]
    /// RFC 7515 appendix A.1's HS256 key (a public test key).
    static let jwk =
        #"{"kty":"oct","alg":"HS256","kid":"hs-1","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"}"#

    static let policyText = """
        version: 1
        routes:
          - name: data
            match: { methods: [GET, POST], path: /api/data/** }
            upstream: service-a
            require: { scopes: { all: ["read:data"] } }
            identity_headers: { X-User-Id: sub }
          - name: data-options
            match: { methods: [OPTIONS], path: /api/data/** }
            upstream: service-a
            auth: public
          - name: admin
            match: { methods: [GET], path: /admin/** }
            upstream: service-b
            require: { roles: { any: [admin] } }
            identity_headers: { X-User-Id: sub }
          - name: public
            match: { methods: [GET, POST], path: /public/** }
            upstream: service-b
            auth: public

        """

    let snapshot: GatewaySnapshot
    let key: JWSKey
    let loop = EmbeddedEventLoop()

    init() throws {
        let directory = try TestTools.temporaryDirectory(prefix: "request-admission")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let policies = directory + "/policies"
        let keyFile = directory + "/hs-1.jwk"
        try FileManager.default.createDirectory(atPath: policies, withIntermediateDirectories: true)
        try Data(Self.policyText.utf8).write(to: URL(fileURLWithPath: policies + "/policy.yaml"))
        try Data(Self.jwk.utf8).write(to: URL(fileURLWithPath: keyFile))
        var limits = GatewayConfiguration.Limits()
        limits.maxURIBytes = 64
        limits.maxHeaderCount = 12
        limits.maxBodyBytes = 1024
        var identity = GatewayConfiguration.Identity()
        identity.realm = Self.realm
        let configuration = GatewayConfiguration(
            listeners: [], admin: nil,
            issuers: [.init(issuer: Self.issuer, audiences: ["api"], keys: [.init(file: keyFile)], leeway: .seconds(60))],
            upstreams: [
                "service-a": .init(targets: [.init(host: "127.0.0.1", port: 9)]),
                "service-b": .init(targets: [.init(host: "127.0.0.1", port: 9)]),
            ],
            limits: limits, policyDirectory: policies, identity: identity)
        snapshot = try GatewaySnapshot.load(configuration: configuration, keyGeneration: 1)
        key = try JWSKey(jwk: JSONParser.parse(Self.jwk))
    }

    // MARK: - Helpers

    func token(_ claims: [String: JSONValue] = [:], key: JWSKey? = nil) throws -> String {
        var payload: [String: JSONValue] = [
            "iss": .string(Self.issuer), "aud": "api", "sub": "alice", "exp": .int(Int64(Self.now) + 300),
            "scope": "read:data",
        ]
        payload.merge(claims) { _, new in new }
        return try JWTSigner.sign(claims: payload, key: key ?? self.key)
    }

    func bearer(_ claims: [String: JSONValue] = [:]) throws -> (String, String) {
        ("Authorization", "Bearer " + (try token(claims)))
    }

    /// Admits a head with `Host: api.example.com` first (unless `host` is nil) and `headers` after it.
    func admit(
        _ method: HTTPMethod, _ uri: String, _ headers: [(String, String)] = [], host: String? = Self.host,
        version: HTTPVersion = .http1_1, http2: Bool = false
    ) -> Admission {
        let all = (host.map { [("Host", $0)] } ?? []) + headers
        let head = HTTPRequestHead(version: version, method: method, uri: uri, headers: HTTPHeaders(all))
        let admission = RequestAdmission(
            snapshot: snapshot,
            authenticator: TokenAuthenticator(cache: VerifiedTokenCache(capacity: 16, generation: 1), metrics: nil))
        return admission.admit(
            head, client: ClientConnection(address: Self.clientAddress, isHTTP2: http2), requestID: Self.requestID,
            now: Self.now, eventLoop: loop)
    }

    func answered(
        _ admission: Admission, sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) -> (response: GatewayResponse, outcome: RequestOutcome)? {
        if case .answer(let response, let outcome) = admission { return (response, outcome) }
        Issue.record("not answered: \(admission)", sourceLocation: sourceLocation)
        return nil
    }

    func forwarded(_ admission: Admission, sourceLocation: Testing.SourceLocation = #_sourceLocation) -> UpstreamRequest? {
        if case .forward(let request) = admission { return request }
        Issue.record("not forwarded: \(admission)", sourceLocation: sourceLocation)
        return nil
    }

    static func lines(_ headers: HTTPHeaders) -> [String] { headers.map { "\($0.name): \($0.value)" } }

    /// The exact answer and outcome of a denial or rejection.
    func expectAnswer(
        _ admission: Admission, status: UInt, code: String, challenge: String? = nil, close: Bool, allow: [String]? = nil,
        verdict: Verdict, reason: OutcomeReason, route: String?, path: String?, host: String?, subject: String? = nil,
        sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) {
        guard let answer = answered(admission, sourceLocation: sourceLocation) else { return }
        let (response, outcome) = answer
        #expect(response.status.code == status, sourceLocation: sourceLocation)
        #expect(response.code.rawValue == code, sourceLocation: sourceLocation)
        #expect(response.challenge == challenge, sourceLocation: sourceLocation)
        #expect(response.close == close, sourceLocation: sourceLocation)
        #expect(response.allow?.methodNames == allow, sourceLocation: sourceLocation)
        #expect(outcome.verdict == verdict, sourceLocation: sourceLocation)
        #expect(outcome.reason == reason, sourceLocation: sourceLocation)
        #expect(outcome.route == route, sourceLocation: sourceLocation)
        #expect(outcome.path == path, sourceLocation: sourceLocation)
        #expect(outcome.host == host, sourceLocation: sourceLocation)
        #expect(outcome.subject == subject, sourceLocation: sourceLocation)
        #expect(outcome.issuer == (subject == nil ? nil : Self.issuer), sourceLocation: sourceLocation)
    }

    func expectGuardRejection(
        _ admission: Admission, status: UInt, code: String, sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) {
        expectAnswer(
            admission, status: status, code: code, close: true, verdict: .reject, reason: .gateway(GatewayCode(rawValue: code)),
            route: nil, path: nil, host: nil, sourceLocation: sourceLocation)
    }

    // MARK: - RequestGuard

    @Test("an HTTP version other than 1.0/1.1 on an HTTP/1 connection is 505 http_version, closing")
    func guardVersion() throws {
        let token = try bearer()
        expectGuardRejection(admit(.GET, "/public/x", version: HTTPVersion(major: 1, minor: 2)), status: 505, code: "http_version")
        expectGuardRejection(admit(.GET, "/api/data/x", [token], version: HTTPVersion(major: 2, minor: 0)), status: 505, code: "http_version")
        expectGuardRejection(admit(.GET, "/public/x", version: HTTPVersion(major: 0, minor: 9)), status: 505, code: "http_version")
    }

    @Test("a target over max_uri_bytes is 414 uri_too_long; one at the limit passes")
    func guardURILength() throws {
        let atLimit = "/public/" + String(repeating: "a", count: 56)
        #expect(atLimit.utf8.count == 64)
        expectGuardRejection(admit(.GET, atLimit + "b"), status: 414, code: "uri_too_long")
        #expect(forwarded(admit(.GET, atLimit))?.head.uri == atLimit)
    }

    @Test("more header fields than max_header_count is 431 too_many_headers; exactly the limit passes")
    func guardHeaderCount() throws {
        let eleven = (1...11).map { ("X-Pad-\($0)", "v") }
        expectGuardRejection(admit(.GET, "/public/x", eleven + [("X-Pad-12", "v")]), status: 431, code: "too_many_headers")
        #expect(forwarded(admit(.GET, "/public/x", eleven)) != nil)
    }

    @Test("no Host, two Hosts or a malformed Host is 400 bad_host, even with a valid token")
    func guardHost() throws {
        let token = try bearer()
        expectGuardRejection(admit(.GET, "/api/data/x", [token], host: nil), status: 400, code: "bad_host")
        expectGuardRejection(admit(.GET, "/api/data/x", [("Host", Self.host), token]), status: 400, code: "bad_host")
        expectGuardRejection(admit(.GET, "/api/data/x", [token], host: "user@api.example.com"), status: 400, code: "bad_host")
        expectGuardRejection(admit(.GET, "/api/data/x", [token], host: "api.example.com/admin"), status: 400, code: "bad_host")
        expectGuardRejection(admit(.GET, "/api/data/x", [token], host: "api.example.com:http"), status: 400, code: "bad_host")
    }

    @Test("doubtful framing is 400 bad_framing; a transfer coding other than chunked is 501 bad_framing")
    func guardFraming() throws {
        expectGuardRejection(
            admit(.POST, "/public/x", [("Content-Length", "5"), ("Transfer-Encoding", "chunked")]), status: 400,
            code: "bad_framing")
        expectGuardRejection(admit(.POST, "/public/x", [("Content-Length", "5, 5")]), status: 400, code: "bad_framing")
        expectGuardRejection(
            admit(.POST, "/public/x", [("Content-Length", "5"), ("Content-Length", "5")]), status: 400, code: "bad_framing")
        expectGuardRejection(admit(.POST, "/public/x", [("Content-Length", "-1")]), status: 400, code: "bad_framing")
        expectGuardRejection(
            admit(.POST, "/public/x", [("Transfer-Encoding", "chunked")], version: .http1_0), status: 400,
            code: "bad_framing")
        expectGuardRejection(admit(.POST, "/public/x", [("Transfer-Encoding", "gzip")]), status: 501, code: "bad_framing")
        expectGuardRejection(
            admit(.POST, "/public/x", [("Transfer-Encoding", "gzip, chunked")]), status: 501, code: "bad_framing")
    }

    @Test("a target that is not a canonicalizable origin-form path is 400 bad_path")
    func guardPath() throws {
        for target in ["http://api.example.com/public/x", "*", "/public/a%2Fb", "/public/a\\b", "/public/%zz"] {
            expectGuardRejection(admit(.GET, target), status: 400, code: "bad_path")
        }
    }

    // MARK: - Routing

    @Test("no route is 404 no_route with the canonical path, with or without a token, whatever the credentials")
    func noRoute() throws {
        let credentials: [[(String, String)]] = [[], [try bearer()], [try bearer(), try bearer()]]
        for headers in credentials {
            expectAnswer(
                admit(.GET, "/nowhere/./a/../b", headers), status: 404, code: "no_route", close: false,
                verdict: .deny, reason: .denied(.noRoute), route: nil, path: "/nowhere/b", host: Self.host)
        }
    }

    @Test("405 names the public methods to anyone, the protected ones only with a valid token")
    func methodNotAllowed() throws {
        let expired = ("Authorization", "Bearer " + (try token(["exp": .int(Int64(Self.now) - 3600)])))
        let cases: [([(String, String)], [String])] = [
            ([], ["OPTIONS"]), ([expired], ["OPTIONS"]), ([try bearer()], ["GET", "POST", "OPTIONS"]),
        ]
        for (headers, allow) in cases {
            expectAnswer(
                admit(.PUT, "/api/data/x", headers), status: 405, code: "method_not_allowed", close: false, allow: allow,
                verdict: .deny, reason: .denied(.methodNotAllowed), route: nil, path: "/api/data/x", host: Self.host)
        }
    }

    @Test("a path only protected routes take is 404 to an anonymous client or a bad token, 405 with a valid one")
    func protectedOnlyPath() throws {
        let other = try JWSKey.generate(algorithm: .HS256, keyID: "hs-1")
        let forged = ("Authorization", "Bearer " + (try token(key: other)))
        let credentials: [[(String, String)]] = [[], [forged], [try bearer(), try bearer()]]
        for headers in credentials {
            expectAnswer(
                admit(.DELETE, "/admin/x", headers), status: 404, code: "no_route", close: false, verdict: .deny,
                reason: .denied(.noRoute), route: nil, path: "/admin/x", host: Self.host)
        }
        expectAnswer(
            admit(.DELETE, "/admin/x", [try bearer()]), status: 405, code: "method_not_allowed", close: false,
            allow: ["GET"], verdict: .deny, reason: .denied(.methodNotAllowed), route: nil, path: "/admin/x",
            host: Self.host)
    }

    // MARK: - Tokens

    @Test("no token (or another scheme) on a protected route is 401 token_missing with a bare challenge")
    func tokenMissing() throws {
        let credentials: [[(String, String)]] = [[], [("Authorization", "Basic YWxpY2U6cHc=")]]
        for headers in credentials {
            expectAnswer(
                admit(.GET, "/api/data/x", headers), status: 401, code: "token_missing",
                challenge: #"Bearer realm="test-realm""#, close: false, verdict: .deny, reason: .denied(.tokenMissing),
                route: "data", path: "/api/data/x", host: Self.host)
        }
    }

    @Test("a token that does not verify is 401 token_invalid with error=invalid_token and the verifier's reason")
    func tokenInvalid() throws {
        let other = try JWSKey.generate(algorithm: .HS256, keyID: "hs-1")
        let cases: [(String, JOSEError.Code)] = [
            (try token(key: other), .badSignature),
            (try token(["exp": .int(Int64(Self.now) - 3600)]), .tokenExpired),
            (try token(["aud": "elsewhere"]), .badAudience),
            (try token(["iss": "https://other.example"]), .badIssuer),
            ("not-a-token", .malformedToken),
        ]
        for (token, code) in cases {
            expectAnswer(
                admit(.GET, "/api/data/x", [("Authorization", "Bearer " + token)]), status: 401, code: "token_invalid",
                challenge: #"Bearer realm="test-realm", error="invalid_token""#, close: false, verdict: .deny,
                reason: .token(code), route: "data", path: "/api/data/x", host: Self.host)
        }
    }

    @Test("a valid token the requirement refuses is 403 with the failed clause's reason and the verified subject")
    func forbidden() throws {
        expectAnswer(
            admit(.GET, "/api/data/x", [try bearer(["scope": "write:data"])]), status: 403, code: "insufficient_scope",
            challenge: #"Bearer realm="test-realm", error="insufficient_scope", scope="read:data""#, close: false,
            verdict: .deny, reason: .denied(.insufficientScope), route: "data", path: "/api/data/x", host: Self.host,
            subject: "alice")
        expectAnswer(
            admit(.GET, "/admin/x", [try bearer(["roles": .array([.string("viewer")])])]), status: 403,
            code: "missing_role", challenge: #"Bearer realm="test-realm", error="insufficient_scope""#, close: false,
            verdict: .deny, reason: .denied(.missingRole), route: "admin", path: "/admin/x", host: Self.host,
            subject: "alice")
        // The audit trail's `denied_by`: the failed clause, as `explain` words it.
        let denied = answered(admit(.GET, "/admin/x", [try bearer(["roles": .array([.string("viewer")])])]))
        #expect(denied?.1.deniedBy == "roles any [admin]")
    }

    @Test("two credentials or a token in the query on a protected route is 400 invalid_request, closing")
    func invalidRequest() throws {
        let valid = try token()
        let cases: [(String, [(String, String)])] = [
            ("/api/data/x", [("Authorization", "Bearer " + valid), ("authorization", "Bearer " + valid)]),
            ("/api/data/x", [("Authorization", "Bearer \(valid), Bearer \(valid)")]),
            ("/api/data/x?access_token=abc", [("Authorization", "Bearer " + valid)]),
            ("/api/data/x?a=1&access_token=abc", []),
        ]
        for (uri, headers) in cases {
            expectAnswer(
                admit(.GET, uri, headers), status: 400, code: "invalid_request",
                challenge: #"Bearer realm="test-realm", error="invalid_request""#, close: true, verdict: .deny,
                reason: .gateway(.invalidRequest), route: "data", path: "/api/data/x", host: Self.host)
        }
    }

    // MARK: - Body size

    @Test("a declared body over max_body_bytes is 413 only once authorized, closing; before that it is 401 or 403")
    func bodyTooLarge() throws {
        let large = ("Content-Length", "1025")
        expectAnswer(
            admit(.POST, "/api/data/x", [try bearer(), large]), status: 413, code: "body_too_large", close: true,
            verdict: .reject, reason: .gateway(.bodyTooLarge), route: "data", path: "/api/data/x", host: Self.host,
            subject: "alice")
        expectAnswer(
            admit(.POST, "/api/data/x", [large]), status: 401, code: "token_missing",
            challenge: #"Bearer realm="test-realm""#, close: false, verdict: .deny, reason: .denied(.tokenMissing),
            route: "data", path: "/api/data/x", host: Self.host)
        expectAnswer(
            admit(.POST, "/api/data/x", [("Authorization", "Bearer not-a-token"), large]), status: 401,
            code: "token_invalid", challenge: #"Bearer realm="test-realm", error="invalid_token""#, close: false,
            verdict: .deny, reason: .token(.malformedToken), route: "data", path: "/api/data/x", host: Self.host)
        expectAnswer(
            admit(.POST, "/api/data/x", [try bearer(["scope": "other"]), large]), status: 403,
            code: "insufficient_scope", challenge: #"Bearer realm="test-realm", error="insufficient_scope", scope="read:data""#,
            close: false, verdict: .deny, reason: .denied(.insufficientScope), route: "data", path: "/api/data/x",
            host: Self.host, subject: "alice")
        // A public route is allowed at once, so its size is checked at once.
        expectAnswer(
            admit(.POST, "/public/x", [large]), status: 413, code: "body_too_large", close: true, verdict: .reject,
            reason: .gateway(.bodyTooLarge), route: "public", path: "/public/x", host: Self.host)
    }

    @Test("a body of exactly max_body_bytes, or a chunked one, is forwarded with its framing")
    func bodyWithinLimit() throws {
        let exact = try #require(forwarded(admit(.POST, "/api/data/x", [try bearer(), ("Content-Length", "1024")])))
        #expect(exact.framing == .contentLength(1024))
        #expect(Self.lines(exact.head.headers) == ["host: api.example.com", "content-length: 1024"] + Self.gatewayHeaders
            + ["X-User-Id: alice"])
        let chunked = try #require(forwarded(admit(.POST, "/api/data/x", [try bearer(), ("Transfer-Encoding", "chunked")])))
        #expect(chunked.framing == .streamed)
        #expect(Self.lines(chunked.head.headers) == ["host: api.example.com", "transfer-encoding: chunked"]
            + Self.gatewayHeaders + ["X-User-Id: alice"])
    }

    // MARK: - Forwarding

    @Test("an allowed request is forwarded to the route's upstream with the canonical target and the rewritten headers")
    func forward() throws {
        let request = try #require(forwarded(admit(
            .GET, "/api/data/./reports/../x?b=1&a=2",
            [try bearer(), ("Accept", "*/*"), ("X-User-Id", "mallory"), ("X-Forwarded-For", "10.0.0.1"), ("Connection", "X-Debug"),
             ("X-Debug", "1")])))
        #expect(request.upstream == "service-a")
        #expect(request.framing == .none)
        #expect(request.head.version == .http1_1)
        #expect(request.head.method == .GET)
        #expect(request.head.uri == "/api/data/x?b=1&a=2")
        #expect(Self.lines(request.head.headers) == ["host: api.example.com", "Accept: */*"] + Self.gatewayHeaders
            + ["X-User-Id: alice"])
        #expect(request.outcome.verdict == .allow)
        #expect(request.outcome.reason == nil)
        #expect(request.outcome.route == "data")
        #expect(request.outcome.path == "/api/data/x")
        #expect(request.outcome.host == "api.example.com")
        #expect(request.outcome.subject == "alice")
        #expect(request.outcome.issuer == Self.issuer)
    }

    @Test("an HTTP/2 request is forwarded as HTTP/1.1; a body without content-length is streamed chunked")
    func forwardHTTP2() throws {
        let request = try #require(forwarded(admit(
            .POST, "/api/data/x", [try bearer(), ("content-type", "application/json")], version: HTTPVersion(major: 2, minor: 0),
            http2: true)))
        #expect(request.upstream == "service-a")
        #expect(request.framing == .streamed)
        #expect(request.head.version == .http1_1)
        #expect(request.head.method == .POST)
        #expect(request.head.uri == "/api/data/x")
        #expect(Self.lines(request.head.headers) == ["host: api.example.com", "content-type: application/json",
            "transfer-encoding: chunked"] + Self.gatewayHeaders + ["X-User-Id: alice"])
        #expect(request.outcome.verdict == .allow)
        #expect(request.outcome.route == "data")
        #expect(request.outcome.subject == "alice")
    }

    @Test("a public route never reads credentials: no subject, Authorization dropped, the query forwarded verbatim")
    func forwardPublic() throws {
        let request = try #require(forwarded(admit(
            .GET, "/public/x?access_token=abc", [try bearer(), try bearer(), ("Accept", "*/*")])))
        #expect(request.upstream == "service-b")
        #expect(request.head.uri == "/public/x?access_token=abc")
        #expect(Self.lines(request.head.headers) == ["host: api.example.com", "Accept: */*"] + Self.gatewayHeaders)
        #expect(request.outcome.verdict == .allow)
        #expect(request.outcome.reason == nil)
        #expect(request.outcome.route == "public")
        #expect(request.outcome.path == "/public/x")
        #expect(request.outcome.subject == nil)
        #expect(request.outcome.issuer == nil)
    }
}
