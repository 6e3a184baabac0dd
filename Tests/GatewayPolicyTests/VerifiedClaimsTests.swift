import GatewayPolicy
import JOSE
import TestSupport
import Testing

/// A cached token keeps the last route's decision: it must be the decision the policy makes, for that route
/// object only, so a reload (new route objects, perhaps under the same names) is always decided afresh.
@Suite("Verified claims")
struct VerifiedClaimsTests {
    static func yaml(scope: String, header: String) -> String {
        """
        routes:
          - name: read
            match: { methods: [GET], path: /api/** }
            upstream: a
            require: { scopes: { all: [\(scope)] } }
            identity_headers:
              \(header): sub
          - name: admin
            match: { methods: [GET], path: /admin/** }
            upstream: a
            require: { roles: { any: [admin] } }
        """
    }

    static let claims: [String: JSONValue] = ["sub": "alice", "scope": "read", "roles": ["viewer"]]

    static func summary(_ decision: Decision) -> String {
        switch decision {
        case .allow(let route, let headers): return "allow \(route.name) \(headers)"
        case .deny(let denial): return "deny \(denial.route?.name ?? "-") \(denial.status) \(denial.reason)"
        }
    }

    static func route(_ policy: Policy, _ path: String) throws -> Route {
        try #require(policy.route(method: "GET", host: nil, path: path))
    }

    @Test("each answer is the policy's own, also when routes alternate and for a denial")
    func sameAsThePolicy() throws {
        let policy = try PolicyFixtures.policy(Self.yaml(scope: "read", header: "X-User-Id"))
        let verified = VerifiedClaims(Self.claims)
        for path in ["/api/a", "/api/b", "/admin/x", "/api/a", "/admin/y", "/admin/y"] {
            let route = try Self.route(policy, path)
            let fresh = policy.authorize(route, claims: Self.claims)
            #expect(Self.summary(verified.decision(for: route, by: policy)) == Self.summary(fresh), "\(path)")
        }
        #expect(Self.summary(verified.decision(for: try Self.route(policy, "/api/a"), by: policy))
            == "allow read [X-User-Id: alice]")
        #expect(Self.summary(verified.decision(for: try Self.route(policy, "/admin/x"), by: policy))
            == "deny admin 403 missing_role")
    }

    @Test("a reloaded policy's route of the same name is decided again, never from the old route's answer")
    func reloadDecidesAgain() throws {
        let before = try PolicyFixtures.policy(Self.yaml(scope: "read", header: "X-User-Id"))
        let verified = VerifiedClaims(Self.claims)
        #expect(Self.summary(verified.decision(for: try Self.route(before, "/api/a"), by: before))
            == "allow read [X-User-Id: alice]")

        let stricter = try PolicyFixtures.policy(Self.yaml(scope: "write", header: "X-User-Id"))
        #expect(Self.summary(verified.decision(for: try Self.route(stricter, "/api/a"), by: stricter))
            == "deny read 403 insufficient_scope")

        let renamed = try PolicyFixtures.policy(Self.yaml(scope: "read", header: "X-Subject"))
        #expect(Self.summary(verified.decision(for: try Self.route(renamed, "/api/a"), by: renamed))
            == "allow read [X-Subject: alice]")
    }
}
