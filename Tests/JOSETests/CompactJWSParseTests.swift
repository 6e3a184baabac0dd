import Foundation
import Testing

@testable import JOSE

@Suite("CompactJWS parsing")
struct CompactJWSParseTests {
    private static func token(_ header: String, _ payload: String = #"{"sub":"a"}"#, signature: [UInt8] = [1, 2, 3])
        -> String
    {
        JOSEParseFixtures.token(header: header, payload: payload, signature: signature)
    }

    private static func failure(_ token: String, limits: JWSParseLimits = .default) -> JOSEError? {
        do {
            _ = try CompactJWS.parse(token, limits: limits)
            return nil
        } catch {
            return error
        }
    }

    private static func b64(_ text: String) -> String {
        Base64URL.encode(Array(text.utf8))
    }

    // MARK: Well-formed tokens

    @Test("A typical token parses into header, claims, signing input and signature")
    func typical() throws {
        let signature = Array(0..<64).map { UInt8($0) }
        let token = JOSEParseFixtures.token(
            header: JOSEParseFixtures.typicalHeader, payload: JOSEParseFixtures.typicalPayload, signature: signature
        )
        let jws = try CompactJWS.parse(token)
        #expect(jws.header.algorithm == .RS256)
        #expect(jws.header.keyID == "key-1")
        #expect(jws.header.type == "JWT")
        #expect(jws.header.fields.count == 3)
        #expect(jws.claims["sub"] == .string("alice"))
        #expect(jws.claims["exp"] == .int(1_716_239_022))
        #expect(jws.signature == signature)
        let expectedInput = token[..<token.lastIndex(of: ".")!]
        #expect(jws.signingInput == Array(expectedInput.utf8))

        let fromBytes = try Array(token.utf8).withUnsafeBytes { try CompactJWS.parse($0) }
        #expect(fromBytes.header == jws.header)
        #expect(fromBytes.claims == jws.claims)
        #expect(fromBytes.signingInput == jws.signingInput)
        #expect(fromBytes.signature == jws.signature)
    }

    /// RFC 7515 appendix A.1: the header contains CR LF whitespace, the signing input must stay byte-exact.
    @Test("RFC 7515 A.1 token parses with its signing input intact")
    func rfc7515A1() throws {
        let header = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
        let payload = "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
        let signature = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        let jws = try CompactJWS.parse("\(header).\(payload).\(signature)")
        #expect(jws.header.algorithm == .HS256)
        #expect(jws.header.type == "JWT")
        #expect(jws.header.keyID == nil)
        #expect(
            jws.claims == [
                "iss": .string("joe"), "exp": .int(1_300_819_380), "http://example.com/is_root": .bool(true),
            ]
        )
        #expect(jws.signingInput == Array("\(header).\(payload)".utf8))
        #expect(jws.signature.count == 32)
    }

    @Test("Every implemented algorithm is accepted by its exact name", arguments: JWSAlgorithm.allCases)
    func algorithms(algorithm: JWSAlgorithm) throws {
        let jws = try CompactJWS.parse(Self.token(#"{"alg":"\#(algorithm.rawValue)"}"#))
        #expect(jws.header.algorithm == algorithm)
    }

    // MARK: alg

    static let badAlgorithms: [String] = [
        #""none""#, #""None""#, #""NONE""#, #""nOnE""#, #""""#, "null", "123", "true", #"["HS256"]"#,
        #"{"name":"HS256"}"#, #""hs256""#, #""HS256 ""#, #"" HS256""#, #""HS-256""#, #""RSA-OAEP""#, #""ES512""#,
        #""HS256\u0000""#, #""ＨＳ256""#, "1.5",
    ]

    @Test("alg that is not exactly an implemented algorithm is rejected", arguments: badAlgorithms)
    func badAlgorithm(alg: String) {
        let header = #"{"alg":\#(alg),"typ":"JWT"}"#
        // With a signature: alg_not_allowed.
        #expect(Self.failure(Self.token(header))?.code == .algNotAllowed)
        // Without a signature (the classic unsigned token): rejected for its alg, judged before the
        // missing signature.
        let unsigned = Self.b64(header) + "." + Self.b64(#"{"sub":"a"}"#) + "."
        #expect(Self.failure(unsigned)?.code == .algNotAllowed)
    }

    @Test("Missing alg is rejected, with or without a signature")
    func missingAlgorithm() {
        #expect(Self.failure(Self.token(#"{"typ":"JWT"}"#))?.code == .algNotAllowed)
        #expect(Self.failure(Self.token("{}"))?.code == .algNotAllowed)
        #expect(Self.failure(Self.b64(#"{"typ":"JWT"}"#) + "." + Self.b64("{}") + ".")?.code == .algNotAllowed)
    }

    @Test("alg reasons never echo the header")
    func algorithmReasons() {
        let reason = Self.failure(Self.token(#"{"alg":"EVIL-ALG-XYZ"}"#))?.reason ?? ""
        #expect(!reason.isEmpty)
        #expect(!reason.contains("XYZ"))
        #expect(Self.failure(Self.token(#"{"alg":"none"}"#))?.reason.contains("none") == true)
    }

    // MARK: Keys in the header, crit, kid, typ

    @Test("Embedded keys and key URLs are rejected", arguments: ["jwk", "jku", "x5u", "x5c"])
    func embeddedKeys(member: String) {
        let values = [
            #"{"kty":"oct","k":"c2VjcmV0"}"#, #""https://attacker.example/keys""#, #"["MIIB"]"#, "null", #""""#,
        ]
        for value in values {
            let header = #"{"alg":"HS256","kid":"k","\#(member)":\#(value)}"#
            #expect(Self.failure(Self.token(header))?.code == .embeddedKey)
        }
    }

    @Test("Several embedded keys give a deterministic reason")
    func severalEmbeddedKeys() {
        let header = #"{"alg":"RS256","x5u":"u","jwk":{},"jku":"u","x5c":[]}"#
        #expect(Self.failure(Self.token(header))?.reason.contains("(jku)") == true)
    }

    @Test(
        "crit: unknown extensions are rejected, malformed crit is malformed",
        arguments: [
            (#"["exp"]"#, JOSEError.Code.unknownCrit),
            (#"["b64"]"#, .unknownCrit),
            (#"["a","b"]"#, .unknownCrit),
            ("[]", .malformedToken),
            (#""exp""#, .malformedToken),
            ("[1]", .malformedToken),
            (#"["a",null]"#, .malformedToken),
            ("null", .malformedToken),
            ("{}", .malformedToken),
        ]
    )
    func crit(value: String, expected: JOSEError.Code) {
        #expect(Self.failure(Self.token(#"{"alg":"ES256","crit":\#(value)}"#))?.code == expected)
    }

    @Test(
        "kid is any string, taken verbatim",
        arguments: [
            (#""../../../../etc/passwd""#, "../../../../etc/passwd"),
            (#""a\"b'c""#, "a\"b'c"),
            (#""nul\u0000byte""#, "nul\u{0}byte"),
            (#""""#, ""),
            (#""' OR 1=1 --""#, "' OR 1=1 --"),
            (#""é😀""#, "é😀"),
        ]
    )
    func keyIDs(json: String, expected: String) throws {
        let jws = try CompactJWS.parse(Self.token(#"{"alg":"HS256","kid":\#(json)}"#))
        #expect(jws.header.keyID == expected)
    }

    @Test("A 10 KiB kid makes the token too large")
    func hugeKeyID() {
        let kid = String(repeating: "k", count: 10 * 1024)
        let token = Self.token(#"{"alg":"HS256","kid":"\#(kid)"}"#)
        #expect(token.utf8.count < JWSParseLimits.default.maxTokenBytes)
        #expect(Self.failure(token)?.code == .tokenTooLarge)
    }

    @Test("kid and typ must be strings", arguments: ["1", "null", "true", "[]", "{}", #"["k"]"#])
    func keyIDAndTypeTypes(value: String) {
        #expect(Self.failure(Self.token(#"{"alg":"HS256","kid":\#(value)}"#))?.code == .malformedToken)
        #expect(Self.failure(Self.token(#"{"alg":"HS256","typ":\#(value)}"#))?.code == .malformedToken)
    }

    @Test("Other header members are kept and not interpreted")
    func otherMembers() throws {
        let jws = try CompactJWS.parse(Self.token(#"{"alg":"HS256","cty":"JWT","b64":false,"x":{"y":[1]}}"#))
        #expect(jws.header.fields["cty"] == .string("JWT"))
        #expect(jws.header.fields["x"]?["y"] == .array([.int(1)]))
    }

    // MARK: Segments and base64url

    static let badStructure: [(String, String)] = [
        ("", "empty"),
        (".", "two empty segments"),
        ("..", "three empty segments"),
        ("...", "four empty segments"),
        ("eyJhbGciOiJIUzI1NiJ9", "one segment"),
        ("eyJhbGciOiJIUzI1NiJ9.e30", "two segments"),
        ("eyJhbGciOiJIUzI1NiJ9.e30.AQID.AQID", "four segments"),
        ("eyJhbGciOiJIUzI1NiJ9.e30.AQID.", "four segments, last empty"),
        ("eyJhbGciOiJIUzI1NiJ9..AQID", "empty payload"),
        (".e30.AQID", "empty header"),
        ("eyJhbGciOiJIUzI1NiJ9.e30.", "empty signature"),
        ("eyJhbGciOiJIUzI1NiJ9=.e30.AQID", "padded header"),
        ("eyJhbGciOiJIUzI1NiJ9.e30=.AQID", "padded payload"),
        ("eyJhbGciOiJIUzI1NiJ9.e30.AQI=", "padded signature"),
        ("eyJhbGciOiJIUzI1NiJ9.e30.AQ==", "padded signature, two pad characters"),
        ("eyJhbGciOiJIUzI1NiJ9.e30.A+I/", "signature in the standard alphabet"),
        ("eyJhbGciOiJIUzI1NiJ9.e31.AQID", "payload with non-canonical trailing bits"),
        ("eyJhbGciOiJIUzI1NiJ9.e30.AQIE_", "signature of length 4n+1"),
        ("eyJhbGciOiJIUzI1NiJ9.e30.AQJ", "signature with non-canonical trailing bits"),
        ("eyJhbGciOiJIUzI1NiJ9.e30.AQ ID", "space in signature"),
        ("eyJhbGciOiJIUzI1NiJ9.e30.AQID\n", "trailing newline"),
        (" eyJhbGciOiJIUzI1NiJ9.e30.AQID", "leading space"),
        ("eyJhbGciOiJIUzI1NiJ9 .e30.AQID", "space before a dot"),
        ("Bearer eyJhbGciOiJIUzI1NiJ9.e30.AQID", "scheme left in"),
        ("eyJhbGciOiJIUzI1NiJ9.e30.AQID\u{0}", "trailing NUL"),
    ]

    @Test("Structure and encoding errors are malformed_token", arguments: badStructure)
    func rejectsBadStructure(token: String, why: String) {
        #expect(Self.failure(token)?.code == .malformedToken, "\(why)")
    }

    @Test("The baseline of the structure cases is valid")
    func structureBaseline() throws {
        let jws = try CompactJWS.parse("eyJhbGciOiJIUzI1NiJ9.e30.AQID")
        #expect(jws.header.algorithm == .HS256)
        #expect(jws.claims.isEmpty)
        #expect(jws.signature == [1, 2, 3])
    }

    @Test("Reasons name the problem")
    func structureReasons() {
        #expect(Self.failure("a.b")?.reason.contains("found 2") == true)
        #expect(Self.failure("a.b.c.d")?.reason.contains("found 4") == true)
        #expect(Self.failure("eyJhbGciOiJIUzI1NiJ9.e30.")?.reason == "missing signature")
        #expect(Self.failure("eyJhbGciOiJIUzI1NiJ9=.e30.AQID")?.reason.hasPrefix("header:") == true)
        #expect(Self.failure("eyJhbGciOiJIUzI1NiJ9.e30=.AQID")?.reason.hasPrefix("payload:") == true)
        #expect(Self.failure("eyJhbGciOiJIUzI1NiJ9.e30.AQI=")?.reason.hasPrefix("signature:") == true)
    }

    @Test("Dots are found wherever they sit relative to 8-byte words")
    func dotPositions() throws {
        for headerPadding in 0..<9 {
            for payloadPadding in 0..<9 {
                let header = #"{"alg":"HS256"\#(String(repeating: " ", count: headerPadding))}"#
                let payload = #"{"sub":"\#(String(repeating: "x", count: payloadPadding))"}"#
                let token = Self.token(header, payload)
                #expect(try CompactJWS.parse(token).claims["sub"]?.stringValue?.count == payloadPadding)
                #expect(Self.failure(token + ".AQID")?.code == .malformedToken)
                let twoSegments = String(token[..<token.lastIndex(of: ".")!])
                #expect(Self.failure(twoSegments)?.code == .malformedToken)
            }
        }
    }

    // MARK: Sizes

    @Test("Huge tokens are rejected before any decoding", arguments: [100 * 1024, 1024 * 1024])
    func hugeTokens(size: Int) {
        // Valid-looking and garbage tokens alike: the size check comes first.
        let padding = String(repeating: "A", count: size)
        let valid = Self.token(#"{"alg":"HS256"}"#, #"{"p":"\#(padding)"}"#)
        #expect(Self.failure(valid)?.code == .tokenTooLarge)
        let garbage = String(repeating: "!", count: size)
        #expect(Self.failure(garbage)?.code == .tokenTooLarge)
        let bytes = Array(garbage.utf8)
        let rawFailure = bytes.withUnsafeBytes { buffer in
            Result { () throws(JOSEError) in try CompactJWS.parse(buffer) }
        }
        #expect(throws: JOSEError(.tokenTooLarge, "")) { try rawFailure.get() }
    }

    @Test("maxTokenBytes is inclusive")
    func tokenLimitBoundary() throws {
        let token = Self.token(#"{"alg":"HS256"}"#, #"{"sub":"alice"}"#)
        let count = token.utf8.count
        #expect(throws: Never.self) { try CompactJWS.parse(token, limits: JWSParseLimits(maxTokenBytes: count)) }
        #expect(Self.failure(token, limits: JWSParseLimits(maxTokenBytes: count - 1))?.code == .tokenTooLarge)
    }

    @Test("Decoded header and payload limits are inclusive")
    func segmentLimits() throws {
        let header = #"{"alg":"HS256"}"#
        let payload = #"{"sub":"alice"}"#
        let token = Self.token(header, payload)
        let exact = JWSParseLimits(maxHeaderBytes: header.utf8.count, maxPayloadBytes: payload.utf8.count)
        #expect(throws: Never.self) { try CompactJWS.parse(token, limits: exact) }
        var smallHeader = exact
        smallHeader.maxHeaderBytes -= 1
        #expect(Self.failure(token, limits: smallHeader)?.code == .tokenTooLarge)
        var smallPayload = exact
        smallPayload.maxPayloadBytes -= 1
        #expect(Self.failure(token, limits: smallPayload)?.code == .tokenTooLarge)

        let bigPayload = #"{"p":"\#(String(repeating: "x", count: 12_288))"}"#
        #expect(Self.failure(Self.token(header, bigPayload))?.code == .tokenTooLarge)
    }

    @Test("Default limits")
    func defaults() {
        let limits = JWSParseLimits.default
        #expect(limits.maxTokenBytes == 16_384)
        #expect(limits.maxHeaderBytes == 4_096)
        #expect(limits.maxPayloadBytes == 12_288)
        #expect(limits.maxDepth == 16)
    }

    // MARK: JSON in the segments

    @Test(
        "The payload must be a JSON object",
        arguments: ["[]", #"["sub"]"#, #""alice""#, "123", "1.5", "null", "true", "", " ", "{", #"{"a":1}x"#]
    )
    func payloadMustBeObject(payload: String) {
        #expect(Self.failure(Self.token(#"{"alg":"HS256"}"#, payload))?.code == .malformedToken)
    }

    @Test("The header must be a JSON object", arguments: ["[]", #""HS256""#, "1", "null", "", #"[{"alg":"HS256"}]"#])
    func headerMustBeObject(header: String) {
        #expect(Self.failure(Self.token(header))?.code == .malformedToken)
    }

    @Test("Duplicate members are rejected in header and payload")
    func duplicates() {
        #expect(Self.failure(Self.token(#"{"alg":"HS256","alg":"none"}"#))?.code == .malformedToken)
        #expect(Self.failure(Self.token(#"{"alg":"none","alg":"HS256"}"#))?.code == .malformedToken)
        #expect(Self.failure(Self.token(#"{"alg":"HS256","\u0061lg":"HS256"}"#))?.code == .malformedToken)
        #expect(Self.failure(Self.token(#"{"alg":"HS256"}"#, #"{"sub":"a","sub":"admin"}"#))?.code == .malformedToken)
        #expect(
            Self.failure(Self.token(#"{"alg":"HS256"}"#, #"{"x":{"role":"user","role":"admin"}}"#))?.code
                == .malformedToken
        )
    }

    @Test("Numbers: 1e300 and 2^63 parse, 1e400 does not")
    func numbers() throws {
        let jws = try CompactJWS.parse(Self.token(#"{"alg":"HS256"}"#, #"{"a":1e300,"b":9223372036854775808}"#))
        #expect(jws.claims["a"] == .double(1e300))
        #expect(jws.claims["b"] == .double(9_223_372_036_854_775_808))
        #expect(Self.failure(Self.token(#"{"alg":"HS256"}"#, #"{"exp":1e400}"#))?.code == .malformedToken)
        #expect(Self.failure(Self.token(#"{"alg":"HS256","n":-1e400}"#))?.code == .malformedToken)
    }

    @Test("Nesting: maxDepth applies; 10,000 levels are rejected, never a crash")
    func nesting() {
        let header = #"{"alg":"HS256"}"#
        var sixteen = "1"
        for _ in 0..<15 { sixteen = "[\(sixteen)]" }
        #expect(throws: Never.self) { try CompactJWS.parse(Self.token(header, #"{"a":\#(sixteen)}"#)) }
        #expect(Self.failure(Self.token(header, #"{"a":[\#(sixteen)]}"#))?.code == .malformedToken)

        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        let deepToken = Self.token(header, #"{"a":\#(deep)}"#)
        // Too large for the default limits, and too deep when the size limits are lifted.
        #expect(Self.failure(deepToken)?.code == .tokenTooLarge)
        let roomy = JWSParseLimits(maxTokenBytes: 1 << 20, maxHeaderBytes: 1 << 20, maxPayloadBytes: 1 << 20)
        #expect(Self.failure(deepToken, limits: roomy)?.code == .malformedToken)
        var deepObjects = String(repeating: #"{"a":"#, count: 10_000) + "1" + String(repeating: "}", count: 10_000)
        #expect(Self.failure(Self.token(deepObjects), limits: roomy)?.code == .malformedToken)
        deepObjects = #"{"alg":"HS256","x":"# + deepObjects + "}"
        #expect(Self.failure(Self.token(deepObjects), limits: roomy)?.code == .malformedToken)
    }

    @Test("Header checks come before payload checks")
    func order() {
        #expect(Self.failure(Self.token(#"{"alg":"none"}"#, "[]"))?.code == .algNotAllowed)
        #expect(Self.failure(Self.token(#"{"alg":"none","jwk":{}}"#))?.code == .algNotAllowed)
        #expect(Self.failure(Self.token(#"{"alg":"HS256","jwk":{},"crit":["x"]}"#))?.code == .embeddedKey)
        #expect(Self.failure(Self.token(#"{"alg":"HS256","crit":["x"],"kid":1}"#))?.code == .unknownCrit)
        // Size limits come before JSON.
        let limits = JWSParseLimits(maxPayloadBytes: 2)
        #expect(Self.failure(Self.token(#"{"alg":"none"}"#, "[1,2]"), limits: limits)?.code == .tokenTooLarge)
    }

    @Test("Reasons never contain token content")
    func reasonsAreContentFree() {
        let marker = "MARKER7f3a"
        let tokens = [
            Self.token(#"{"alg":"\#(marker)"}"#),
            Self.token(#"{"alg":"HS256","kid":\#(marker)}"#),
            Self.token(#"{"alg":"HS256","jku":"\#(marker)"}"#),
            Self.token(#"{"alg":"HS256","crit":["\#(marker)"]}"#),
            Self.token(#"{"alg":"HS256"}"#, #"{"\#(marker)":1,"\#(marker)":2}"#),
            Self.token(#"{"alg":"HS256"}"#, #""\#(marker)""#),
            Self.b64(marker) + "." + Self.b64(marker) + "=." + marker,
            marker + "." + marker,
        ]
        for token in tokens {
            let error = Self.failure(token)
            #expect(error != nil)
            #expect(error?.reason.contains(marker) == false)
            #expect(error?.reason.contains(Self.b64(marker)) == false)
        }
    }
}
