import GatewayAdmission
import GatewayPolicy
import JOSE
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import GatewayAuth

/// The token check of one request, on its own: which credential becomes which ``TokenCheck``, and what the
/// verified-token cache may and may not answer.
@Suite("Token authenticator")
struct TokenAuthenticatorTests {
    static let issuer = "https://idp.example"
    static let now: Double = 1_800_000_000

    let key: JWSKey
    let keys: TokenKeys
    let loop = EmbeddedEventLoop()

    init() throws {
        key = try JWSKey.generate(algorithm: .HS256, keyID: "k1")
        let issuerKeys = IssuerKeys(
            validation: ClaimsValidation(issuers: [Self.issuer], audiences: ["api"]), localKeys: JWKSet([key]), remote: nil)
        keys = TokenKeys(issuers: [Self.issuer: issuerKeys], generation: 1, cached: true)
    }

    func token(_ claims: [String: JSONValue] = [:], key: JWSKey? = nil) throws -> String {
        var payload: [String: JSONValue] = [
            "iss": .string(Self.issuer), "aud": "api", "sub": "alice", "exp": .int(Int64(Self.now) + 300),
        ]
        payload.merge(claims) { _, new in new }
        return try JWTSigner.sign(claims: payload, key: key ?? self.key)
    }

    func check(
        _ authenticator: TokenAuthenticator, _ headers: [(String, String)], query: String? = nil, keys: TokenKeys? = nil
    ) -> TokenAuthenticator.Result {
        authenticator.authenticate(
            headers: HTTPHeaders(headers), query: query, keys: keys ?? self.keys, now: Self.now, eventLoop: loop,
            mayRefetch: true)
    }

    static func authenticator() -> TokenAuthenticator {
        TokenAuthenticator(cache: VerifiedTokenCache(capacity: 16, generation: 1), metrics: nil)
    }

    @Test("no credential is anonymous; a valid token is verified with its claims")
    func anonymousAndVerified() throws {
        let authenticator = Self.authenticator()
        guard case .anonymous = check(authenticator, []) else { Issue.record("not anonymous"); return }
        guard case .verified(let claims) = check(authenticator, [("Authorization", "Bearer " + (try token()))]) else {
            Issue.record("not verified")
            return
        }
        #expect(claims.fields["sub"] == .string("alice"))
    }

    @Test("a credential that is no token is rejected (401), two credentials or one in the query are invalid_request (400)")
    func credentialShapes() throws {
        let authenticator = Self.authenticator()
        guard case .rejected(let error) = check(authenticator, [("Authorization", "Bearer not a token")]) else {
            Issue.record("not rejected")
            return
        }
        #expect(error.code == .malformedToken)
        let valid = try token()
        guard case .invalidRequest = check(authenticator, [("Authorization", "Bearer " + valid), ("Authorization", "Bearer " + valid)])
        else { Issue.record("two credentials"); return }
        guard case .invalidRequest = check(authenticator, [], query: "access_token=" + valid) else {
            Issue.record("query token")
            return
        }
    }

    @Test("an unknown issuer, a wrong key and an expired token are rejected with the verifier's reason")
    func rejections() throws {
        let authenticator = Self.authenticator()
        let other = try JWSKey.generate(algorithm: .HS256, keyID: "k1")
        let cases: [(String, JOSEError.Code)] = [
            (try token(["iss": "https://elsewhere.example"]), .badIssuer),
            (try token(key: other), .badSignature),
            (try token(["exp": .int(Int64(Self.now) - 3600)]), .tokenExpired),
        ]
        for (token, code) in cases {
            guard case .rejected(let error) = check(authenticator, [("Authorization", "Bearer " + token)]) else {
                Issue.record("not rejected: \(code)")
                continue
            }
            #expect(error.code == code)
        }
    }

    /// An issuer whose only keys are a provider's JWKS that was never fetched (nothing here answers it).
    static func unfetchedIssuer() throws -> IssuerKeys {
        let remote = try RemoteKeySet(
            issuer: issuer, configuration: .init(url: "http://127.0.0.1:9/jwks.json", allowInsecure: true))
        return IssuerKeys(
            validation: ClaimsValidation(issuers: [issuer], audiences: ["api"]), localKeys: JWKSet([]), remote: remote)
    }

    @Test("an issuer whose keys are not available is keysUnavailable (503), not a rejection of the token")
    func keysUnavailable() throws {
        let keys = TokenKeys(issuers: [Self.issuer: try Self.unfetchedIssuer()], generation: 1, cached: true)
        guard case .keysUnavailable = check(Self.authenticator(), [("Authorization", "Bearer " + (try token()))], keys: keys)
        else { Issue.record("not keysUnavailable"); return }
    }

    @Test("a cached verification answers only for the same keys generation")
    func cacheFollowsTheKeysGeneration() throws {
        let authenticator = Self.authenticator()
        let header = [("Authorization", "Bearer " + (try token()))]
        guard case .verified = check(authenticator, header) else { Issue.record("first"); return }
        #expect(authenticator.cache.count == 1)
        // The keys changed (a reload, a JWKS rotation) and the issuer's are now unavailable: the cache must not
        // answer for them.
        let rotated = TokenKeys(issuers: [Self.issuer: try Self.unfetchedIssuer()], generation: 2, cached: true)
        guard case .keysUnavailable = check(authenticator, header, keys: rotated) else {
            Issue.record("the cache answered for another keys generation")
            return
        }
    }
}
