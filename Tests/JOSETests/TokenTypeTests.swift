import JOSE
import Testing

/// Explicit typing (RFC 8725 section 3.11): an issuer that names its access tokens' `typ` refuses its other
/// JWTs (ID tokens, logout tokens) and untyped ones, after the signature and before the claims.
@Suite("Token types (typ)")
struct TokenTypeTests {
    static let now: Double = 1_700_000_000
    static let claims: [String: JSONValue] = ["sub": "alice", "iat": .int(1_700_000_000), "exp": .int(1_700_000_600)]

    static func token(typ: String?, key: JWSKey, extra: [String: JSONValue] = [:]) throws -> String {
        var header: [String: JSONValue] = ["alg": .string(key.algorithm.rawValue), "kid": .string(key.keyID)]
        if let typ { header["typ"] = .string(typ) }
        let payload = claims.merging(extra) { _, new in new }
        return try JWTSigner.signRaw(
            header: JSONSerializer.bytes(.object(header)), payload: JSONSerializer.bytes(.object(payload)), key: key)
    }

    static func outcome(_ token: String, accepting types: [String], key: JWSKey) -> JOSEError.Code? {
        let verifier = JWTVerifier(keys: JWKSet([key]), validation: ClaimsValidation(acceptedTypes: types))
        do {
            _ = try verifier.verify(token, now: now)
            return nil
        } catch {
            return error.code
        }
    }

    @Test("an accepted typ verifies, whatever its case and with or without application/", arguments: [
        "at+jwt", "AT+JWT", "application/at+jwt", "Application/At+JWT",
    ])
    func accepted(typ: String) throws {
        let key = try JWSKey.generate(algorithm: .HS256, keyID: "k")
        #expect(Self.outcome(try Self.token(typ: typ, key: key), accepting: ["at+jwt"], key: key) == nil)
        #expect(Self.outcome(try Self.token(typ: typ, key: key), accepting: ["application/at+jwt"], key: key) == nil)
    }

    @Test("another typ, or none, is bad_type when the issuer names its types", arguments: [
        "JWT", "id_token+jwt", "logout+jwt", "secevent+jwt", "at+jwt ", "application/", "",
    ] as [String?] + [nil])
    func refused(typ: String?) throws {
        let key = try JWSKey.generate(algorithm: .HS256, keyID: "k")
        #expect(Self.outcome(try Self.token(typ: typ, key: key), accepting: ["at+jwt"], key: key) == .badType)
    }

    @Test("without configured types any typ of an access token, and none, is accepted")
    func unconfigured() throws {
        let key = try JWSKey.generate(algorithm: .HS256, keyID: "k")
        for typ in ["JWT", "at+jwt", "application/at+JWT", "anything", nil] as [String?] {
            #expect(Self.outcome(try Self.token(typ: typ, key: key), accepting: [], key: key) == nil)
        }
        #expect(Self.outcome(try Self.token(typ: "JWT", key: key, extra: ["typ": "Bearer"]), accepting: [], key: key) == nil)
        // Access tokens that carry claims an ID token also has, but none that only an ID token has.
        for extra: [String: JSONValue] in [
            ["token_use": "access"], ["nonce": "n"], ["auth_time": .int(1_699_999_000), "acr": "1", "amr": ["pwd"]],
            ["azp": "client", "sid": "s"], ["token_use": .int(1)],
        ] {
            #expect(Self.outcome(try Self.token(typ: nil, key: key, extra: extra), accepting: [], key: key) == nil, "\(extra)")
        }
    }

    @Test("tokens that say they are of another kind are bad_type by default, and with an allowlist", arguments: [
        "dpop+jwt", "DPoP+JWT", "application/dpop+jwt", "secevent+jwt", "logout+jwt", "oauth-authz-req+jwt",
        "token-introspection+jwt", "kb+jwt", "entity-statement+jwt", "vc+sd-jwt", "client-authentication+jwt",
    ])
    func otherKindsRefused(typ: String) throws {
        let key = try JWSKey.generate(algorithm: .HS256, keyID: "k")
        #expect(Self.outcome(try Self.token(typ: typ, key: key), accepting: [], key: key) == .badType)
        #expect(Self.outcome(try Self.token(typ: typ, key: key), accepting: [typ], key: key) == .badType)
    }

    @Test("ID, refresh, offline and logout tokens recognisable by their claims are bad_type", arguments: [
        ["typ": "ID"], ["typ": "Refresh"], ["typ": "Offline"], ["typ": "logout"], ["typ": "Serialized-ID"],
        ["events": ["http://schemas.openid.net/event/backchannel-logout": [:]]],
        ["events": [:]],
        // OpenID Connect ID tokens, recognisable by the hashes only they carry (issue 11, class 6).
        ["at_hash": "77QmUPtjPfzWtF2AnpK9RQ", "nonce": "n-0S6_WzA2Mj"], ["c_hash": "LDktKdoQak3Pk0cnXxCltA"],
        ["s_hash": "x"], ["at_hash": .null],
        // Amazon Cognito ID tokens (token_use id), in any case; and a refresh kind.
        ["token_use": "id"], ["token_use": "ID"], ["token_use": "refresh"],
    ] as [[String: JSONValue]])
    func otherKindsByClaims(extra: [String: JSONValue]) throws {
        let key = try JWSKey.generate(algorithm: .HS256, keyID: "k")
        #expect(Self.outcome(try Self.token(typ: "JWT", key: key, extra: extra), accepting: [], key: key) == .badType)
    }

    @Test("a forged signature is bad_signature before its typ is looked at")
    func signatureFirst() throws {
        let key = try JWSKey.generate(algorithm: .HS256, keyID: "k")
        let other = try JWSKey.generate(algorithm: .HS256, keyID: "k")
        let forged = try Self.token(typ: "JWT", key: other)
        #expect(Self.outcome(forged, accepting: ["at+jwt"], key: key) == .badSignature)
    }
}
