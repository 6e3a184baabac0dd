import Foundation
import JOSE
import Testing

/// Published JWS examples: RFC 7515 appendix A.1 and A.2, RFC 7520 section 4 and RFC 8037 appendix A.4.
///
/// Every vector is checked at the signature layer over the *received* segments (the A.1/A.2 inputs contain
/// CRLF and spaces, so re-serialized JSON would not match), and the deterministic ones are re-signed.
@Suite("RFC test vectors")
struct RFCVectorTests {
    /// One checked-in vector: a file in `Vectors/` and, for RFC 7520, an index into its `vectors` array.
    enum Vector: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case rfc7515A1 = "RFC 7515 A.1 (HS256)"
        case rfc7515A2 = "RFC 7515 A.2 (RS256)"
        case rfc7520Section41 = "RFC 7520 4.1 (RS256)"
        case rfc7520Section42 = "RFC 7520 4.2 (PS384)"
        case rfc7520Section44 = "RFC 7520 4.4 (HS256)"
        case rfc8037A4 = "RFC 8037 A.4 (EdDSA)"

        var testDescription: String { rawValue }

        var algorithm: JWSAlgorithm {
            switch self {
            case .rfc7515A1, .rfc7520Section44: return .HS256
            case .rfc7515A2, .rfc7520Section41: return .RS256
            case .rfc7520Section42: return .PS384
            case .rfc8037A4: return .EdDSA
            }
        }

        /// RSA-PSS uses a random salt: its signature cannot be reproduced.
        var isDeterministic: Bool { self != .rfc7520Section42 }

        var file: String {
            switch self {
            case .rfc7515A1: return "rfc7515-a1"
            case .rfc7515A2: return "rfc7515-a2"
            case .rfc7520Section41, .rfc7520Section42, .rfc7520Section44: return "rfc7520-4"
            case .rfc8037A4: return "rfc8037-a4"
            }
        }

        var index: Int? {
            switch self {
            case .rfc7520Section41: return 0
            case .rfc7520Section42: return 1
            case .rfc7520Section44: return 2
            default: return nil
            }
        }

        static let deterministic = allCases.filter(\.isDeterministic)
    }

    /// A loaded vector: its JWK, token and the pieces the signature covers.
    struct Loaded {
        let object: JSONValue
        let jwk: JSONValue
        let token: String
        /// `header.payload` exactly as received.
        let signingInput: [UInt8]
        let signature: [UInt8]
        let payloadSegment: String
    }

    static func load(_ vector: Vector) throws -> Loaded {
        let url = try #require(
            Bundle.module.url(forResource: vector.file, withExtension: "json", subdirectory: "Vectors"),
            "missing Vectors/\(vector.file).json in the test bundle"
        )
        var object = try JSONParser.parse([UInt8](try Data(contentsOf: url)))
        if let index = vector.index {
            let list = try #require(object["vectors"]?.arrayValue, "\(vector.file).json has no vectors array")
            object = try #require(list.count > index ? list[index] : nil)
        }
        #expect(object["alg"]?.stringValue == vector.algorithm.rawValue, "vector file disagrees on alg")
        let jwk = try #require(object["jwk"])
        let token = try #require(object["token"]?.stringValue)
        let segments = token.split(separator: ".", omittingEmptySubsequences: false)
        try #require(segments.count == 3)
        let lastDot = try #require(token.lastIndex(of: "."))
        return Loaded(
            object: object,
            jwk: jwk,
            token: token,
            signingInput: Array(token[..<lastDot].utf8),
            signature: try Base64URL.decode(String(segments[2])),
            payloadSegment: String(segments[1])
        )
    }

    /// The JWK without its private members (RSA, OKP); an `oct` key is returned unchanged.
    static func publicJWK(_ jwk: JSONValue) throws -> JSONValue {
        var object = try #require(jwk.objectValue)
        guard object["kty"]?.stringValue != "oct" else { return jwk }
        for name in ["d", "p", "q", "dp", "dq", "qi"] { object[name] = nil }
        return .object(object)
    }

    @Test("the signature verifies over the received segments", arguments: Vector.allCases)
    func signatureVerifies(_ vector: Vector) throws {
        let loaded = try Self.load(vector)
        let key = try JWSKey(jwk: loaded.jwk, algorithm: vector.algorithm)
        #expect(key.algorithm == vector.algorithm)
        #expect(key.verify(signature: loaded.signature, message: loaded.signingInput))

        // The public half alone verifies too, whether derived from the key or read from a public JWK.
        let derived = try key.publicKey()
        #expect(derived.verify(signature: loaded.signature, message: loaded.signingInput))
        let publicOnly = try JWSKey(jwk: try Self.publicJWK(loaded.jwk), algorithm: vector.algorithm)
        #expect(publicOnly.verify(signature: loaded.signature, message: loaded.signingInput))
        #expect(publicOnly.canSign == key.isSymmetric)
        #expect(try publicOnly.thumbprint() == key.thumbprint())

        // The JWK's kid is kept; without one, the kid is the thumbprint.
        if let kid = loaded.jwk["kid"]?.stringValue {
            #expect(key.keyID == kid)
        } else {
            #expect(key.keyID == (try key.thumbprint()))
        }
    }

    @Test("re-signing reproduces the published signature", arguments: Vector.deterministic)
    func resigningIsIdentical(_ vector: Vector) throws {
        let loaded = try Self.load(vector)
        #expect(loaded.object["reproducible"] == .bool(true))
        let key = try JWSKey(jwk: loaded.jwk, algorithm: vector.algorithm)
        try #require(key.canSign)
        let signature = try key.sign(loaded.signingInput)
        #expect(signature == loaded.signature)
        #expect(Base64URL.encode(signature) == loaded.token.split(separator: ".").last.map(String.init))
    }

    @Test("RFC 7520 4.2: a fresh PS384 signature differs (random salt) and still verifies")
    func pssIsRandomized() throws {
        let loaded = try Self.load(.rfc7520Section42)
        #expect(loaded.object["reproducible"] == .bool(false))
        let key = try JWSKey(jwk: loaded.jwk, algorithm: .PS384)
        let fresh = try key.sign(loaded.signingInput)
        #expect(fresh != loaded.signature)
        #expect(fresh.count == loaded.signature.count)
        #expect(key.verify(signature: fresh, message: loaded.signingInput))
        // The same RSA key bound to RS384 or PS256 refuses the PS384 signature.
        let publicJWK = try Self.publicJWK(loaded.jwk)
        for other in [JWSAlgorithm.RS384, .PS256, .PS512] {
            let rebound = try JWSKey(jwk: publicJWK, algorithm: other)
            #expect(!rebound.verify(signature: loaded.signature, message: loaded.signingInput), "\(other)")
        }
    }

    @Test("changing any one character of the payload (or header) fails", arguments: Vector.allCases)
    func flippedCharacterFails(_ vector: Vector) throws {
        let loaded = try Self.load(vector)
        let key = try JWSKey(jwk: loaded.jwk, algorithm: vector.algorithm).publicKey()
        let dot = try #require(loaded.signingInput.firstIndex(of: UInt8(ascii: ".")))
        // Every payload position, plus a few in the header.
        let positions = Array((dot + 1)..<loaded.signingInput.count) + [0, dot / 2, dot - 1]
        var accepted: [Int] = []
        for position in positions {
            var message = loaded.signingInput
            message[position] = message[position] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
            if key.verify(signature: loaded.signature, message: message) { accepted.append(position) }
        }
        #expect(accepted.isEmpty, "tampered signing input accepted at positions \(accepted)")

        // One flipped payload character, as a whole token through the message API.
        var payload = Array(loaded.payloadSegment.utf8)
        payload[0] = payload[0] == UInt8(ascii: "e") ? UInt8(ascii: "f") : UInt8(ascii: "e")
        let tampered = Array(loaded.signingInput[..<dot]) + [UInt8(ascii: ".")] + payload
        #expect(!key.verify(signature: loaded.signature, message: tampered))
        // The untampered input still verifies with the same key value (no state was spoiled).
        #expect(key.verify(signature: loaded.signature, message: loaded.signingInput))
    }

    @Test(
        "RFC 7515 A.1 and A.2 verify as JWTs before their 2011 expiry",
        arguments: [Vector.rfc7515A1, .rfc7515A2]
    )
    func jwtVerifierAcceptsAppendixA(_ vector: Vector) throws {
        let loaded = try Self.load(vector)
        let key = try JWSKey(jwk: loaded.jwk, algorithm: vector.algorithm)
        let verifier = JWTVerifier(keys: JWKSet([try key.publicKey()]), validation: ClaimsValidation(issuers: ["joe"]))
        let verified = try verifier.verify(loaded.token, now: 1_300_819_300)
        let expected = try #require(loaded.object["claims"]?.objectValue)
        #expect(verified.claims.fields == expected)
        #expect(verified.claims.issuer == "joe")
        #expect(verified.claims.expiresAt == 1_300_819_380)
        #expect(verified.claims["http://example.com/is_root"] == .bool(true))
        #expect(verified.header.algorithm == vector.algorithm)
        #expect(verified.header.keyID == nil)
        #expect(verified.keyID == key.keyID)
        if vector == .rfc7515A1 { #expect(verified.header.type == "JWT") }

        // The same token is expired once the leeway (60 s by default) has passed, and only then.
        #expect(throws: JOSEError(.tokenExpired, "")) {
            try verifier.verify(loaded.token, now: 1_300_819_380 + 60)
        }
        _ = try verifier.verify(loaded.token, now: 1_300_819_380 + 59)
    }

    @Test("A.1 and A.2 tokens with one payload character changed are bad_signature through JWTVerifier")
    func jwtVerifierRejectsTamperedAppendixA() throws {
        for vector in [Vector.rfc7515A1, .rfc7515A2] {
            let loaded = try Self.load(vector)
            let key = try JWSKey(jwk: loaded.jwk, algorithm: vector.algorithm).publicKey()
            let verifier = JWTVerifier(keys: JWKSet([key]))
            // "joe" -> "joF": the payload stays valid JSON with the same structure.
            let payload = try Base64URL.decode(loaded.payloadSegment)
            let text = String(decoding: payload, as: UTF8.self).replacingOccurrences(of: "\"joe\"", with: "\"jof\"")
            let parts = loaded.token.split(separator: ".")
            let token = "\(parts[0]).\(Base64URL.encode(Array(text.utf8))).\(parts[2])"
            #expect(throws: JOSEError(.badSignature, ""), "\(vector)") {
                try verifier.verify(token, now: 1_300_819_300)
            }
        }
    }
}
