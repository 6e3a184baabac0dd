import Testing

@testable import JOSE

@Suite("JWTClaims")
struct JWTClaimsTests {
    private static func claims(_ json: String) throws -> JWTClaims {
        JWTClaims(fields: try JSONParser.parseObject(json))
    }

    @Test("Registered claims")
    func registered() throws {
        let claims = try Self.claims(#"{"sub":"alice","iss":"https://idp","exp":1700000000,"nbf":1.5,"iat":0}"#)
        #expect(claims.subject == "alice")
        #expect(claims.issuer == "https://idp")
        #expect(claims.expiresAt == 1_700_000_000)
        #expect(claims.notBefore == 1.5)
        #expect(claims.issuedAt == 0)
        #expect(claims["sub"] == .string("alice"))
        #expect(claims["missing"] == nil)
        #expect(JWTClaims([:]).fields.isEmpty)
    }

    @Test("Wrong types read as absent")
    func wrongTypes() throws {
        let claims = try Self.claims(#"{"sub":1,"iss":["x"],"exp":"1700000000","nbf":null,"iat":true,"aud":7}"#)
        #expect(claims.subject == nil)
        #expect(claims.issuer == nil)
        #expect(claims.expiresAt == nil)
        #expect(claims.notBefore == nil)
        #expect(claims.issuedAt == nil)
        #expect(claims.audiences == [])
        #expect(try Self.claims("{}").subject == nil)
    }

    @Test(
        "Audiences from a string or an array",
        arguments: [
            (#"{"aud":"api"}"#, ["api"]),
            (#"{"aud":["api","web"]}"#, ["api", "web"]),
            (#"{"aud":["api",1,null,"web"]}"#, ["api", "web"]),
            (#"{"aud":[]}"#, []),
            (#"{}"#, []),
        ]
    )
    func audiences(json: String, expected: [String]) throws {
        #expect(try Self.claims(json).audiences == expected)
    }

    @Test(
        "Scopes from scope (space-separated) or scp (array or string)",
        arguments: [
            (#"{"scope":"read write"}"#, ["read", "write"]),
            (#"{"scope":"  read   write "}"#, ["read", "write"]),
            (#"{"scope":""}"#, []),
            (#"{"scp":["read","write"]}"#, ["read", "write"]),
            (#"{"scp":["read",3,"write"]}"#, ["read", "write"]),
            (#"{"scp":"read write"}"#, ["read", "write"]),
            (#"{"scope":"a","scp":["b"]}"#, ["a"]),
            (#"{"scope":5,"scp":["b"]}"#, ["b"]),
            (#"{"scope":["a"]}"#, []),
            (#"{}"#, []),
        ]
    )
    func scopes(json: String, expected: [String]) throws {
        #expect(try Self.claims(json).scopes == expected)
    }

    @Test("Dotted paths")
    func paths() throws {
        let claims = try Self.claims(
            #"{"realm_access":{"roles":["admin","user"],"deep":{"x":1}},"name":"n","#
                + #""https://example.com/roles":["ns"],"a.b":"literal","a":{"b":"nested"},"#
                + #""resource_access":{"api":{"roles":["reader"]}}}"#
        )
        #expect(claims.value(at: "realm_access.roles") == .array([.string("admin"), .string("user")]))
        #expect(claims.value(at: "realm_access.deep.x") == .int(1))
        #expect(claims.value(at: "resource_access.api.roles") == .array([.string("reader")]))
        #expect(claims.value(at: "realm_access") == claims["realm_access"])
        #expect(claims.value(at: "name") == .string("n"))
        #expect(claims.value(at: "https://example.com/roles") == .array([.string("ns")]))
        #expect(claims.value(at: "a.b") == .string("literal"))
        #expect(claims.value(at: "realm_access.missing") == nil)
        #expect(claims.value(at: "name.length") == nil)
        #expect(claims.value(at: "realm_access.roles.0") == nil)
        #expect(claims.value(at: "") == nil)
        #expect(claims.value(at: ".") == nil)
        #expect(claims.value(at: "realm_access..roles") == nil)
        #expect(claims.value(at: "realm_access.") == nil)
        #expect(claims.value(at: ".realm_access") == nil)
    }
}
