import JOSE
import Testing
import GatewayPolicy
import TestSupport

@Suite("Decisions")
struct DecisionTests {
    static let yaml = """
        routes:
          - name: data
            match: { methods: [GET], path: /data }
            upstream: a
            require:
              scopes: { all: ["read:data"] }
              roles: { any: [analyst, admin] }
              claims: { department: { in: [finance, security] } }
          - name: issuer-bound
            match: { methods: [GET], path: /bound }
            upstream: a
            issuers: ["https://idp.example.com"]
          - name: open
            match: { methods: [GET], path: /open }
            upstream: a
            auth: public
          - name: composed
            match: { methods: [GET], path: /composed }
            upstream: a
            require:
              any:
                - scopes: { all: [admin] }
                - all:
                    - claims: { email_verified: { equals: true } }
                    - not: { roles: { any: [suspended] } }
          - name: realm-roles
            match: { methods: [GET], path: /kc }
            upstream: a
            require:
              roles: { all: [ops], claim: realm_access.roles }
        """

    let policy: Policy

    init() throws {
        policy = try PolicyFixtures.policy(Self.yaml)
    }

    func decide(_ path: String, _ claims: [String: JSONValue]?) -> Decision {
        policy.decide(method: "GET", host: nil, path: path, claims: claims)
    }

    let analyst: [String: JSONValue] = [
        "sub": "alice", "iss": "https://idp.example.com", "scope": "read:data write:data",
        "roles": ["analyst"], "department": "finance",
    ]

    @Test func allowsWithIdentityHeaders() throws {
        guard case .allow(let route, let headers) = decide("/data", analyst) else {
            Issue.record("denied")
            return
        }
        #expect(route.name == "data")
        #expect(route.upstream == "a")
        #expect(headers == [
            IdentityHeader(name: "X-User-Id", value: "alice"),
            IdentityHeader(name: "X-User-Scopes", value: "read:data, write:data"),
            IdentityHeader(name: "X-User-Roles", value: "analyst"),
            IdentityHeader(name: "X-Token-Issuer", value: "https://idp.example.com"),
        ])
    }

    @Test func noRouteIs404() throws {
        let denial = try #require(decide("/nothing", analyst).denial)
        #expect(denial.status == 404)
        #expect(denial.reason == .noRoute)
        #expect(denial.route == nil)
        #expect(denial.challenge == nil)
    }

    @Test func noTokenIs401WithoutErrorCode() throws {
        let denial = try #require(decide("/data", nil).denial)
        #expect(denial.status == 401)
        #expect(denial.reason == .tokenMissing)
        #expect(denial.route?.name == "data")
        #expect(denial.challenge?.headerValue(realm: "gw") == "Bearer realm=\"gw\"")
    }

    @Test func publicRouteAllowsWithoutIdentity() {
        for claims in [nil, analyst] {
            guard case .allow(let route, let headers) = decide("/open", claims) else {
                Issue.record("denied")
                continue
            }
            #expect(route.name == "open")
            #expect(headers.isEmpty)
        }
    }

    @Test func missingScopeIs403NamingTheScope() throws {
        var claims = analyst
        claims["scope"] = "write:data"
        let denial = try #require(decide("/data", claims).denial)
        #expect(denial.status == 403)
        #expect(denial.reason == .insufficientScope)
        #expect(denial.failedClause?.description == "scopes all [read:data]")
        #expect(denial.failedClause?.location.line == 6)
        #expect(denial.challenge?.headerValue(realm: "gw")
            == "Bearer realm=\"gw\", error=\"insufficient_scope\", scope=\"read:data\"")
    }

    @Test func missingRoleIs403() throws {
        var claims = analyst
        claims["roles"] = ["guest"]
        let denial = try #require(decide("/data", claims).denial)
        #expect(denial.status == 403)
        #expect(denial.reason == .missingRole)
        #expect(denial.failedClause?.description == "roles any [analyst, admin]")
        #expect(denial.challenge == .insufficientScope(scopes: ["read:data"]))
    }

    @Test func claimMismatchIs403() throws {
        var claims = analyst
        claims["department"] = "hr"
        let denial = try #require(decide("/data", claims).denial)
        #expect(denial.reason == .claimMismatch)
        #expect(denial.failedClause?.description == "claim department in [\"finance\", \"security\"]")
        #expect(denial.description.hasPrefix("deny 403 claim_mismatch (route data): claim department in"))
    }

    /// Claims of an unexpected type never pass, whatever the clause.
    @Test(arguments: [
        ("scope", JSONValue.array(["read:data"])),
        ("scope", .int(1)),
        ("scp", .object(["read:data": true])),
        ("roles", .string("analyst")),
        ("roles", .array([.string("analyst"), .int(1)])),
        ("roles", .null),
        ("department", .array(["finance"])),
        ("department", .object(["name": "finance"])),
        ("department", .double(1.5)),
        ("department", .null),
    ])
    func oddClaimTypesDeny(_ name: String, _ value: JSONValue) throws {
        var claims = analyst
        claims[name] = value
        let denial = try #require(decide("/data", claims).denial, "\(name)=\(value)")
        #expect(denial.status == 403)
    }

    @Test func scopesFromScpArrayOrString() {
        for scp: JSONValue in [["read:data"], "read:data other"] {
            var claims = analyst
            claims.removeValue(forKey: "scope")
            claims["scp"] = scp
            #expect(decide("/data", claims).status == 200, "\(scp)")
        }
    }

    @Test func issuerRestriction() throws {
        #expect(decide("/bound", ["sub": "a", "iss": "https://idp.example.com"]).status == 200)
        for iss: JSONValue? in ["https://other.example.com", "https://idp.example.com/", .int(1), nil] {
            var claims: [String: JSONValue] = ["sub": "a"]
            claims["iss"] = iss
            let denial = try #require(decide("/bound", claims).denial)
            #expect(denial.status == 401)
            #expect(denial.reason == .issuerNotAllowed)
            #expect(denial.challenge == .invalidToken)
        }
    }

    @Test func composedRequirement() throws {
        #expect(decide("/composed", ["sub": "a", "scope": "admin"]).status == 200)
        #expect(decide("/composed", ["sub": "a", "email_verified": true]).status == 200)
        #expect(decide("/composed", ["sub": "a", "email_verified": true, "roles": ["x"]]).status == 200)
        let suspended = try #require(decide("/composed", ["email_verified": true, "roles": ["suspended"]]).denial)
        #expect(suspended.status == 403)
        #expect(suspended.failedClause?.description.hasPrefix("any of [") == true)
        // "true" as a string is not the boolean true.
        #expect(decide("/composed", ["email_verified": "true"]).status == 403)
        // Roles of the wrong type cannot be judged, so `not` does not hold either.
        #expect(decide("/composed", ["email_verified": true, "roles": "suspended"]).status == 403)
        // The challenge lists scopes named outside `not`.
        #expect(policy.routes.first { $0.name == "composed" }?.challengeScopes == ["admin"])
    }

    @Test func nestedRolesClaim() {
        #expect(decide("/kc", ["sub": "a", "realm_access": ["roles": ["ops", "x"]]]).status == 200)
        #expect(decide("/kc", ["realm_access": ["roles": ["x"]]]).reason == .missingRole)
        #expect(decide("/kc", ["roles": ["ops"]]).reason == .missingRole)
        #expect(decide("/kc", ["realm_access": "ops"]).reason == .missingRole)
    }

    @Test func invalidTokenDecision() throws {
        let route = try #require(policy.routes.first)
        let denial = try #require(Decision.invalidToken(route: route, code: "bad_signature").denial)
        #expect(denial.status == 401)
        #expect(denial.reason == .tokenInvalid)
        #expect(denial.challenge?.headerValue(realm: "r") == "Bearer realm=\"r\", error=\"invalid_token\"")
    }

    @Test func routeAndAuthorizeComposeToDecide() throws {
        let route = try #require(policy.route(method: "GET", host: nil, path: "/data"))
        #expect(policy.authorize(route, claims: analyst).status == 200)
        #expect(policy.authorize(route, claims: nil).reason == .tokenMissing)
        #expect(policy.identityHeaderNames == ["x-user-id", "x-user-scopes", "x-user-roles", "x-token-issuer"])
    }
}

extension Decision {
    var denial: Denial? {
        if case .deny(let denial) = self { return denial }
        return nil
    }
}
