import Foundation
import JOSE
import Testing

/// The crypto-level token attacks of the attack catalogue ("Tokens"), run through ``JWTVerifier`` and checked for
/// the exact ``JOSEError/Code``. Forged tokens are built with ``JWTSigner/signRaw(header:payload:key:)`` so
/// that every byte is under the test's control.
@Suite("JWTVerifier attacks")
struct VerifierAttackTests {
    static let now: Double = 1_700_000_000
    static let issuer = "https://idp.example"
    static let audience = "api"

    static let validation = ClaimsValidation(issuers: [issuer], audiences: [audience])

    /// Claims that pass ``validation`` at ``now``.
    static var claims: [String: JSONValue] {
        [
            "sub": "alice", "iss": .string(issuer), "aud": .string(audience),
            "iat": .int(Int64(now)), "exp": .int(Int64(now) + 600), "scope": "read:data",
        ]
    }

    static func bytes(_ value: [String: JSONValue]) -> [UInt8] {
        JSONSerializer.bytes(.object(value))
    }

    /// The code `verifier` rejects `token` with, or `nil` when it accepts it.
    static func rejection(_ token: String, _ verifier: JWTVerifier, now: Double = now) -> JOSEError.Code? {
        do {
            _ = try verifier.verify(token, now: now)
            return nil
        } catch {
            return error.code
        }
    }

    static func verifier(_ keys: [JWSKey]) -> JWTVerifier {
        JWTVerifier(keys: JWKSet(keys), validation: validation)
    }

    /// A token with exactly this header and these claims, signed by `key` whatever the header says.
    static func forge(_ header: [String: JSONValue], _ claims: [String: JSONValue] = claims, key: JWSKey) throws -> String {
        try JWTSigner.signRaw(header: bytes(header), payload: bytes(claims), key: key)
    }

    static func segments(_ token: String) -> [String] {
        token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
    }

    /// An HMAC key whose secret is exactly `secret`, built the way an attacker would from public bytes.
    static func hmacKey(secret: [UInt8], algorithm: JWSAlgorithm = .HS256) throws -> JWSKey {
        try JWSKey(jwk: ["kty": "oct", "k": .string(Base64URL.encode(secret))], algorithm: algorithm)
    }

    // MARK: Public-key encodings an attacker may feed to HMAC

    /// The DER inside a PEM document.
    static func der(fromPEM pem: String) throws -> [UInt8] {
        let body = pem.split(whereSeparator: \.isNewline).filter { !$0.hasPrefix("-----") }.joined()
        return [UInt8](try #require(Data(base64Encoded: body), "PEM body is not base64"))
    }

    static func pem(_ der: [UInt8], label: String) -> String {
        let body = Data(der).base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
        return "-----BEGIN \(label)-----\n\(body)\n-----END \(label)-----\n"
    }

    /// The (tag, content range) of the DER element at `offset`.
    static func derElement(_ der: [UInt8], at offset: Int) throws -> (tag: UInt8, content: Range<Int>) {
        try #require(offset + 2 <= der.count)
        var cursor = offset + 1
        var length = Int(der[cursor])
        cursor += 1
        if length & 0x80 != 0 {
            let count = length & 0x7F
            try #require(count <= 3 && cursor + count <= der.count)
            length = der[cursor..<(cursor + count)].reduce(0) { $0 << 8 | Int($1) }
            cursor += count
        }
        try #require(cursor + length <= der.count)
        return (der[offset], cursor..<(cursor + length))
    }

    /// The PKCS#1 `RSAPublicKey` inside an SPKI: the BIT STRING after the AlgorithmIdentifier.
    static func pkcs1(fromSPKI spki: [UInt8]) throws -> [UInt8] {
        let outer = try derElement(spki, at: 0)
        try #require(outer.tag == 0x30)
        let algorithm = try derElement(spki, at: outer.content.lowerBound)
        try #require(algorithm.tag == 0x30)
        let bitString = try derElement(spki, at: algorithm.content.upperBound)
        try #require(bitString.tag == 0x03 && spki[bitString.content.lowerBound] == 0)
        return Array(spki[(bitString.content.lowerBound + 1)..<bitString.content.upperBound])
    }

    /// Every public form of `key` an HS256 "secret" might be made from, by name.
    static func publicForms(of key: JWSKey) throws -> [(name: String, bytes: [UInt8])] {
        let spkiPEM = try key.publicKeyPEM()
        let spki = try der(fromPEM: spkiPEM)
        let jwk = try key.publicKey().jwk()
        var forms: [(String, [UInt8])] = [
            ("SPKI PEM", Array(spkiPEM.utf8)),
            ("SPKI PEM without final newline", Array(spkiPEM.trimmingCharacters(in: .newlines).utf8)),
            ("SPKI PEM with CRLF", Array(spkiPEM.replacingOccurrences(of: "\n", with: "\r\n").utf8)),
            ("SPKI DER", spki),
            ("JWK JSON text", Array(JSONSerializer.serialize(jwk).utf8)),
            ("JWK JSON text, pretty", Array(JSONSerializer.serialize(jwk, pretty: true).utf8)),
            ("JWKS JSON text", Array(JSONSerializer.serialize(try JWKSet([key]).publicJWKS()).utf8)),
        ]
        if key.keyType == "RSA" {
            let rsaPublicKey = try pkcs1(fromSPKI: spki)
            let pkcs1PEM = pem(rsaPublicKey, label: "RSA PUBLIC KEY")
            // The hand-made PKCS#1 PEM really is the same key.
            let reread = try JWSKey(pem: Array(pkcs1PEM.utf8), algorithm: key.algorithm)
            #expect(try reread.thumbprint() == key.thumbprint())
            forms += [
                ("PKCS#1 PEM", Array(pkcs1PEM.utf8)),
                ("PKCS#1 PEM without final newline", Array(pkcs1PEM.trimmingCharacters(in: .newlines).utf8)),
                ("PKCS#1 DER", rsaPublicKey),
                ("modulus bytes", try Base64URL.decode(try #require(jwk["n"]?.stringValue))),
            ]
        }
        return forms
    }

    // MARK: Algorithm confusion

    @Test(
        "algorithm confusion: a public key in every form as an HMAC secret",
        arguments: [JWSAlgorithm.RS256, .PS256, .ES256, .EdDSA]
    )
    func publicKeyAsHMACSecret(_ targetAlgorithm: JWSAlgorithm) throws {
        let target = try JWSKey.generate(algorithm: targetAlgorithm, keyID: "real-key")
        let published = try target.publicKey()
        let other = try JWSKey.generate(algorithm: .ES384, keyID: "other-key").publicKey()
        let verifiers = [Self.verifier([published]), Self.verifier([published, other])]
        // The genuine token is accepted: the rejections below are about the forgery only.
        for verifier in verifiers {
            #expect(Self.rejection(try JWTSigner.sign(claims: Self.claims, key: target), verifier) == nil)
        }

        let forms = try Self.publicForms(of: target)
        #expect(forms.count >= (target.keyType == "RSA" ? 11 : 7))
        for form in forms {
            for hmac in [JWSAlgorithm.HS256, .HS384, .HS512] where form.bytes.count >= hmac.hashLength {
                let attacker = try Self.hmacKey(secret: form.bytes, algorithm: hmac)
                // With the real key's kid: the kid names a key bound to another algorithm.
                let withKid = try JWTSigner.sign(claims: Self.claims, key: try attacker.withKeyID(target.keyID))
                // Without a kid: no configured key is bound to the HMAC algorithm at all.
                let withoutKid = try Self.forge(["alg": .string(hmac.rawValue), "typ": "JWT"], key: attacker)
                for verifier in verifiers {
                    #expect(Self.rejection(withKid, verifier) == .algNotAllowed, "\(form.name) \(hmac) with kid")
                    let code = Self.rejection(withoutKid, verifier)
                    #expect(code == .algNotAllowed || code == .unknownKey, "\(form.name) \(hmac) without kid: \(String(describing: code))")
                }
            }
        }
    }

    @Test("a set with an RS256 and an HS256 key refuses HS256 tokens keyed with the RSA public key")
    func mixedKeySetConfusion() throws {
        let rsa = try JWSKey.generate(algorithm: .RS256, keyID: "rsa")
        let secret = try JWSKey.generate(algorithm: .HS256, keyID: "hmac")
        let verifier = Self.verifier([try rsa.publicKey(), secret])
        #expect(Self.rejection(try JWTSigner.sign(claims: Self.claims, key: rsa), verifier) == nil)
        #expect(Self.rejection(try JWTSigner.sign(claims: Self.claims, key: secret), verifier) == nil)

        for form in try Self.publicForms(of: rsa) {
            let attacker = try Self.hmacKey(secret: form.bytes)
            // No kid: the HS256 candidates are the configured secret only, and the MAC does not match it.
            let noKid = try Self.forge(["alg": "HS256", "typ": "JWT"], key: attacker)
            #expect(Self.rejection(noKid, verifier) == .badSignature, "\(form.name), no kid")
            // The HMAC key's kid: same.
            let hmacKid = try Self.forge(["alg": "HS256", "kid": "hmac"], key: attacker)
            #expect(Self.rejection(hmacKid, verifier) == .badSignature, "\(form.name), HMAC kid")
            // The RSA key's kid: refused before any MAC is computed.
            let rsaKid = try Self.forge(["alg": "HS256", "kid": "rsa"], key: attacker)
            #expect(Self.rejection(rsaKid, verifier) == .algNotAllowed, "\(form.name), RSA kid")
        }

        // Two keys sharing one kid: the token's alg picks among them, and the MAC still has to match.
        let shared = Self.verifier([try rsa.publicKey().withKeyID("shared"), try secret.withKeyID("shared")])
        let attacker = try Self.hmacKey(secret: Array(try rsa.publicKeyPEM().utf8))
        #expect(Self.rejection(try Self.forge(["alg": "HS256", "kid": "shared"], key: attacker), shared) == .badSignature)
        #expect(Self.rejection(try Self.forge(["alg": "RS256", "kid": "shared"], key: rsa), shared) == nil)
        #expect(Self.rejection(try Self.forge(["alg": "HS256", "kid": "shared"], key: secret), shared) == nil)
    }

    @Test(
        "alg names an asymmetric algorithm but kid names an HMAC key",
        arguments: JWSAlgorithm.allCases.filter { $0.family != .hmac }
    )
    func asymmetricAlgWithHMACKid(_ algorithm: JWSAlgorithm) throws {
        let secret = try JWSKey.generate(algorithm: .HS256, keyID: "hmac")
        let real = try JWSKey.generate(algorithm: algorithm, keyID: "real")
        let verifier = Self.verifier([secret, try real.publicKey()])
        // Signed by a genuine key of the named algorithm, or carrying random bytes, or the HMAC itself.
        let genuine = try Self.forge(["alg": .string(algorithm.rawValue), "kid": "hmac"], key: real)
        #expect(Self.rejection(genuine, verifier) == .algNotAllowed)
        let parts = Self.segments(genuine)
        let macOverInput = try secret.sign(Array("\(parts[0]).\(parts[1])".utf8))
        for signature in [macOverInput, [UInt8](repeating: 0x5A, count: 256)] {
            let token = "\(parts[0]).\(parts[1]).\(Base64URL.encode(signature))"
            #expect(Self.rejection(token, verifier) == .algNotAllowed)
        }
        // And the other way round: HS256 naming the asymmetric key.
        let reversed = try Self.forge(["alg": "HS256", "kid": "real"], key: secret)
        #expect(Self.rejection(reversed, verifier) == .algNotAllowed)
    }

    @Test("the same RSA key under another RSA algorithm is alg_not_allowed")
    func sameFamilyOtherAlgorithm() throws {
        let rs256 = try JWSKey.generate(algorithm: .RS256, keyID: "rsa")
        var jwk = try #require(try rs256.jwk(includePrivate: true).objectValue)
        jwk["alg"] = nil
        let verifier = Self.verifier([try rs256.publicKey()])
        for algorithm in [JWSAlgorithm.RS384, .RS512, .PS256, .PS384, .PS512] {
            let rebound = try JWSKey(jwk: .object(jwk), algorithm: algorithm)
            let token = try JWTSigner.sign(claims: Self.claims, key: rebound)
            #expect(Self.rejection(token, verifier) == .algNotAllowed, "\(algorithm)")
        }
    }

    // MARK: Keys and kids

    @Test("a foreign key of the same algorithm with the right kid is bad_signature", arguments: JWSAlgorithm.allCases)
    func foreignKeyRightKid(_ algorithm: JWSAlgorithm) throws {
        let real = try JWSKey.generate(algorithm: algorithm, keyID: "k1")
        let foreign = try JWSKey.generate(algorithm: algorithm, keyID: "k1")
        let verifier = Self.verifier([try real.publicKey()])
        #expect(Self.rejection(try JWTSigner.sign(claims: Self.claims, key: foreign), verifier) == .badSignature)
        // Without kid too: the only candidate does not verify it.
        #expect(Self.rejection(try Self.forge(["alg": .string(algorithm.rawValue)], key: foreign), verifier) == .badSignature)
        let verified = try Self.verifier([try real.publicKey()]).verify(
            try JWTSigner.sign(claims: Self.claims, key: real), now: Self.now
        )
        #expect(verified.keyID == "k1")
        #expect(verified.claims.subject == "alice")
    }

    @Test("an unknown kid is unknown_key, whatever it looks like")
    func unknownKid() throws {
        let key = try JWSKey.generate(algorithm: .ES256, keyID: "key-1")
        let verifier = Self.verifier([try key.publicKey()])
        let kids = ["key-2", "KEY-1", "key-1 ", " key-1", "../key-1", "key-1\u{0}", "\"key-1\"", "", "key-1/../key-1"]
        for kid in kids {
            let token = try Self.forge(["alg": "ES256", "kid": .string(kid)], key: key)
            #expect(Self.rejection(token, verifier) == .unknownKey, "kid \(kid.debugDescription)")
        }
        #expect(Self.rejection(try Self.forge(["alg": "ES256", "kid": "key-1"], key: key), verifier) == nil)
        // A removed key stops verifying at once.
        let emptied = Self.verifier([try JWSKey.generate(algorithm: .ES256, keyID: "key-2").publicKey()])
        #expect(Self.rejection(try Self.forge(["alg": "ES256", "kid": "key-1"], key: key), emptied) == .unknownKey)
        #expect(Self.rejection(try Self.forge(["alg": "ES256"], key: key), emptied) == .badSignature)
        #expect(Self.rejection(try Self.forge(["alg": "ES256"], key: key), Self.verifier([])) == .unknownKey)
    }

    // MARK: Signatures

    @Test("empty, truncated and tampered signatures: the exact code", arguments: JWSAlgorithm.allCases)
    func brokenSignatures(_ algorithm: JWSAlgorithm) throws {
        let key = try JWSKey.generate(algorithm: algorithm, keyID: "k")
        let verifier = Self.verifier([try key.publicKey()])
        let token = try JWTSigner.sign(claims: Self.claims, key: key)
        #expect(Self.rejection(token, verifier) == nil)
        let parts = Self.segments(token)
        let input = "\(parts[0]).\(parts[1])"
        let signature = try Base64URL.decode(parts[2])

        // No signature at all is a format error: a JWS signature is never empty.
        #expect(Self.rejection("\(input).", verifier) == .malformedToken)
        #expect(Self.rejection(input, verifier) == .malformedToken)
        #expect(Self.rejection("\(input)..", verifier) == .malformedToken)

        // Canonical base64url of the wrong bytes: the signature is checked, and fails.
        let wrongBytes: [(String, [UInt8])] = [
            ("last byte dropped", Array(signature.dropLast())),
            ("half", Array(signature.prefix(signature.count / 2))),
            ("one byte", Array(signature.prefix(1))),
            ("first bit flipped", [signature[0] ^ 0x80] + signature.dropFirst()),
            ("last bit flipped", signature.dropLast() + [signature[signature.count - 1] ^ 0x01]),
            ("one byte appended", signature + [0]),
            ("zeros", [UInt8](repeating: 0, count: signature.count)),
        ]
        for (name, bytes) in wrongBytes {
            #expect(Self.rejection("\(input).\(Base64URL.encode(bytes))", verifier) == .badSignature, "\(name)")
        }

        // Text truncated to a length no base64url encoding has (4n + 1): malformed, never verified.
        var text = parts[2]
        while text.count % 4 != 1 { text.removeLast() }
        #expect(Self.rejection("\(input).\(text)", verifier) == .malformedToken, "signature text cut to \(text.count)")

        // One character changed. The first carries 6 signature bits: bad_signature. The last one's lowest bit
        // is a padding bit unless the signature length is a multiple of 3: then it is a non-canonical
        // encoding (malformed), otherwise a changed signature.
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        func replaced(_ text: String, at index: Int, _ change: (Int) -> Int) -> String {
            var characters = Array(text)
            let value = alphabet.firstIndex(of: characters[index])!
            characters[index] = alphabet[change(value)]
            return String(characters)
        }
        let first = replaced(parts[2], at: 0) { ($0 + 1) % 64 }
        #expect(Self.rejection("\(input).\(first)", verifier) == .badSignature)
        let last = replaced(parts[2], at: parts[2].count - 1) { $0 ^ 1 }
        let expected: JOSEError.Code = signature.count % 3 == 0 ? .badSignature : .malformedToken
        #expect(Self.rejection("\(input).\(last)", verifier) == expected, "last character, \(signature.count) bytes")
    }

    @Test("a valid signature over a tampered payload or header is bad_signature", arguments: JWSAlgorithm.allCases)
    func tamperedPayload(_ algorithm: JWSAlgorithm) throws {
        let key = try JWSKey.generate(algorithm: algorithm, keyID: "k")
        let verifier = Self.verifier([try key.publicKey()])
        let token = try JWTSigner.sign(claims: Self.claims, key: key)
        let parts = Self.segments(token)

        var elevated = Self.claims
        elevated["scope"] = "admin:all"
        elevated["roles"] = ["admin"]
        var longer = Self.claims
        longer["exp"] = .int(Int64(Self.now) + 86_400 * 365)
        var otherSubject = Self.claims
        otherSubject["sub"] = "bob"
        for claims in [elevated, longer, otherSubject] {
            let forged = "\(parts[0]).\(Base64URL.encode(Self.bytes(claims))).\(parts[2])"
            #expect(Self.rejection(forged, verifier) == .badSignature)
        }
        // The same claims re-serialized with different whitespace are different bytes: still bad.
        let spaced = JSONSerializer.serialize(.object(Self.claims), pretty: true)
        #expect(Self.rejection("\(parts[0]).\(Base64URL.encode(Array(spaced.utf8))).\(parts[2])", verifier) == .badSignature)
        // A header with one more member, under the same signature.
        let header = Self.bytes(["alg": .string(algorithm.rawValue), "kid": "k", "typ": "JWT", "cty": "JWT"])
        #expect(Self.rejection("\(Base64URL.encode(header)).\(parts[1]).\(parts[2])", verifier) == .badSignature)
        // Segments of two genuine tokens spliced together.
        let otherToken = Self.segments(try JWTSigner.sign(claims: elevated, key: key))
        #expect(Self.rejection("\(parts[0]).\(otherToken[1]).\(parts[2])", verifier) == .badSignature)
        #expect(Self.rejection("\(parts[0]).\(parts[1]).\(otherToken[2])", verifier) == .badSignature)
        #expect(Self.rejection("\(parts[0]).\(otherToken[1]).\(otherToken[2])", verifier) == nil)
    }

    /// Claims that each fail validation, and the code they fail with when the signature is good.
    static let badClaims: [(String, [String: JSONValue], JOSEError.Code)] = {
        let now = Int64(Self.now)
        func with(_ changes: [String: JSONValue], removing removed: String? = nil) -> [String: JSONValue] {
            var result = claims.merging(changes) { $1 }
            if let removed { result[removed] = nil }
            return result
        }
        return [
            ("expired", with(["iat": .int(now - 7200), "exp": .int(now - 3600)]), .tokenExpired),
            ("not yet valid", with(["nbf": .int(now + 3600)]), .tokenNotYetValid),
            ("issued in the future", with(["iat": .int(now + 3600), "exp": .int(now + 7200)]), .issuedInFuture),
            ("no exp", with([:], removing: "exp"), .missingClaim),
            ("exp not a number", with(["exp": "tomorrow"]), .invalidClaim),
            ("wrong issuer", with(["iss": "https://evil.example"]), .badIssuer),
            ("wrong audience", with(["aud": "other"]), .badAudience),
        ]
    }()

    @Test("claims are only judged after the signature: bad claims + bad signature is bad_signature")
    func signatureBeforeClaims() throws {
        let key = try JWSKey.generate(algorithm: .RS256, keyID: "k")
        let foreign = try JWSKey.generate(algorithm: .RS256, keyID: "k")
        let verifier = Self.verifier([try key.publicKey()])
        for (name, claims, code) in Self.badClaims {
            // Control: with a good signature the claim defect is what is reported.
            #expect(Self.rejection(try JWTSigner.sign(claims: claims, key: key), verifier) == code, "\(name), good signature")
            // With a bad signature nothing about the claims is reported.
            #expect(Self.rejection(try JWTSigner.sign(claims: claims, key: foreign), verifier) == .badSignature, "\(name)")
            let parts = Self.segments(try JWTSigner.sign(claims: claims, key: key))
            let tampered = "\(parts[0]).\(parts[1]).\(Base64URL.encode([UInt8](repeating: 1, count: 256)))"
            #expect(Self.rejection(tampered, verifier) == .badSignature, "\(name), random signature")
        }
    }
}
