import Foundation
import Testing

/// CORS as a browser exercises it, with curl sending the headers a browser sends: preflights answered by the
/// gateway before authentication (never 401), actual responses with the route's allow headers, and nothing
/// for an origin the policy does not list.
@Suite("End to end: CORS")
struct CORSEndToEndTests {
    static let origin = "https://app.example.com"
    static let policy = """
        version: 1
        routes:
          - name: data
            match: { methods: [GET, HEAD], path: /api/data/** }
            upstream: svc
            require:
              scopes: { all: ["read:data"] }
            cors:
              origins: ["\(origin)"]
              headers: [Authorization]
              expose_headers: [X-Request-Id]
              credentials: true
              max_age_seconds: 600
        """

    static var options: GatewayHarness.Options {
        var options = GatewayHarness.Options()
        options.policy = policy
        return options
    }

    @Test("a preflight from an allowed origin is 204 with the allow headers, before authentication; nothing upstream",
          arguments: [false, true])
    func preflight(http2: Bool) async throws {
        try await GatewayHarness.with(Self.options) { gateway in
            let response = try await Curl.request(gateway, "/api/data/x", method: "OPTIONS", headers: [
                "Origin: \(Self.origin)", "Access-Control-Request-Method: GET", "Access-Control-Request-Headers: authorization",
            ], http2: http2)
            #expect(response.status == 204, "\(response.headers)")
            #expect(response.header("Access-Control-Allow-Origin") == Self.origin)
            #expect(response.header("Access-Control-Allow-Credentials") == "true")
            #expect(response.header("Access-Control-Allow-Methods") == "GET, HEAD")
            #expect(response.header("Access-Control-Allow-Headers") == "authorization")
            #expect(response.header("Access-Control-Max-Age") == "600")
            #expect(response.header("WWW-Authenticate") == nil)
            #expect(response.body.isEmpty)
            #expect(await gateway.upstream.settledEvents(since: 0).isEmpty, "a preflight reached the upstream")
        }
    }

    @Test("a preflight from another origin, or for a method the route does not take, gets no CORS answer")
    func preflightRefused() async throws {
        try await GatewayHarness.with(Self.options) { gateway in
            for (origin, method) in [("https://evil.example", "GET"), (Self.origin, "DELETE")] {
                let response = try await Curl.request(gateway, "/api/data/x", method: "OPTIONS", headers: [
                    "Origin: \(origin)", "Access-Control-Request-Method: \(method)",
                ])
                #expect(response.status != 204, "\(origin) \(method)")
                #expect(response.header("Access-Control-Allow-Origin") == nil, "\(origin) \(method): \(response.headers)")
            }
            #expect(await gateway.upstream.settledEvents(since: 0).isEmpty)
        }
    }

    @Test("actual requests: the allowed origin may read the 200 and the 401; another origin gets Vary: Origin only")
    func actualRequests() async throws {
        try await GatewayHarness.with(Self.options) { gateway in
            let token = try gateway.token(scope: "read:data")
            let allowed = try await Curl.request(gateway, "/api/data/x", headers: [gateway.bearer(token), "Origin: \(Self.origin)"])
            #expect(allowed.status == 200)
            #expect(allowed.values("Access-Control-Allow-Origin") == [Self.origin])
            #expect(allowed.header("Access-Control-Allow-Credentials") == "true")
            #expect(allowed.header("Access-Control-Expose-Headers") == "X-Request-Id")
            #expect(allowed.values("Vary").joined(separator: ",").contains("Origin"))
            let denied = try await Curl.request(gateway, "/api/data/x", headers: ["Origin: \(Self.origin)"])
            #expect(denied.status == 401)
            #expect(denied.header("Access-Control-Allow-Origin") == Self.origin, "the page could not read its 401")
            #expect(denied.header("WWW-Authenticate") == #"Bearer realm="auth-gateway""#)
            let other = try await Curl.request(gateway, "/api/data/x", headers: [gateway.bearer(token), "Origin: https://evil.example"])
            #expect(other.status == 200)
            #expect(other.header("Access-Control-Allow-Origin") == nil)
            #expect(other.values("Vary").joined(separator: ",").contains("Origin"))
            let requests = await gateway.upstream.waitForRequests(2)
            #expect(requests.count == 2, "only the two token requests reach the upstream")
        }
    }
}
