import JOSE
import Testing
import GatewayPolicy
import TestSupport

@Suite("Identity headers")
struct IdentityHeaderTests {
    static let yaml = """
        defaults:
          roles_claim: realm_access.roles
        routes:
          - name: custom
            match: { methods: [GET], path: /custom }
            upstream: a
            identity_headers:
              X-User-Id: sub
              X-User-Email: { from: email, optional: true }
              X-User-Groups: { from: groups, optional: true }
              X-User-Level: { from: level, optional: true }
              X-User-Verified: { from: email_verified, optional: true }
              X-User-Roles: $roles
              X-User-Scopes: $scopes
              X-Tenant: { from: "https://example\\\\.com/tenant", optional: true }
          - name: strict
            match: { methods: [GET], path: /strict }
            upstream: a
            identity_headers:
              X-User-Id: { from: sub, optional: false }
              X-User-Department: department
              X-User-Roles: { from: $roles, optional: false }
          - name: none
            match: { methods: [GET], path: /none }
            upstream: a
            identity_headers: {}
          - name: default
            match: { methods: [GET], path: /default }
            upstream: a
        """

    let policy: Policy

    init() throws {
        policy = try PolicyFixtures.policy(Self.yaml)
    }

    func headers(_ path: String, _ claims: [String: JSONValue]) -> [String: String]? {
        guard case .allow(_, let headers) = policy.decide(method: "GET", host: nil, path: path, claims: claims)
        else { return nil }
        return Dictionary(uniqueKeysWithValues: headers.map { ($0.name, $0.value) })
    }

    @Test func encodesStringsNumbersBooleansAndLists() {
        let claims: [String: JSONValue] = [
            "sub": "user-1", "email": "a@example.com", "groups": ["g1", "g-2@example", .int(3), .bool(false)],
            "level": .int(-7), "email_verified": true, "realm_access": ["roles": ["ops", "dev"]],
            "scope": "a b a", "scp": ["b", "c"], "https://example.com/tenant": "acme",
        ]
        #expect(headers("/custom", claims) == [
            "X-User-Id": "user-1", "X-User-Email": "a@example.com", "X-User-Groups": "g1, g-2@example, 3, false",
            "X-User-Level": "-7", "X-User-Verified": "true", "X-User-Roles": "ops, dev",
            "X-User-Scopes": "a, b, c", "X-Tenant": "acme",
        ])
    }

    @Test func absentNullAndEmptyValuesAreNotSent() {
        let claims: [String: JSONValue] = ["sub": "u", "email": .null, "groups": [], "level": ""]
        #expect(headers("/custom", claims) == ["X-User-Id": "u"])
    }

    @Test func explicitlyEmptyMappingSendsNothing() {
        #expect(headers("/none", ["sub": "u", "roles": ["x"]]) == [:])
    }

    @Test func defaultsUseTheFileRolesClaim() {
        #expect(headers("/default", ["sub": "u", "realm_access": ["roles": ["ops"]], "roles": ["ignored"]]) == [
            "X-User-Id": "u", "X-User-Roles": "ops",
        ])
    }

    /// A value that could split or inject a header denies the request (401 claim_unencodable); it is never
    /// dropped silently or sent mangled.
    static let unsafeValues: [(String, JSONValue)] = [
        ("sub", "alice\r\nX-User-Roles: admin"),
        ("sub", "alice\nadmin"),
        ("sub", "alice\u{0}"),
        ("sub", "alice\u{7f}"),
        ("sub", "tab\there"),
        ("sub", "alice, admin"),
        ("sub", "José"),
        ("sub", "alice\u{2028}"),
        ("sub", " alice"),
        ("sub", "alice "),
        ("sub", .double(1.5)),
        ("sub", .object(["a": "b"])),
        // A claim that names one thing is never sent as a list (issue 11, class 3: `X-User-Id: alice, admin`).
        ("sub", ["alice", "admin"]),
        ("sub", ["alice"]),
        ("groups", ["ok", "a,b"]),
        ("groups", ["ok", ""]),
        ("groups", ["ok", ["nested"]]),
        ("groups", ["ok", .null]),
        ("groups", ["x\r\n"]),
        ("scope", .int(3)),
        ("scope", "a,b"),
        ("scp", ["ok", .int(1)]),
        // List elements are tokens: a separator inside one would make a parser see extra elements.
        ("groups", ["user admin"]),
        ("groups", ["user;admin"]),
        ("groups", ["\"admin\""]),
        ("groups", ["admin\\"]),
        ("realm_access", ["roles": ["team lead"]]),
        ("realm_access", ["roles": ["a=b(c)"]]),
        ("scope", "read:data write;admin"),
        ("scp", ["read data"]),
        // Roles are read as the policy reads them: only an array of strings. A string would reach the upstream
        // as one value that splits into roles no `roles` clause granted.
        ("realm_access", ["roles": "viewer admin"]),
        ("realm_access", ["roles": "admin"]),
        ("realm_access", ["roles": [.int(1)]]),
        ("realm_access", ["roles": [.bool(true)]]),
        ("realm_access", ["roles": .object(["admin": true])]),
    ]

    /// The header each claim of ``unsafeValues`` feeds in the `custom` route.
    static let headerOfClaim = [
        "sub": "X-User-Id", "groups": "X-User-Groups", "scope": "X-User-Scopes", "scp": "X-User-Scopes",
        "realm_access": "X-User-Roles",
    ]

    /// A required identity header whose claim is missing, null or empty denies (401 claim_missing): the
    /// upstream would otherwise see no identity and might fall back to a default one.
    static let missingRequired: [(String, [String: JSONValue])] = [
        ("/custom", [:]),
        ("/custom", ["sub": .null]),
        ("/custom", ["sub": ""]),
        ("/default", ["roles": ["ops"]]),
        ("/strict", ["sub": "u", "realm_access": ["roles": ["ops"]]]),
        ("/strict", ["sub": "u", "department": "x"]),
        ("/strict", ["sub": "u", "department": "x", "realm_access": ["roles": []]]),
    ]

    @Test(arguments: missingRequired)
    func missingRequiredClaimDenies(_ path: String, _ claims: [String: JSONValue]) throws {
        let denial = try #require(policy.decide(method: "GET", host: nil, path: path, claims: claims).denial)
        #expect(denial.status == 401)
        #expect(denial.reason == .claimMissing)
        #expect(denial.challenge == .invalidToken)
    }

    @Test func strictRouteAllowsWhenEverythingIsThere() {
        #expect(headers("/strict", ["sub": "u", "department": "ops", "realm_access": ["roles": ["r"]]]) == [
            "X-User-Id": "u", "X-User-Department": "ops", "X-User-Roles": "r",
        ])
    }

    @Test(arguments: unsafeValues)
    func unsafeValuesDeny(_ name: String, _ value: JSONValue) throws {
        var claims: [String: JSONValue] = ["sub": "u"]
        claims[name] = value
        let denial = try #require(policy.decide(method: "GET", host: nil, path: "/custom", claims: claims).denial)
        #expect(denial.status == 401)
        #expect(denial.reason == .claimUnencodable)
        #expect(denial.challenge == .invalidToken)
        if case .identityHeader(let header)? = denial.cause {
            #expect(header == Self.headerOfClaim[name])
        } else {
            Issue.record("cause is \(String(describing: denial.cause))")
        }
    }
}
