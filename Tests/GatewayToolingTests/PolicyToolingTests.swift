import JOSE
import Testing
@testable import GatewayPolicy
@testable import GatewayTooling
import TestSupport

@Suite("Policy lint, test runner and explain")
struct PolicyToolingTests {
    @Test func linterWarnsAboutRiskyRoutes() throws {
        let policy = try PolicyFixtures.policy("""
            routes:
              - { name: health, match: { methods: [GET], path: /healthz }, upstream: a, auth: public }
              - { name: everything, match: { methods: [GET], path: /** }, upstream: a, require: { scopes: { all: [x] } } }
              - { name: any-token, match: { methods: [GET], path: /t }, upstream: a }
              - { name: fine, match: { methods: [GET], path: /f }, upstream: a, require: { roles: { any: [r] } } }
            """, file: "p.yaml")
        let warnings = PolicyLinter.lint(policy).map(\.description)
        #expect(warnings.count == 4, "\(warnings)")
        #expect(warnings[0].hasPrefix("p.yaml:2:5: warning: route `health` is public: GET /healthz is served to anyone"))
        #expect(warnings[1].hasPrefix("p.yaml:2:5: warning: public route `health` forwards every client header"))
        #expect(warnings[2].hasPrefix("p.yaml:3:5: warning: route `everything` is a catch-all"))
        #expect(warnings[3].hasPrefix("p.yaml:4:5: warning: route `any-token` has no scope, role or claim requirement"))
        #expect(PolicyLinter.lint(policy).allSatisfy { $0.severity == .warning })
    }

    @Test("a public route without forward_headers is a warning; a list on the route or in the file's defaults (even []) silences it")
    func publicRouteAllowlistWarning() throws {
        let warned = try PolicyFixtures.policy("""
            routes:
              - { name: open, match: { methods: [GET], path: /o }, upstream: a, auth: public, public_reason: "probes" }
              - { name: closed, match: { methods: [GET], path: /c }, upstream: a, require: { scopes: { all: [x] } } }
            """, file: "p.yaml")
        #expect(PolicyLinter.lint(warned).map(\.description).count == 1)
        #expect(PolicyLinter.lint(warned).first?.description.hasPrefix(
            "p.yaml:2:5: warning: public route `open` forwards every client header") == true)
        for yaml in [
            "routes:\n  - { name: open, match: { methods: [GET], path: /o }, upstream: a, auth: public, public_reason: p, forward_headers: [] }",
            "defaults:\n  forward_headers: [Accept]\nroutes:\n  - { name: open, match: { methods: [GET], path: /o }, upstream: a, auth: public, public_reason: p }",
        ] {
            let policy = try PolicyFixtures.policy(yaml, file: "p.yaml")
            #expect(PolicyLinter.lint(policy).isEmpty, "\(PolicyLinter.lint(policy).map(\.description))")
        }
    }

    @Test("public_reason acknowledges a public route (no warning; lint --strict passes it) and only fits public routes")
    func publicReasonAcknowledges() throws {
        let policy = try PolicyFixtures.policy("""
            routes:
              - name: health
                match: { methods: [GET], path: /healthz }
                upstream: a
                auth: public
                public_reason: "the load balancer's health check"
                forward_headers: [Accept]
            """, file: "p.yaml")
        #expect(PolicyLinter.lint(policy).isEmpty, "\(PolicyLinter.lint(policy).map(\.description))")
        #expect(policy.routes.first?.publicReason == "the load balancer's health check")
        let errors = PolicyFixtures.errors("""
            routes:
              - name: data
                match: { methods: [GET], path: /data }
                upstream: a
                public_reason: "why not"
            """)
        #expect(errors.count == 1 && errors[0].description.contains("`public_reason` is only for a route with `auth: public`"), "\(errors)")
    }

    @Test("a rate limit one client can spend for all (key: route, or iss on a protected route) is a warning; per-caller keys are not")
    func sharedRateLimitBucket() throws {
        let policy = try PolicyFixtures.policy("""
            routes:
              - { name: shared, match: { methods: [GET], path: /a }, upstream: a, require: { scopes: { all: [x] } }, rate_limit: { key: route, rate: 10/s } }
              - { name: per-idp, match: { methods: [GET], path: /b }, upstream: a, require: { scopes: { all: [x] } }, rate_limit: { key: iss, rate: 10/s } }
              - { name: mine, match: { methods: [GET], path: /c }, upstream: a, require: { scopes: { all: [x] } }, rate_limit: { key: sub, rate: 10/s } }
            """, file: "p.yaml")
        let warnings = PolicyLinter.lint(policy).map(\.description)
        #expect(warnings.count == 2, "\(warnings)")
        #expect(warnings.first?.hasPrefix("p.yaml:2:5: warning: route `shared` shares one rate-limit bucket among all its clients (`key: route`)") == true)
        #expect(warnings.last?.contains("route `per-idp`") == true && warnings.last?.contains("`key: sub` or `key: client_id`") == true)
    }

    @Test("a `:id` path segment is a warning that suggests `{id}`; an unquoted `{id}` inside a flow mapping gets a quoting hint")
    func parameterSpellings() throws {
        let policy = try PolicyFixtures.policy("""
            routes:
              - { name: user, match: { methods: [GET], path: "/users/:id/posts" }, upstream: a, require: { scopes: { all: [x] } } }
            """, file: "p.yaml")
        let warnings = PolicyLinter.lint(policy).map(\.description)
        #expect(warnings == [
            "p.yaml:2:5: warning: route `user`: the path segment `:id` matches the text `:id` literally; hint: did you mean "
                + "`{id}`? Parameters are written in braces (quote the path inside `{ ... }`)",
        ])
        let errors = PolicyFixtures.errors("""
            routes:
              - { name: item, match: { methods: [GET], path: /items/{id} }, upstream: a, auth: public }
            """)
        #expect(errors.count == 1 && errors[0].description.contains("YAML syntax error") && errors[0].description.contains(#"quote a value that holds `{`"#), "\(errors)")
    }

    @Test func witnessPathsCoverPrefixPatterns() throws {
        let pattern = try PathPattern.parse("/a/{id}/**").get()
        #expect(PolicyLinter.witnessPaths(for: pattern) == ["/a/~lint~", "/a/~lint~/", "/a/~lint~/~lint~", "/a/~lint~/~lint~/~lint~"])
        #expect(PolicyLinter.witnessPaths(for: try PathPattern.parse("/**").get()).first == "/")
    }

    @Test func runnerReportsLikeATestRunner() throws {
        let policy = try PolicyFixtures.policy("""
            routes:
              - { name: data, match: { methods: [GET], path: /data }, upstream: a, require: { scopes: { all: [read] } } }
            """)
        let cases = try PolicyTestCaseLoader.load(sources: [PolicySource(path: "t.yaml", text: """
            cases:
              - name: allowed
                request: { method: GET, path: /data }
                claims: { sub: alice, scope: read }
                expect: { status: 200, route: data, headers: { x-user-id: alice, X-User-Scopes: read } }
              - name: wrong status
                request: { method: GET, path: /data }
                expect: { status: 200 }
              - name: wrong headers
                request: { method: GET, path: /data }
                claims: { sub: bob, scope: read, roles: [x] }
                expect: { status: 200, headers: { X-User-Id: alice } }
              - name: bad path
                request: { method: GET, path: "/data%2f" }
                expect: { status: 400, reason: bad_path }
            """)])
        let report = PolicyTestRunner.run(cases, policy: policy)
        #expect(report.lines == [
            "ok allowed",
            "FAIL wrong status: expected status 200, got 401 (deny 401 token_missing (route data)) (t.yaml:6:5)",
            "FAIL wrong headers: expected header X-User-Id: alice, got bob; expected no header X-User-Roles, got x; "
                + "expected no header X-User-Scopes, got read (t.yaml:9:5)",
            "ok bad path",
            "2 passed, 2 failed",
        ])
    }

    @Test func testFilesAreValidatedStrictly() {
        do {
            _ = try PolicyTestCaseLoader.load(sources: [PolicySource(path: "t.yaml", text: """
                cases:
                  - name: one
                    request: { method: GET, paht: /x }
                    expect: { status: 299 }
                  - name: one
                    request: { method: GET, path: /x }
                    claims: { roles: [yes] }
                    expect: { status: 200 }
                """)])
            Issue.record("loaded")
        } catch {
            let text = error.diagnostics.map(\.description)
            #expect(text.contains("t.yaml:3:29: error: unknown key `paht` in `request`; hint: did you mean `path`?"), "\(text)")
            #expect(text.contains { $0.hasPrefix("t.yaml:4:23: error: the policy never answers 299") })
            #expect(text.contains { $0.hasPrefix("t.yaml:7:23: error: `yes` in `roles` is a boolean") })
        }
    }

    @Test func explainShowsEveryClause() throws {
        let policy = try PolicyFixtures.policy("""
            routes:
              - name: data
                match: { methods: [GET], path: /data }
                upstream: svc
                require:
                  scopes: { all: [read] }
                  roles: { any: [admin] }
            """, file: "p.yaml")
        let explanation = PolicyExplainer.explain(
            policy, method: "GET", host: nil, target: "/x/../data?q=1",
            claims: ["sub": "alice", "scope": "read", "roles": ["guest"]], realm: "gw")
        #expect(explanation.description == """
            request:     GET /x/../data?q=1
            canonical:   /data  (normalized)  (query "q=1" is not used for routing)
            route:       data  [p.yaml:2:5]
                         GET /data → upstream svc
            access:      token required
            token:       claims given
            issuer:      absent (the route accepts every issuer the gateway trusts)
            requirement:
              failed      all of 2 clauses  [p.yaml:6:7]
              held          scopes all [read]  [p.yaml:6:7] — scope: "read", scp: absent
              failed        roles any [admin]  [p.yaml:7:7] — roles: ["guest"]
            identity headers:
              X-User-Id: alice
              X-User-Scopes: read
              X-User-Roles: guest
              X-Token-Issuer: (not sent: iss is absent or empty)
            decision:    deny 403 missing_role (route data): roles any [admin] at p.yaml:7:7
                         WWW-Authenticate: Bearer realm="gw", error="insufficient_scope", scope="read"
            """)
    }

    @Test func explainNoRouteAndBadPath() throws {
        let policy = try PolicyFixtures.policy("""
            routes:
              - { name: data, match: { methods: [POST], path: /data }, upstream: a }
            """)
        let none = PolicyExplainer.explain(policy, method: "GET", host: nil, target: "/data", claims: nil)
        #expect(none.lines.contains("             other methods would match: POST → `data`"))
        #expect(none.decision.status == 404)
        let bad = PolicyExplainer.explain(policy, method: "GET", host: nil, target: "/a%00", claims: nil)
        #expect(bad.lines.contains("canonical:   rejected: encoded_nul at byte 2"))
        #expect(bad.decision.status == 400)
    }
}
