import Testing
import GatewayPolicy
import TestSupport

@Suite("Route matching")
struct RouteMatchingTests {
    static let yaml = """
        routes:
          - { name: exact, match: { methods: [GET], path: /api/users/me }, upstream: u, auth: public }
          - { name: param, match: { methods: [GET], path: "/api/users/{id}" }, upstream: u, auth: public }
          - { name: param-sub, match: { methods: [GET], path: "/api/users/*/posts" }, upstream: u, auth: public }
          - { name: api, match: { methods: [GET, POST], path: /api/** }, upstream: u, auth: public }
          - { name: users-tree, match: { methods: [GET], path: /api/users/** }, upstream: u, auth: public }
          - { name: post-only, match: { methods: [POST], path: /api/users/new }, upstream: u, auth: public }
          - { name: public, match: { methods: [GET], path: /public/** }, upstream: u, auth: public }
          - { name: slash, match: { methods: [GET], path: /dir/ }, upstream: u, auth: public }
          - { name: noslash, match: { methods: [GET], path: /dir }, upstream: u, auth: public }
          - { name: root, match: { methods: [GET], path: / }, upstream: u, auth: public }
          - { name: host-api, match: { methods: [GET], path: /api/**, host: API.Example.com }, upstream: u, auth: public }
        """

    let policy: Policy

    init() throws {
        policy = try PolicyFixtures.policy(Self.yaml)
    }

    @Test(arguments: [
        ("/api/users/me", "exact"),
        ("/api/users/42", "param"),
        ("/api/users/42/posts", "param-sub"),
        ("/api/users/42/likes", "users-tree"),
        ("/api/users", "users-tree"),
        ("/api/users/", "users-tree"),
        ("/api/other", "api"),
        ("/api", "api"),
        ("/api/", "api"),
        ("/api/a/b/c/d/e/f", "api"),
        ("/public", "public"),
        ("/public/x/y", "public"),
        ("/dir/", "slash"),
        ("/dir", "noslash"),
        ("/", "root"),
    ])
    func precedence(_ path: String, _ expected: String) {
        #expect(policy.routeName("GET", path) == expected)
    }

    @Test(arguments: ["/publicadmin", "/apix", "/api-x/users", "/dir/x", "/x", "/API/users", "/Public/x"])
    func noRoute(_ path: String) {
        #expect(policy.routeName("GET", path) == nil)
    }

    @Test func methodSelectsAmongSamePattern() {
        // POST /api/users/new has its own route; GET falls back to the less specific GET routes.
        #expect(policy.routeName("POST", "/api/users/new") == "post-only")
        #expect(policy.routeName("GET", "/api/users/new") == "param")
        // POST /api/users/me: the exact and param routes are GET only, so the search backtracks to /api/**.
        #expect(policy.routeName("POST", "/api/users/me") == "api")
        #expect(policy.routeName("DELETE", "/api/users/me") == nil)
    }

    @Test func methodsAreCaseSensitiveAndLimited() {
        #expect(policy.routeName("get", "/api/x") == nil)
        #expect(policy.routeName("TRACE", "/api/x") == nil)
        #expect(policy.routeName("CONNECT", "/api/x") == nil)
        #expect(policy.routeName("", "/api/x") == nil)
    }

    @Test func wildcardNeedsANonEmptySegment() throws {
        let policy = try PolicyFixtures.policy("""
            routes:
              - { name: one, match: { methods: [GET], path: "/users/*" }, upstream: u, auth: public }
            """)
        #expect(policy.routeName("GET", "/users/7") == "one")
        #expect(policy.routeName("GET", "/users/") == nil)
        #expect(policy.routeName("GET", "/users") == nil)
        #expect(policy.routeName("GET", "/users/7/x") == nil)
    }

    @Test func hostRoutesComeFirstAndCompareLikeHosts() {
        for host in ["api.example.com", "API.EXAMPLE.COM", "api.example.com:8443", "api.example.com."] {
            #expect(policy.routeName("GET", "/api/x", host: host) == "host-api", "\(host)")
        }
        // A more specific host-less route does not beat a host route: host routes are tried first.
        #expect(policy.routeName("GET", "/api/users/me", host: "api.example.com") == "host-api")
        for host in ["other.example.com", "api.example.com.evil", "evil-api.example.com", "127.0.0.1:9"] {
            #expect(policy.routeName("GET", "/api/x", host: host) == "api", "\(host)")
        }
        #expect(policy.routeName("GET", "/api/x", host: nil) == "api")
        // A host route without the method falls back to the host-less routes.
        #expect(policy.routeName("POST", "/api/x", host: "api.example.com") == "api")
    }

    @Test func ipv6HostsKeepTheirBrackets() throws {
        let policy = try PolicyFixtures.policy("""
            routes:
              - { name: v6, match: { methods: [GET], path: /x, host: "[::1]" }, upstream: u, auth: public }
            """)
        #expect(policy.routeName("GET", "/x", host: "[::1]:8080") == "v6")
        #expect(policy.routeName("GET", "/x", host: "[::1]") == "v6")
        #expect(policy.routeName("GET", "/x", host: "[::2]") == nil)
    }

    @Test func catchAllMatchesEverythingElse() throws {
        let policy = try PolicyFixtures.policy("""
            routes:
              - { name: all, match: { methods: [GET], path: /** }, upstream: u, auth: public }
              - { name: a, match: { methods: [GET], path: /a }, upstream: u, auth: public }
            """)
        #expect(policy.routeName("GET", "/a") == "a")
        #expect(policy.routeName("GET", "/") == "all")
        #expect(policy.routeName("GET", "/a/b") == "all")
        #expect(policy.routeName("GET", "/b") == "all")
    }

    @Test func tenThousandRoutesMatchTheirOwnPaths() throws {
        var yaml = "routes:\n"
        for index in 0..<10_000 {
            yaml += "  - { name: r\(index), match: { methods: [GET], path: \"/svc\(index % 100)/r\(index)/{id}\" }, upstream: u, auth: public }\n"
        }
        let policy = try PolicyFixtures.policy(yaml)
        for index in stride(from: 0, to: 10_000, by: 97) {
            #expect(policy.routeName("GET", "/svc\(index % 100)/r\(index)/7") == "r\(index)")
            #expect(policy.routeName("GET", "/svc\((index + 1) % 100)/r\(index)/7") == nil)
        }
    }
}
