import Foundation
import TestSupport
import Testing

@testable import JOSE

@Suite("Base64URL")
struct Base64URLTests {
    /// RFC 4648 section 10 test vectors, without padding.
    static let vectors: [(String, String)] = [
        ("", ""), ("f", "Zg"), ("fo", "Zm8"), ("foo", "Zm9v"), ("foob", "Zm9vYg"), ("fooba", "Zm9vYmE"),
        ("foobar", "Zm9vYmFy"),
    ]

    @Test("RFC 4648 vectors encode", arguments: vectors)
    func encodesVectors(plain: String, encoded: String) {
        #expect(Base64URL.encode(Array(plain.utf8)) == encoded)
        #expect(Base64URL.encode(plain.utf8) == encoded)
    }

    @Test("RFC 4648 vectors decode", arguments: vectors)
    func decodesVectors(plain: String, encoded: String) throws {
        #expect(try Base64URL.decode(encoded) == Array(plain.utf8))
        #expect(try Base64URL.decode(Array(encoded.utf8)) == Array(plain.utf8))
        let viaRaw = try Array(encoded.utf8).withUnsafeBytes { try Base64URL.decode($0) }
        #expect(viaRaw == Array(plain.utf8))
    }

    @Test("URL-safe alphabet: '-' and '_' instead of '+' and '/'")
    func urlAlphabet() throws {
        #expect(Base64URL.encode([0xFB, 0xFF]) == "-_8")
        #expect(Base64URL.encode([0xFF, 0xFF, 0xFE]) == "___-")
        #expect(try Base64URL.decode("-_8") == [0xFB, 0xFF])
        #expect(try Base64URL.decode("___-") == [0xFF, 0xFF, 0xFE])
    }

    @Test("Agrees with Foundation for all lengths 0...300")
    func agreesWithFoundation() throws {
        var generator = SplitMix64(seed: 42)
        for length in 0...300 {
            let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            let reference = Data(bytes).base64EncodedString()
                .replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
            #expect(Base64URL.encode(bytes) == reference)
            #expect(Base64URL.encodeToBytes(bytes) == Array(reference.utf8))
            #expect(try Base64URL.decode(reference) == bytes)
        }
    }

    @Test("Non-contiguous collections encode like arrays")
    func nonContiguous() {
        let bytes: [UInt8] = [1, 2, 3, 4, 5]
        #expect(Base64URL.encode(bytes.reversed()) == Base64URL.encode(Array(bytes.reversed())))
        #expect(Base64URL.encode(stride(from: 0, to: 10, by: 1).lazy.map { UInt8($0) }) == "AAECAwQFBgcICQ")
    }

    static let rejected: [(String, String)] = [
        ("Zg==", "padding"),
        ("Zm8=", "padding"),
        ("Zg=", "padding"),
        ("Zm9v+w", "plus"),
        ("Zm9v/w", "slash"),
        ("+/+/", "standard alphabet"),
        (" Zm9v", "leading space"),
        ("Zm9v ", "trailing space"),
        ("Zm 9v", "inner space"),
        ("Zm9v\n", "newline"),
        ("Zm9v\r\nYg", "CRLF"),
        ("Zm9v\tYg", "tab"),
        ("Z", "length 4n+1"),
        ("Zm9vY", "length 4n+1"),
        ("Zh", "non-canonical: trailing bits of a 1-byte tail"),
        ("Zm9", "non-canonical: trailing bits of a 2-byte tail"),
        ("Zm_", "non-canonical: trailing bits of a 2-byte tail"),
        ("AB", "non-canonical"),
        ("Zm9v.", "dot"),
        ("Zm9v\u{0}", "NUL"),
        ("Zm9vé", "non-ASCII"),
        ("Zm9v%2B", "percent-encoded"),
    ]

    @Test("Strict decoding rejects non-canonical input", arguments: rejected)
    func rejectsNonCanonical(input: String, why: String) {
        #expect(throws: JOSEError(.malformedToken, ""), "\(why)") { try Base64URL.decode(input) }
    }

    @Test("Reasons say what is wrong")
    func reasons() {
        func reason(_ input: String) -> String {
            do {
                _ = try Base64URL.decode(input)
                return ""
            } catch {
                return error.reason
            }
        }
        #expect(reason("Zg==").contains("padding"))
        #expect(reason("Zm9v+w").contains("+"))
        #expect(reason("Zm9v Yg").contains("whitespace"))
        #expect(reason("Zh").contains("non-canonical"))
        #expect(reason("Zm9vY").contains("length"))
    }

    /// Every 2- and 3-character input: accepted exactly when it is the encoding of what it decodes to.
    @Test("Exhaustive canonicity for short inputs")
    func exhaustiveShort() throws {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var accepted2 = 0
        for a in alphabet {
            for b in alphabet {
                let input = [a, b]
                if let decoded = try? Base64URL.decode(input) {
                    accepted2 += 1
                    #expect(Base64URL.encodeToBytes(decoded) == input)
                }
            }
        }
        #expect(accepted2 == 256)
        var accepted3 = 0
        for a in alphabet.prefix(4) {
            for b in alphabet {
                for c in alphabet {
                    let input = [a, b, c]
                    if let decoded = try? Base64URL.decode(input) {
                        accepted3 += 1
                        #expect(Base64URL.encodeToBytes(decoded) == input)
                    }
                }
            }
        }
        #expect(accepted3 == 4 * 64 * 16)
    }

    @Test("Every byte outside the alphabet is rejected in every position")
    func everyInvalidByte() {
        let valid = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        for byte in UInt8.min...UInt8.max where !valid.contains(byte) {
            for position in 0..<8 {
                var input = Array("Zm9vYmFy".utf8)
                input[position] = byte
                #expect(throws: JOSEError(.malformedToken, "")) { try Base64URL.decode(input) }
            }
        }
    }

    @Test("Empty input decodes to no bytes")
    func empty() throws {
        #expect(try Base64URL.decode("") == [])
        #expect(Base64URL.encode([UInt8]()) == "")
    }
}
