import TestSupport
import Testing

@testable import JOSE

/// Shared helpers for the parser suites: token construction and random JSON values.
enum JOSEParseFixtures {
    /// A compact token from header and payload JSON text, with the given signature bytes.
    static func token(header: String, payload: String, signature: [UInt8] = [1, 2, 3, 4]) -> String {
        Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(payload.utf8)) + "."
            + Base64URL.encode(signature)
    }

    static let typicalHeader = #"{"alg":"RS256","typ":"JWT","kid":"key-1"}"#
    static let typicalPayload = #"{"iss":"https://idp.example.com","sub":"alice","aud":["api","web"],"#
        + #""exp":1716239022,"iat":1716235422,"scope":"read write","realm_access":{"roles":["admin"]}}"#

    /// A random JSON value whose doubles are finite, so that it survives a serialize/parse round trip.
    static func randomValue(using generator: inout SplitMix64, depth: Int) -> JSONValue {
        let kind = Int(generator.next() % (depth >= 4 ? 5 : 7))
        switch kind {
        case 0: return .null
        case 1: return .bool(generator.next() & 1 == 0)
        case 2: return .int(Int64(bitPattern: generator.next()) >> Int64(generator.next() % 64))
        case 3:
            let number = Double(bitPattern: generator.next())
            return .double(number.isFinite ? number : Double(generator.next() % 1000) / 8)
        case 4: return .string(randomString(using: &generator))
        case 5:
            let count = Int(generator.next() % 5)
            return .array((0..<count).map { _ in randomValue(using: &generator, depth: depth + 1) })
        default:
            var object: [String: JSONValue] = [:]
            for _ in 0..<Int(generator.next() % 5) {
                object[randomString(using: &generator)] = randomValue(using: &generator, depth: depth + 1)
            }
            return .object(object)
        }
    }

    static func randomString(using generator: inout SplitMix64) -> String {
        let pool: [Unicode.Scalar] = [
            "a", "b", "z", "0", " ", "\"", "\\", "/", "\n", "\u{0}", "\u{1F}", "\u{7F}", "é", "€", "😀",
            "\u{FFFF}", "\u{10FFFF}", "\u{2028}",
        ]
        var string = ""
        for _ in 0..<Int(generator.next() % 24) {
            string.unicodeScalars.append(pool[Int(generator.next() % UInt64(pool.count))])
        }
        return string
    }
}

/// Random mutations of well-formed tokens and JSON: every input must parse or throw a ``JOSEError``,
/// never trap. A trap kills the test process, so reaching the end is the assertion.
@Suite("Parser fuzzing")
struct ParserFuzzTests {
    typealias Random = SplitMix64

    static let seedTokens: [(header: String, payload: String)] = [
        (JOSEParseFixtures.typicalHeader, JOSEParseFixtures.typicalPayload),
        (#"{"alg":"HS256"}"#, #"{"sub":"x","exp":1e300,"n":9223372036854775808}"#),
        (#"{"alg":"ES256","kid":"a\"b\\c\u0000","crit":["exp"]}"#, #"{"a":[[[[{"b":null}]]]],"c":-0.0}"#),
        (#"{"alg":"EdDSA","jwk":{"kty":"OKP"}}"#, #"{"é":"😀\ud83d\ude00","t":true,"f":false}"#),
        (#" { "alg" : "PS512" , "typ" : "at+jwt" } "#, #"{"aud":"x","nbf":0,"scp":["a","b"],"x":"\n\t"}"#),
    ]

    /// One random mutation of `bytes`: flip bits, overwrite, insert or delete bytes, or splice in an
    /// interesting byte (a dot, a quote, a brace, a backslash, NUL, high bytes).
    static func mutate(_ bytes: inout [UInt8], using random: inout Random) {
        let interesting: [UInt8] = [
            0x2E, 0x22, 0x7B, 0x7D, 0x5B, 0x5D, 0x5C, 0x3A, 0x2C, 0x00, 0x3D, 0x2B, 0x2F, 0x20, 0x80, 0xC3, 0xED,
            0xF4, 0xFF, 0x30, 0x2D, 0x65, 0x75,
        ]
        let operation = random.next() % 6
        let position = bytes.isEmpty ? 0 : Int(random.next() % UInt64(bytes.count))
        switch operation {
        case 0 where !bytes.isEmpty:
            bytes[position] ^= UInt8(1) << (random.next() % 8)
        case 1 where !bytes.isEmpty:
            bytes[position] = UInt8(truncatingIfNeeded: random.next())
        case 2:
            bytes.insert(UInt8(truncatingIfNeeded: random.next()), at: position)
        case 3 where !bytes.isEmpty:
            let count = min(bytes.count - position, 1 + Int(random.next() % 4))
            bytes.removeSubrange(position..<(position + count))
        case 4:
            bytes.insert(interesting[Int(random.next() % UInt64(interesting.count))], at: position)
        default:
            if !bytes.isEmpty {
                bytes[position] = interesting[Int(random.next() % UInt64(interesting.count))]
            }
        }
    }

    static func mutated(_ bytes: [UInt8], rounds: Int, using random: inout Random) -> [UInt8] {
        var copy = bytes
        for _ in 0..<rounds { mutate(&copy, using: &random) }
        return copy
    }

    /// Parses and checks that whatever comes back is consistent; throwing a JOSEError is fine.
    static func parseToken(_ bytes: [UInt8]) -> Bool {
        let result = bytes.withUnsafeBytes { buffer in
            Result { () throws(JOSEError) in try CompactJWS.parse(buffer) }
        }
        guard case .success(let jws) = result else { return false }
        // A success must satisfy the invariants the verifier relies on.
        #expect(!jws.signature.isEmpty)
        #expect(JWSAlgorithm(rawValue: jws.header.fields["alg"]?.stringValue ?? "") == jws.header.algorithm)
        #expect(Array(bytes.prefix(jws.signingInput.count)) == jws.signingInput)
        for member in ["jwk", "jku", "x5u", "x5c", "crit"] {
            #expect(jws.header.fields[member] == nil)
        }
        return true
    }

    @Test("Mutated raw tokens parse or throw")
    func rawTokenMutations() {
        var random = Random(seed: 0x5EED_0001)
        var accepted = 0
        for (header, payload) in Self.seedTokens {
            let signature = (0..<64).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            let token = Array(JOSEParseFixtures.token(header: header, payload: payload, signature: signature).utf8)
            for _ in 0..<8_000 {
                let rounds = 1 + Int(random.next() % 4)
                if Self.parseToken(Self.mutated(token, rounds: rounds, using: &random)) { accepted += 1 }
            }
        }
        // Mutations of the signature segment often keep the token well formed.
        #expect(accepted > 0)
    }

    @Test("Mutated header and payload JSON, re-encoded, parse or throw")
    func decodedJSONMutations() {
        var random = Random(seed: 0x5EED_0002)
        var accepted = 0
        for (header, payload) in Self.seedTokens {
            let signature = (0..<32).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            for _ in 0..<6_000 {
                let rounds = 1 + Int(random.next() % 3)
                var headerBytes = Array(header.utf8)
                var payloadBytes = Array(payload.utf8)
                switch random.next() % 3 {
                case 0: headerBytes = Self.mutated(headerBytes, rounds: rounds, using: &random)
                case 1: payloadBytes = Self.mutated(payloadBytes, rounds: rounds, using: &random)
                default:
                    headerBytes = Self.mutated(headerBytes, rounds: rounds, using: &random)
                    payloadBytes = Self.mutated(payloadBytes, rounds: rounds, using: &random)
                }
                let token = Base64URL.encode(headerBytes) + "." + Base64URL.encode(payloadBytes) + "."
                    + Base64URL.encode(signature)
                if Self.parseToken(Array(token.utf8)) { accepted += 1 }
            }
        }
        #expect(accepted > 0)
    }

    @Test("Mutated JSON documents parse or throw, and what parses round-trips")
    func jsonMutations() throws {
        var random = Random(seed: 0x5EED_0003)
        var documents: [[UInt8]] = Self.seedTokens.flatMap { [Array($0.header.utf8), Array($0.payload.utf8)] }
        for _ in 0..<20 {
            documents.append(JSONSerializer.bytes(JOSEParseFixtures.randomValue(using: &random, depth: 0)))
        }
        var accepted = 0
        let perDocument = 40_000 / documents.count
        for document in documents {
            for _ in 0..<perDocument {
                let input = Self.mutated(document, rounds: 1 + Int(random.next() % 3), using: &random)
                let result = input.withUnsafeBytes { buffer in
                    Result { () throws(JOSEError) in try JSONParser.parse(buffer, maxDepth: 8) }
                }
                switch result {
                case .success(let value):
                    accepted += 1
                    // Whatever the parser accepts, the serializer writes back in a form it accepts again.
                    #expect(try JSONParser.parse(JSONSerializer.bytes(value)) == value)
                case .failure(let error):
                    #expect(error.code == .malformedToken)
                }
            }
        }
        #expect(accepted > 0)
    }

    @Test("Random bytes and random base64url segments parse or throw")
    func randomInputs() {
        var random = Random(seed: 0x5EED_0004)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.".utf8)
        for _ in 0..<5_000 {
            let length = Int(random.next() % 200)
            let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            _ = Self.parseToken(bytes)
            _ = try? JSONParser.parse(bytes)
            let token = (0..<length).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] }
            _ = Self.parseToken(token)
        }
    }
}
