import NIOHTTP1
import Testing
@testable import GatewayConfig
@testable import GatewayAdmission

/// The framing and header rules the attack suites found missing, as plain values (no sockets).
@Suite("RequestGuard framing and ClientHeaderFilter")
struct RequestGuardFramingTests {
    static func headers(_ pairs: [(String, String)]) -> HTTPHeaders {
        HTTPHeaders(pairs)
    }

    @Test("Transfer-Encoding on HTTP/1.0 is faulty framing (RFC 9112 §6.1); on HTTP/1.1 it streams")
    func transferEncodingOnHTTP10() {
        let headers = Self.headers([("Transfer-Encoding", "chunked")])
        let old = RequestGuard.checkFraming(headers, isHTTP2: false, version: .http1_0)
        #expect((try? old.get()) == nil)
        if case .failure(let rejection) = old {
            #expect(rejection.status == .badRequest)
            #expect(rejection.code == .badFraming)
        }
        #expect((try? RequestGuard.checkFraming(headers, isHTTP2: false, version: .http1_1).get()) == .streamed)
    }

    @Test("a declared body over the limit frames fine; its size is refused separately, after authorization")
    func bodySizeIsSeparate() {
        var limits = GatewayConfiguration.Limits()
        limits.maxBodyBytes = 10
        let framing = try? RequestGuard.checkFraming(
            Self.headers([("Content-Length", "10737418240")]), isHTTP2: false).get()
        #expect(framing == .contentLength(10_737_418_240))
        #expect(RequestGuard.checkBodySize(.contentLength(10_737_418_240), limits: limits)?.status == .payloadTooLarge)
        #expect(RequestGuard.checkBodySize(.contentLength(10), limits: limits) == nil)
        #expect(RequestGuard.checkBodySize(.streamed, limits: limits) == nil)
    }

    @Test(
        "client headers that would change the client address, method or URL an upstream sees are stripped",
        arguments: [
            "X-Forwarded-Uri", "x-forwarded-method", "X_Forwarded_Scheme", "X.Forwarded.Server", "X-Forwarded-Ssl",
            "True-Client-IP", "CF-Connecting-IP", "X-Cluster-Client-IP", "X-Originating-IP", "Client-IP",
            "X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override", "X-Original-URL", "x_rewrite_url",
            // A sample of the maintained denylist (docs/HEADER-DENYLIST.md), in other spellings.
            "X-User", "x_email", "Remote-Groups", "X-Remote-Extra-Scopes", "X-WEBAUTH-USER", "x-authentik-username",
            "X-Pomerium-Claim-Email", "X-Goog-Authenticated-User-Email", "X-MS-CLIENT-PRINCIPAL-NAME",
            "X-Amzn-Oidc-Identity", "Cf-Access-Authenticated-User-Email", "X-Consumer-Username", "SM_USER",
            "x-proxy-roles", "Fastly-Client-IP", "X-Azure-ClientIP", "X-Forwarded", "X-Original-Host", "L5d-Dst-Override",
            "X-Envoy-Internal", "X-Forwarded-Client-Cert", "Client-Cert", "ssl_client_verify", "X-Endpoint-API-UserInfo",
        ])
    func stripped(_ name: String) {
        let filter = ClientHeaderFilter(identity: .init(), policyHeaders: [])
        #expect(filter.strips(name))
    }

    @Test("ordinary end-to-end headers pass", arguments: [
        "Accept", "Content-Type", "Max-Forwards", "Cookie", "X-Auth-Token", "X-Amzn-Trace-Id", "x-ms-client-request-id",
        "X-Goog-Api-Key", "X-Client-Trace-Id", "X-Users", "Remote",
    ])
    func kept(_ name: String) {
        let filter = ClientHeaderFilter(identity: .init(), policyHeaders: [])
        #expect(!filter.strips(name))
    }
}
