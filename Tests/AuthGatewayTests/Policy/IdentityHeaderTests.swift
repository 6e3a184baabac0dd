import AuthGateway
import JOSE
import Testing

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
              X-User-Email: email
              X-User-Groups: groups
              X-User-Level: level
              X-User-Verified: email_verified
              X-User-Roles: $roles
              X-User-Scopes: $scopes
              X-Tenant: "https://example\\\\.com/tenant"
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
            "sub": "user-1", "email": "a@example.com", "groups": ["g1", "g 2", .int(3), .bool(false)],
            "level": .int(-7), "email_verified": true, "realm_access": ["roles": ["ops", "dev"]],
            "scope": "a b a", "scp": ["b", "c"], "https://example.com/tenant": "acme",
        ]
        #expect(headers("/custom", claims) == [
            "X-User-Id": "user-1", "X-User-Email": "a@example.com", "X-User-Groups": "g1, g 2, 3, false",
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
        ("groups", ["ok", "a,b"]),
        ("groups", ["ok", ""]),
        ("groups", ["ok", ["nested"]]),
        ("groups", ["ok", .null]),
        ("groups", ["x\r\n"]),
        ("scope", .int(3)),
        ("scope", "a,b"),
        ("scp", ["ok", .int(1)]),
    ]

    @Test(arguments: unsafeValues)
    func unsafeValuesDeny(_ name: String, _ value: JSONValue) throws {
        var claims: [String: JSONValue] = ["sub": "u"]
        claims[name] = value
        let denial = try #require(policy.decide(method: "GET", host: nil, path: "/custom", claims: claims).denial)
        #expect(denial.status == 401)
        #expect(denial.reason == .claimUnencodable)
        #expect(denial.challenge == .invalidToken)
        if case .identityHeader(let header)? = denial.cause {
            #expect(header.hasPrefix("X-"))
        } else {
            Issue.record("cause is \(String(describing: denial.cause))")
        }
    }
}
