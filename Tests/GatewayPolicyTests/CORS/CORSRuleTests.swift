import Testing
import TestSupport
@testable import GatewayPolicy

/// The CORS rule: what a preflight gets, what an actual response carries, and what the policy refuses to load.
@Suite("CORS rule")
struct CORSRuleTests {
    static let rule = CORSRule(
        origins: ["https://app.example.com", "http://localhost:3000"], headers: ["Authorization", "Content-Type"],
        exposeHeaders: ["X-Request-Id"], credentials: true, maxAgeSeconds: 600)

    @Test("a preflight from an allowed origin for a route method and allowed headers gets the allow headers")
    func preflightAllowed() {
        let headers = Self.rule.preflight(
            origin: "https://app.example.com", method: "POST", requestHeaders: ["authorization", "Content-Type"],
            routeMethods: [.get, .post])
        #expect(headers?.map { "\($0.0): \($0.1)" } == [
            "access-control-allow-origin: https://app.example.com", "access-control-allow-credentials: true",
            "access-control-allow-methods: GET, POST", "access-control-allow-headers: authorization, content-type",
            "access-control-max-age: 600", "vary: Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
        ])
    }

    @Test("another origin, a method the route does not take, or a header not listed is no preflight answer")
    func preflightRefused() {
        #expect(Self.rule.preflight(origin: "https://evil.example", method: "GET", requestHeaders: [], routeMethods: [.get]) == nil)
        #expect(Self.rule.preflight(origin: "https://app.example.com.evil.example", method: "GET", requestHeaders: [], routeMethods: [.get]) == nil)
        #expect(Self.rule.preflight(origin: "https://app.example.com", method: "DELETE", requestHeaders: [], routeMethods: [.get]) == nil)
        #expect(Self.rule.preflight(origin: "https://app.example.com", method: "GET", requestHeaders: ["X-User-Id"], routeMethods: [.get]) == nil)
        #expect(Self.rule.preflight(origin: "null", method: "GET", requestHeaders: [], routeMethods: [.get]) == nil)
    }

    @Test("an actual response: the allow headers for an allowed origin, only Vary: Origin for any other")
    func responseHeaders() {
        #expect(Self.rule.responseHeaders(origin: "http://localhost:3000").map { "\($0.0): \($0.1)" } == [
            "access-control-allow-origin: http://localhost:3000", "access-control-allow-credentials: true",
            "access-control-expose-headers: X-Request-Id", "vary: Origin",
        ])
        #expect(Self.rule.responseHeaders(origin: "https://evil.example").map { "\($0.0): \($0.1)" } == ["vary: Origin"])
        #expect(Self.rule.responseHeaders(origin: nil).map { "\($0.0): \($0.1)" } == ["vary: Origin"])
        let any = CORSRule(origins: ["*"])
        #expect(any.responseHeaders(origin: "https://x.example").first?.1 == "*")
    }

    @Test("the policy refuses a wildcard with credentials, wildcard hosts, paths and non-HTTP origins, at their lines")
    func loaderRefuses() {
        let cases: [(String, String)] = [
            (#"{ origins: ["*"], credentials: true }"#, "cannot go with `credentials: true`"),
            ("{ origins: [\"https://*.example.com\"] }", "wildcards are not allowed"),
            ("{ origins: [\"https://app.example.com/\"] }", "it has a path"),
            ("{ origins: [\"app.example.com\"] }", "does not start with `https://`"),
            ("{ origins: [\"https://app.example.com\"], methods: [get] }", "unknown HTTP method `get`; hint: method names are case-sensitive: write `GET`"),
            ("{ origins: [\"https://app.example.com\"], max_age_seconds: 100000 }", "between 0 and 86400"),
            ("{ methods: [GET] }", "origins"),
        ]
        for (cors, expected) in cases {
            let errors = PolicyFixtures.errors("""
                routes:
                  - name: data
                    match: { methods: [GET], path: /data }
                    upstream: a
                    cors: \(cors)
                """).map(\.description)
            #expect(errors.count == 1 && errors[0].contains(expected), "\(cors): \(errors)")
            #expect(errors.first?.contains("bad.yaml:5:") == true, "\(errors)")
        }
    }

    @Test("defaults.cors applies to every route of the file that does not set its own")
    func defaultsApply() throws {
        let policy = try PolicyFixtures.policy("""
            defaults:
              cors: { origins: ["https://app.example.com"] }
            routes:
              - { name: a, match: { methods: [GET], path: /a }, upstream: u }
              - { name: b, match: { methods: [GET], path: /b }, upstream: u, cors: { origins: ["https://b.example.com"] } }
            """)
        #expect(policy.routes.first { $0.name == "a" }?.cors?.origins == ["https://app.example.com"])
        #expect(policy.routes.first { $0.name == "b" }?.cors?.origins == ["https://b.example.com"])
    }
}
