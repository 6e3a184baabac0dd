import Foundation
import Testing
import GatewayPolicy
import TestSupport

@Suite("Policy loader")
struct PolicyLoaderTests {
    static let environment = PolicyEnvironment(
        upstreams: ["service-a", "service-b"], issuers: ["https://idp.example.com"])

    @Test func misspeltKeyNamesFileLineAndSuggests() {
        let errors = PolicyFixtures.errors("""
            routes:
              - name: data
                match: { methods: [GET], path: /data }
                upstream: service-a
                require:
                  scope: { all: ["read:data"] }
            """)
        #expect(errors.map(\.description) == [
            "bad.yaml:6:7: error: unknown key `scope` in a requirement; hint: did you mean `scopes`?",
        ])
    }

    @Test func yamlBooleanRoleIsAnError() {
        let errors = PolicyFixtures.errors("""
            routes:
              - name: admin
                match: { methods: [GET], path: /admin/** }
                upstream: service-a
                require:
                  roles: { any: [admin, no, on] }
            """)
        #expect(errors.map(\.description) == [
            "bad.yaml:6:29: error: `no` is read by YAML as a boolean, not a string, in an entry of `roles.any`; "
                + "hint: quote it: \"no\"",
            "bad.yaml:6:33: error: `on` is read by YAML as a boolean, not a string, in an entry of `roles.any`; "
                + "hint: quote it: \"on\"",
        ])
    }

    @Test func quotedBooleanRoleIsAString() throws {
        let policy = try PolicyFixtures.policy("""
            routes:
              - name: admin
                match: { methods: [GET], path: /admin/** }
                upstream: service-a
                require:
                  roles: { any: ["no", 'yes', !!str on] }
            """)
        #expect(policy.decide(method: "GET", host: nil, path: "/admin/x", claims: ["sub": "a", "roles": ["on"]]).status == 200)
        #expect(policy.decide(method: "GET", host: nil, path: "/admin/x", claims: ["roles": [true]]).status == 403)
    }

    @Test func unknownUpstreamNamesTheKnownOnes() {
        let errors = PolicyFixtures.errors("""
            routes:
              - name: data
                match: { methods: [GET], path: /data }
                upstream: service-c
            """, environment: Self.environment)
        #expect(errors.map(\.description) == [
            "bad.yaml:4:15: error: unknown upstream `service-c`; hint: did you mean `service-a`?",
        ])
        let far = PolicyFixtures.errors("""
            routes:
              - { name: data, match: { methods: [GET], path: /data }, upstream: billing }
            """, environment: Self.environment)
        #expect(far.map(\.description) == [
            "bad.yaml:2:69: error: unknown upstream `billing`; hint: expected one of `service-a`, `service-b`",
        ])
    }

    @Test func unknownIssuer() {
        let errors = PolicyFixtures.errors("""
            routes:
              - name: data
                match: { methods: [GET], path: /data }
                upstream: service-a
                issuers: ["https://idp.example.org"]
            """, environment: Self.environment)
        #expect(errors.map(\.description) == [
            "bad.yaml:5:15: error: unknown issuer `https://idp.example.org`; hint: did you mean `https://idp.example.com`?",
        ])
    }

    @Test func duplicateRouteAcrossFiles() {
        let errors = PolicyFixtures.errors([
            ("a.yaml", """
                routes:
                  - { name: data, match: { methods: [GET, POST], path: "/data/{id}" }, upstream: a, auth: public }
                """),
            ("b.yaml", """
                routes:
                  - name: data-again
                    match: { methods: [POST], path: "/data/*" }
                    upstream: a
                  - name: data
                    match: { methods: [GET], path: /other }
                    upstream: a
                """),
        ])
        #expect(errors.map(\.description) == [
            "b.yaml:2:5: error: route `data-again` overlaps route `data` (a.yaml:2:5): both match POST /data/*; "
                + "hint: a request can go to one route only: change the methods, path or host of one of them, "
                + "or merge them",
            "b.yaml:5:5: error: route name `data` is already used by the route at a.yaml:2:5; "
                + "hint: route names are unique across all policy files; rename one of them",
        ])
    }

    @Test func samePatternOnDifferentMethodsOrHostsIsFine() throws {
        let policy = try PolicyFixtures.policy("""
            routes:
              - { name: read, match: { methods: [GET], path: /data }, upstream: a }
              - { name: write, match: { methods: [POST], path: /data }, upstream: a }
              - { name: hosted, match: { methods: [GET], path: /data, host: x.example }, upstream: a }
              - { name: prefix, match: { methods: [GET], path: /data/** }, upstream: a }
            """)
        #expect(policy.routes.count == 4)
    }

    @Test func duplicateYAMLKeyIsAnError() {
        let errors = PolicyFixtures.errors("""
            routes:
              - name: data
                match: { methods: [GET], path: /data }
                upstream: a
                upstream: b
            """)
        #expect(errors.count == 1)
        #expect(errors.first?.description.hasPrefix("bad.yaml:4:5: error: duplicate key `upstream` in a mapping") == true)
    }

    @Test func reportsEveryErrorInEveryFile() {
        let errors = PolicyFixtures.errors([
            ("a.yaml", """
                routes:
                  - name: one
                    match: { methods: [GET, get, FETCH], path: /x// }
                    upstream: service-z
                    require: {}
                    auht: public
                """),
            ("b.yaml", """
                route:
                  - name: two
                """),
            ("c.yaml", "routes: [\n"),
        ], environment: Self.environment)
        let text = errors.map(\.description)
        #expect(text.count == 9, "\(text.joined(separator: "\n"))")
        #expect(text.contains("a.yaml:3:29: error: unknown HTTP method `get`; hint: method names are case-sensitive: write `GET`"))
        #expect(text.contains { $0.hasPrefix("a.yaml:3:34: error: unknown HTTP method `FETCH`") })
        #expect(text.contains { $0.hasPrefix("a.yaml:3:48: error: invalid path pattern `/x//`: empty path segment") })
        #expect(text.contains { $0.hasPrefix("a.yaml:4:15: error: unknown upstream `service-z`") })
        #expect(text.contains { $0.hasPrefix("a.yaml:5:14: error: empty requirement") })
        #expect(text.contains("a.yaml:6:5: error: unknown key `auht` in a route; hint: did you mean `auth`?"))
        #expect(text.contains("b.yaml:1:1: error: unknown key `route` in a policy file; hint: did you mean `routes`?"))
        #expect(text.contains("b.yaml:1:1: error: missing `routes` in a policy file"))
        #expect(text.contains { $0.hasPrefix("c.yaml:2:1: error: YAML syntax error") })
    }

    @Test(arguments: [
        // (yaml body under a protected route's `require:`, expected message fragment)
        ("scopes: { all: [] }", "`scopes.all` is an empty list"),
        ("scopes: {}", "`scopes` needs `all` or `any`"),
        ("scopes: [read]", "`scopes` must be a mapping, not a list"),
        ("scopes: { all: [\"a b\"] }", "`a b` is not a valid scope"),
        ("roles: { any: [x], claim: \"a..b\" }", "`a..b` is not a claim path"),
        ("claims: {}", "`claims` is empty"),
        ("claims: { dept: { equals: a, in: [b] } }", "needs exactly one of `equals`, `in` or `exists`"),
        ("claims: { dept: { equal: a } }", "unknown key `equal` in the condition on claim `dept`"),
        ("claims: { dept: { in: [] } }", "`in` is an empty list"),
        ("claims: { dept: { equals: 1.5 } }", "`1.5` in `equals` is a number"),
        ("claims: { dept: { equals: 0x1F } }", "`0x1F` in `equals` is an integer"),
        ("claims: { dept: { equals: yes } }", "`yes` in `equals` is a boolean"),
        ("claims: { dept: { exists: yes } }", "`exists` must be `true` or `false`"),
        ("all: []", "`all` is an empty list"),
        ("any: [{}]", "empty requirement"),
        ("not: [x]", "a requirement must be a mapping, not a list"),
        ("roles: { any: [2024-01-01] }", "`2024-01-01` is read by YAML as a timestamp"),
        ("roles: { any: [~] }", "an entry of `roles.any` is empty"),
        ("roles: { any: [x, x] }", "`x` is listed twice"),
    ])
    func requirementErrors(_ body: String, _ fragment: String) {
        let errors = PolicyFixtures.errors("""
            routes:
              - name: r
                match: { methods: [GET], path: /r }
                upstream: a
                require:
                  \(body)
            """)
        #expect(errors.contains { $0.message.contains(fragment) }, "\(errors.map(\.description))")
        #expect(errors.allSatisfy { $0.location.file == "bad.yaml" && $0.location.line >= 5 })
    }

    @Test(arguments: [
        ("match: { methods: [GET], path: /r }\n    upstream: a\n    auth: public\n    require: { scopes: { all: [x] } }",
         "a public route cannot have `require`"),
        ("match: { methods: [GET], path: /r }\n    upstream: a\n    auth: open", "unknown `auth` value `open`"),
        ("match: { methods: [GET], path: /r }", "missing `upstream` in a route"),
        ("match: { methods: [GET] }\n    upstream: a", "missing `path` in `match`"),
        ("match: { methods: [TRACE], path: /r }\n    upstream: a", "unknown HTTP method `TRACE`"),
        ("match: { methods: [GET], path: /r, host: \"api.example.com:443\" }\n    upstream: a", "is not a host name"),
        ("match: { methods: [GET], path: /r }\n    upstream: a\n    identity_headers: { Host: sub }", "`Host` cannot be an identity header"),
        ("match: { methods: [GET], path: /r }\n    upstream: a\n    identity_headers: { X_User: sub }", "not a valid identity header name"),
        ("match: { methods: [GET], path: /r }\n    upstream: a\n    identity_headers: { X-A: sub, x-a: iss }", "identity header `x-a` is set twice"),
        ("match: { methods: [GET], path: /r }\n    upstream: a\n    identity_headers: { X-A: $scope }", "unknown identity source `$scope`"),
        ("match: { methods: [GET], path: /r }\n    upstream: a\n    forward_authorization: yes", "`forward_authorization` must be `true` or `false`"),
        ("match: &m { methods: [GET], path: /r }\n    upstream: a", "anchors and aliases"),
        ("match: { methods: [GET], path: /r }\n    upstream: a\n    <<: { auth: public }", "merge key"),
    ])
    func routeErrors(_ body: String, _ fragment: String) {
        let errors = PolicyFixtures.errors("routes:\n  - name: r\n    \(body)\n")
        #expect(errors.contains { $0.message.contains(fragment) }, "\(errors.map(\.description))")
    }

    @Test func aliasesAreRefusedWherever() {
        let errors = PolicyFixtures.errors("""
            routes:
              - name: a
                match: { methods: [GET], path: /a }
                upstream: &up service-a
              - name: b
                match: { methods: [GET], path: /b }
                upstream: *up
            """)
        #expect(!errors.isEmpty)
        #expect(errors.allSatisfy { $0.message.contains("anchors and aliases") })
    }

    @Test func emptyFileAndNonMappingFile() {
        #expect(PolicyFixtures.errors("").map(\.description) == [
            "bad.yaml:1:1: error: the file is empty; hint: a policy file needs a `routes:` list",
        ])
        #expect(PolicyFixtures.errors("- a\n").first?.message == "a policy file must be a mapping, not a list")
        #expect(PolicyFixtures.errors("routes: []\n").first?.message == "`routes` is an empty list")
        #expect(PolicyFixtures.errors("version: 2\nroutes: [{ name: a, match: { methods: [GET], path: /a }, upstream: a }]\n")
            .first?.message == "unsupported policy format version 2")
    }

    @Test func loadErrorDescriptionListsEverything() {
        do {
            _ = try PolicyLoader.load(sources: [PolicySource(path: "x.yaml", text: "routes: 1\n")])
            Issue.record("loaded")
        } catch {
            #expect(error.description == """
                x.yaml:1:9: error: `routes` must be a list, not an integer; hint: write `[1]` for a list of one
                1 error; the policy was not loaded
                """)
        }
    }

    @Test func directoryLoadingSkipsTestsAndOtherFiles() throws {
        let directory = URL(fileURLWithPath: try TestTools.temporaryDirectory(prefix: "policy"))
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("tests"), withIntermediateDirectories: true)
        try "routes: [{ name: a, match: { methods: [GET], path: /a }, upstream: x, auth: public }]\n"
            .write(to: directory.appendingPathComponent("a.yaml"), atomically: true, encoding: .utf8)
        try "routes: [{ name: b, match: { methods: [GET], path: /b }, upstream: x, auth: public }]\n"
            .write(to: directory.appendingPathComponent("b.yml"), atomically: true, encoding: .utf8)
        try "cases: []\n".write(to: directory.appendingPathComponent("tests/t.yaml"), atomically: true, encoding: .utf8)
        try "not yaml: [".write(to: directory.appendingPathComponent("notes.txt"), atomically: true, encoding: .utf8)
        try "broken: [".write(to: directory.appendingPathComponent(".hidden.yaml"), atomically: true, encoding: .utf8)
        let policy = try PolicyLoader.load(directory: directory.path)
        #expect(policy.routes.map(\.name) == ["a", "b"])
        #expect(policy.routes.first?.location.file == directory.path + "/a.yaml")
    }

    @Test func missingOrEmptyDirectory() throws {
        #expect(throws: PolicyLoadError.self) { try PolicyLoader.load(directory: "/nonexistent/policies") }
        let directory = URL(fileURLWithPath: try TestTools.temporaryDirectory(prefix: "empty"))
        defer { try? FileManager.default.removeItem(at: directory) }
        do {
            _ = try PolicyLoader.load(directory: directory.path)
        } catch {
            #expect(error.diagnostics.first?.message == "no policy files (*.yaml, *.yml)")
        }
    }

    // MARK: forward_headers (issue 11: the allowlist mode)

    @Test("forward_headers: a file's defaults apply to its routes, a route's own list replaces them, [] forwards none")
    func forwardHeadersInheritance() throws {
        let policy = try PolicyFixtures.policy("""
            defaults:
              forward_headers: [Accept, Content-Type]
            routes:
              - { name: inherits, match: { methods: [GET], path: /a }, upstream: a, auth: public }
              - { name: own, match: { methods: [GET], path: /b }, upstream: a, auth: public, forward_headers: [X-Custom] }
              - { name: none, match: { methods: [GET], path: /c }, upstream: a, auth: public, forward_headers: [] }
            """)
        let lists = Dictionary(uniqueKeysWithValues: policy.routes.map { ($0.name, $0.forwardHeaders) })
        #expect(lists["inherits"] == .some(["Accept", "Content-Type"]))
        #expect(lists["own"] == .some(["X-Custom"]))
        #expect(lists["none"] == .some([]))
        let other = try PolicyFixtures.policy("routes:\n  - { name: open, match: { methods: [GET], path: /a }, upstream: a, auth: public }")
        #expect(other.routes.first?.forwardHeaders == nil, "without forward_headers a route is not in allowlist mode")
    }

    /// A name the allowlist could never pass is an error, not a silent no-op: the gateway's own headers, names a
    /// server may fold into another (`_`, `.`), and every name of the maintained denylist, in any case.
    @Test("forward_headers refuses names it could never forward", arguments: [
        ("Host", "cannot be in `forward_headers`"),
        ("content-length", "cannot be in `forward_headers`"),
        ("Authorization", "use `forward_authorization: true`"),
        ("Content_Type", "is not a header name `forward_headers` can list"),
        ("X.Custom", "is not a header name `forward_headers` can list"),
        ("X-Forwarded-For", "the gateway strips it from every request"),
        ("x-real-ip", "the gateway strips it from every request"),
        ("X-Auth-Request-User", "the gateway strips it from every request"),
        ("Remote-User", "the gateway strips it from every request"),
        ("X-HTTP-Method-Override", "the gateway strips it from every request"),
        ("Connection", "the gateway strips it from every request"),
        ("X-Request-Id", "the gateway strips it from every request"),
    ])
    func forwardHeadersRefused(_ name: String, _ message: String) {
        for place in ["route", "defaults"] {
            let yaml = place == "route"
                ? "routes:\n  - { name: r, match: { methods: [GET], path: /a }, upstream: a, auth: public, forward_headers: [Accept, \"\(name)\"] }"
                : "defaults:\n  forward_headers: [Accept, \"\(name)\"]\nroutes:\n  - { name: r, match: { methods: [GET], path: /a }, upstream: a, auth: public }"
            let errors = PolicyFixtures.errors(yaml).map(\.description)
            #expect(errors.count == 1, "\(place): \(errors)")
            #expect(errors.first?.contains(message) == true, "\(place): \(errors)")
        }
    }

    @Test("forward_headers: a name listed twice (in any case) is an error")
    func forwardHeadersDuplicate() {
        let errors = PolicyFixtures.errors(
            "routes:\n  - { name: r, match: { methods: [GET], path: /a }, upstream: a, auth: public, forward_headers: [Accept, accept] }")
        #expect(errors.map(\.description).contains { $0.contains("`accept` is listed twice") }, "\(errors)")
    }
}
