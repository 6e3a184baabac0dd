import Foundation
import TestSupport
import JOSE
import GatewayConfig

/// Builds hostile tokens byte by byte: any header and payload text, signed by any key or not at all.
/// Never logs what it builds.
struct TokenForge: Sendable {
    let gateway: GatewayHarness

    var fixtures: E2EFixtures { gateway.fixtures }

    /// The configured issuer's claims for `sub`, valid for 10 minutes, with scope `read:data`.
    func claims(sub: String = "mallory", _ changes: [String: JSONValue?] = [:]) -> [String: JSONValue] {
        let now = Int64(Date().timeIntervalSince1970)
        var claims: [String: JSONValue] = [
            "iss": .string(E2EFixtures.issuer), "aud": .string(E2EFixtures.audience), "sub": .string(sub),
            "scope": "read:data", "iat": .int(now), "exp": .int(now + 600),
        ]
        for (name, value) in changes { claims[name] = value }
        return claims
    }

    static func text(_ value: JSONValue) -> String { JSONSerializer.serialize(value) }

    /// `alg` and `kid` of `key` unless `header` says otherwise (`.null` removes a member).
    func header(for key: JWSKey, _ changes: [String: JSONValue?] = [:]) -> String {
        var header: [String: JSONValue] = ["alg": .string(key.algorithm.rawValue), "typ": "JWT", "kid": .string(key.keyID)]
        for (name, value) in changes { header[name] = value }
        return Self.text(.object(header))
    }

    /// A token with exactly these header and payload texts, signed by `key` (whatever the header says), or
    /// with an empty signature.
    func raw(header: String, payload: String, key: JWSKey?) throws -> String {
        guard let key else { return Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(payload.utf8)) + "." }
        return try JWTSigner.signRaw(header: Array(header.utf8), payload: Array(payload.utf8), key: key)
    }

    /// A correctly signed token of the configured RS256 key, with changed claims or header members.
    func signed(
        sub: String = "mallory", claims changes: [String: JSONValue?] = [:], header headerChanges: [String: JSONValue?] = [:],
        key: JWSKey? = nil
    ) throws -> String {
        let key = key ?? fixtures.rsaKey
        return try raw(header: header(for: key, headerChanges), payload: Self.text(.object(claims(sub: sub, changes))), key: key)
    }

    /// An HMAC key whose secret is exactly `secret`, as an attacker builds it from public bytes.
    static func hmacKey(secret: [UInt8], algorithm: JWSAlgorithm = .HS256) throws -> JWSKey {
        try JWSKey(jwk: ["kty": "oct", "k": .string(Base64URL.encode(secret))], algorithm: algorithm)
    }

    /// The configured RS256 key's public key in the encodings an attacker may feed to HMAC.
    func publicKeyForms() throws -> [String: [UInt8]] {
        let pem = try fixtures.rsaKey.publicKeyPEM()
        let body = pem.split(whereSeparator: \.isNewline).filter { !$0.hasPrefix("-----") }.joined()
        guard let spki = Data(base64Encoded: body).map({ [UInt8]($0) }) else { throw HarnessError("PEM body is not base64") }
        // An RSA SPKI is a fixed 24-byte prefix (algorithm identifier, bit string header) around PKCS#1.
        let pkcs1 = Array(spki.dropFirst(24))
        let pkcs1PEM = "-----BEGIN RSA PUBLIC KEY-----\n"
            + Data(pkcs1).base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
            + "\n-----END RSA PUBLIC KEY-----\n"
        let jwk = JSONSerializer.serialize(try fixtures.rsaKey.publicKey().jwk())
        return [
            "SPKI PEM": Array(pem.utf8),
            "SPKI PEM without final newline": Array(pem.trimmingCharacters(in: .newlines).utf8),
            "SPKI DER": spki,
            "PKCS#1 DER": pkcs1,
            "PKCS#1 PEM": Array(pkcs1PEM.utf8),
            "JWK JSON text": Array(jwk.utf8),
        ]
    }
}

/// A second issuer the token suite trusts, with its own RS256 key (`other-1`): its tokens are good only
/// with its own `iss` and key.
enum OtherIssuer {
    static let issuer = "https://other-idp.e2e.test"
    static let key: JWSKey = {
        do { return try JWSKey.generate(algorithm: .RS256, keyID: "other-1") } catch { fatalError("other issuer key: \(error)") }
    }()
    static let jwksFile: String = {
        let path = E2EFixtures.shared.directory + "/other-issuer-jwks.json"
        do {
            try JSONSerializer.serialize(try JWKSet([key]).publicJWKS()).write(toFile: path, atomically: true, encoding: .utf8)
        } catch {
            fatalError("other issuer JWKS: \(error)")
        }
        return path
    }()

    static var configuration: GatewayConfiguration.Issuer {
        .init(issuer: issuer, audiences: [E2EFixtures.audience], keys: [.init(file: jwksFile)])
    }
}
