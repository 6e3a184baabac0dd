import Foundation
import Testing

@testable import JOSE

@Suite("JSONParser")
struct JSONParserTests {
    private static func parse(_ text: String, maxDepth: Int = 32) throws(JOSEError) -> JSONValue {
        try JSONParser.parse(text, maxDepth: maxDepth)
    }

    private static func reason(_ text: String, maxDepth: Int = 32) -> String? {
        do {
            _ = try JSONParser.parse(text, maxDepth: maxDepth)
            return nil
        } catch {
            return error.reason
        }
    }

    // MARK: Values

    static let accepted: [(String, JSONValue)] = [
        ("null", .null),
        ("true", .bool(true)),
        ("false", .bool(false)),
        ("0", .int(0)),
        ("-0", .int(0)),
        ("7", .int(7)),
        ("-42", .int(-42)),
        ("9223372036854775807", .int(.max)),
        ("-9223372036854775808", .int(.min)),
        ("9223372036854775808", .double(9_223_372_036_854_775_808)),
        ("-9223372036854775809", .double(-9_223_372_036_854_775_808.0)),  // rounds to -2^63
        ("18446744073709551616", .double(18_446_744_073_709_551_616)),
        ("123456789012345678901234567890", .double(1.2345678901234568e29)),
        ("1.5", .double(1.5)),
        ("-0.0", .double(-0.0)),
        ("1.0", .double(1.0)),
        ("0.1", .double(0.1)),
        ("1e3", .double(1000)),
        ("1E3", .double(1000)),
        ("1e+3", .double(1000)),
        ("1e-3", .double(0.001)),
        ("2.5E-3", .double(0.0025)),
        ("1e300", .double(1e300)),
        ("-1e300", .double(-1e300)),
        ("1e-400", .double(0)),
        ("0e0", .double(0)),
        ("1e0001", .double(10)),
        ("\"\"", .string("")),
        ("\"abc\"", .string("abc")),
        ("[]", .array([])),
        ("{}", .object([:])),
        ("[1,\"a\",null,true,[],{}]", .array([.int(1), .string("a"), .null, .bool(true), .array([]), .object([:])])),
        ("{\"a\":{\"b\":[1,2]}}", .object(["a": .object(["b": .array([.int(1), .int(2)])])])),
        (" \t\r\n{ \"a\" : 1 , \"b\" : [ 1 , 2 ] } \t\r\n", .object(["a": .int(1), "b": .array([.int(1), .int(2)])])),
        ("\"a very long string that does not fit in a small string and goes on\"",
         .string("a very long string that does not fit in a small string and goes on")),
    ]

    @Test("Accepts valid JSON", arguments: accepted)
    func acceptsValid(text: String, expected: JSONValue) throws {
        let value = try Self.parse(text)
        #expect(value == expected)
        if case .double(let number) = expected, number == 0 {
            // Distinguish -0.0 from 0.0, which == does not.
            #expect(value.numberValue?.sign == number.sign)
        }
    }

    static let rejected: [(String, String)] = [
        ("", "empty input"),
        ("   ", "whitespace only"),
        ("nul", "truncated literal"),
        ("nulll", "literal with trailing letter"),
        ("True", "capitalised literal"),
        ("NaN", "NaN"),
        ("Infinity", "Infinity"),
        ("-Infinity", "-Infinity"),
        ("+1", "plus sign"),
        ("01", "leading zero"),
        ("-01", "negative leading zero"),
        ("00", "double zero"),
        (".5", "no integer part"),
        ("1.", "no fraction digits"),
        ("1.e5", "no fraction digits before exponent"),
        ("1e", "no exponent digits"),
        ("1e+", "no exponent digits after sign"),
        ("-", "lone minus"),
        ("--1", "double minus"),
        ("0x10", "hexadecimal"),
        ("1e400", "overflows Double"),
        ("-1e400", "overflows Double negatively"),
        (String(repeating: "9", count: 400), "integer literal beyond Double"),
        ("[1,]", "trailing comma in array"),
        ("{\"a\":1,}", "trailing comma in object"),
        ("[,1]", "leading comma"),
        ("{,}", "lone comma in object"),
        ("[1 2]", "missing comma"),
        ("{\"a\" 1}", "missing colon"),
        ("{\"a\":}", "missing value"),
        ("{a:1}", "unquoted name"),
        ("{1:1}", "number as name"),
        ("{'a':1}", "single quotes"),
        ("['a']", "single-quoted string"),
        ("[", "unterminated array"),
        ("{", "unterminated object"),
        ("{\"a\"", "unterminated member"),
        ("{\"a\":1", "unterminated object after value"),
        ("\"abc", "unterminated string"),
        ("\"abc\\", "unterminated escape"),
        ("[1]]", "extra bracket"),
        ("{} {}", "two documents"),
        ("1 2", "two numbers"),
        ("[1] x", "trailing garbage"),
        ("/* c */ 1", "comment"),
        ("[1] // c", "line comment"),
        ("\u{FEFF}{}", "byte order mark"),
        ("\u{0C}1", "form feed is not whitespace"),
        ("\u{0B}1", "vertical tab is not whitespace"),
        ("\u{A0}1", "no-break space is not whitespace"),
        ("1\u{0}", "trailing NUL"),
        ("\"a\u{0}b\"", "raw NUL in string"),
        ("\"a\nb\"", "raw newline in string"),
        ("\"a\tb\"", "raw tab in string"),
        ("\"\u{1F}\"", "raw unit separator in string"),
        ("\"\\x41\"", "\\x escape"),
        ("\"\\a\"", "\\a escape"),
        ("\"\\U0041\"", "uppercase \\U"),
        ("\"\\u41\"", "short \\u"),
        ("\"\\u00G1\"", "non-hex \\u"),
        ("\"\\uD800\"", "lone high surrogate"),
        ("\"\\uDC00\"", "lone low surrogate"),
        ("\"\\uD800\\u0041\"", "high surrogate followed by a non-surrogate"),
        ("\"\\uD800\\uD800\"", "two high surrogates"),
        ("\"\\uDC00\\uD800\"", "reversed pair"),
        ("\"\\uD800x\"", "high surrogate followed by text"),
        ("\"\\uD800\\", "high surrogate then truncated escape"),
    ]

    @Test("Rejects invalid JSON", arguments: rejected)
    func rejectsInvalid(text: String, why: String) {
        #expect(throws: JOSEError(.malformedToken, ""), "\(why)") { try Self.parse(text) }
    }

    // MARK: Numbers

    @Test("Integer literals that fit Int64 are ints; others are finite doubles")
    func numberKinds() throws {
        #expect(try Self.parse("9223372036854775807") == .int(Int64.max))
        let twoTo63 = try Self.parse("9223372036854775808")
        guard case .double(let value) = twoTo63 else {
            Issue.record("2^63 should be a double, got \(twoTo63)")
            return
        }
        #expect(value == 9_223_372_036_854_775_808.0)
        #expect(try Self.parse("100000000000000000000000") == .double(1e23))
        #expect(try Self.parse("1.0") == .double(1))
        #expect(try Self.parse("1e2") == .double(100))
        #expect(try Self.parse("1e300").numberValue == 1e300)
        #expect(try Self.parse("4.9e-324").numberValue == .leastNonzeroMagnitude)
        #expect(try Self.parse("1.7976931348623157e308").numberValue == .greatestFiniteMagnitude)
        #expect(throws: JOSEError(.malformedToken, "")) { try Self.parse("1.7976931348623159e308") }
    }

    @Test("Long digit strings never trap")
    func longNumbers() throws {
        let longFraction = "0." + String(repeating: "1", count: 5_000)
        #expect(try Self.parse(longFraction).numberValue != nil)
        let longExponent = "1e" + String(repeating: "9", count: 100)
        #expect(throws: JOSEError(.malformedToken, "")) { try Self.parse(longExponent) }
        let tinyExponent = "1e-" + String(repeating: "9", count: 100)
        #expect(try Self.parse(tinyExponent) == .double(0))
    }

    // MARK: Strings

    static let strings: [(String, String)] = [
        (#""\"\\\/\b\f\n\r\t""#, "\"\\/\u{8}\u{C}\n\r\t"),
        (#""\u0041\u00e9\u20AC""#, "Aé€"),
        (#""\u0000""#, "\u{0}"),
        (#""a\u0000b""#, "a\u{0}b"),
        (#""\uD83D\uDE00""#, "😀"),
        (#""\ud83d\ude00""#, "😀"),
        (#""\uDBFF\uDFFF""#, "\u{10FFFF}"),
        (#""x\uD800\uDC00y""#, "x\u{10000}y"),
        ("\"é€😀\"", "é€😀"),
        ("\"\u{7F}\"", "\u{7F}"),
        ("\"\u{FFFF}\"", "\u{FFFF}"),
        ("\"mixed é and \\n escapes and more text to leave the small-string range\"",
         "mixed é and \n escapes and more text to leave the small-string range"),
        ("\"0123456789abcdef0123456789abcdef\\\"\"", "0123456789abcdef0123456789abcdef\""),
    ]

    @Test("Decodes escapes and UTF-8", arguments: strings)
    func decodesStrings(text: String, expected: String) throws {
        #expect(try Self.parse(text) == .string(expected))
    }

    /// Invalid UTF-8 inside a string, at every position relative to the 8-byte fast path.
    static let invalidUTF8: [[UInt8]] = [
        [0x80],  // stray continuation
        [0xBF],
        [0xC0, 0x80],  // overlong NUL
        [0xC1, 0xBF],  // overlong
        [0xC2],  // truncated
        [0xC2, 0x41],  // bad continuation
        [0xE0, 0x80, 0x80],  // overlong 3-byte
        [0xE0, 0x9F, 0xBF],  // overlong 3-byte
        [0xED, 0xA0, 0x80],  // encoded high surrogate
        [0xED, 0xBF, 0xBF],  // encoded low surrogate
        [0xE2, 0x82],  // truncated 3-byte
        [0xF0, 0x80, 0x80, 0x80],  // overlong 4-byte
        [0xF0, 0x8F, 0xBF, 0xBF],  // overlong 4-byte
        [0xF4, 0x90, 0x80, 0x80],  // above U+10FFFF
        [0xF5, 0x80, 0x80, 0x80],  // invalid lead
        [0xF8, 0x88, 0x80, 0x80, 0x80],  // 5-byte form
        [0xFE], [0xFF],
        [0xF0, 0x9F, 0x98],  // truncated 4-byte
    ]

    @Test("Rejects invalid UTF-8 in strings", arguments: invalidUTF8)
    func rejectsInvalidUTF8(sequence: [UInt8]) {
        for prefixLength in 0..<10 {
            let prefix = Array(repeating: UInt8(ascii: "a"), count: prefixLength)
            let document = [UInt8(ascii: "\"")] + prefix + sequence + Array("bcdefghij\"".utf8)
            #expect(throws: JOSEError(.malformedToken, "")) { try JSONParser.parse(document) }
            // After an escape, the buffered path must validate too.
            let escaped = Array("\"\\n".utf8) + prefix + sequence + Array("bcdefghij\"".utf8)
            #expect(throws: JOSEError(.malformedToken, "")) { try JSONParser.parse(escaped) }
        }
    }

    @Test("Special characters are found wherever they sit relative to 8-byte words")
    func fastPathBoundaries() throws {
        for length in 0..<24 {
            for position in 0...length {
                var body = String(repeating: "x", count: length)
                let index = body.index(body.startIndex, offsetBy: position)
                body.insert(contentsOf: "\\\"", at: index)
                #expect(try Self.parse("\"\(body)\"") == .string(body.replacingOccurrences(of: "\\\"", with: "\"")))

                var raw = Array(String(repeating: "x", count: length).utf8)
                raw.insert(0x01, at: position)
                #expect(throws: JOSEError(.malformedToken, "")) {
                    try JSONParser.parse([UInt8(ascii: "\"")] + raw + [UInt8(ascii: "\"")])
                }
                var accented = Array(String(repeating: "x", count: length).utf8)
                accented.insert(contentsOf: [0xC3, 0xA9], at: position)
                #expect(
                    try JSONParser.parse([UInt8(ascii: "\"")] + accented + [UInt8(ascii: "\"")])
                        == .string(String(decoding: accented, as: UTF8.self))
                )
            }
        }
    }

    @Test("Control characters are fine when escaped, every one of them")
    func escapedControls() throws {
        for scalar in 0..<0x20 {
            let hex = String(scalar, radix: 16)
            let escaped = "\"\\u" + String(repeating: "0", count: 4 - hex.count) + hex + "\""
            #expect(try Self.parse(escaped) == .string(String(UnicodeScalar(UInt8(scalar)))))
            let raw: [UInt8] = [UInt8(ascii: "\""), UInt8(scalar), UInt8(ascii: "\"")]
            #expect(throws: JOSEError(.malformedToken, "")) { try JSONParser.parse(raw) }
        }
    }

    // MARK: Objects

    static let duplicates: [String] = [
        #"{"a":1,"a":1}"#,
        #"{"a":1,"b":2,"a":3}"#,
        #"{"a":1,"\u0061":2}"#,
        #"{"alg":"HS256","alg":"none"}"#,
        #"{"x":{"a":1,"a":2}}"#,
        #"[{"a":1},{"b":1,"b":1}]"#,
        #"{"":1,"":2}"#,
    ]

    @Test("Rejects duplicate member names at any depth", arguments: duplicates)
    func rejectsDuplicates(text: String) {
        #expect(throws: JOSEError(.malformedToken, "")) { try Self.parse(text) }
        #expect(Self.reason(text)?.contains("duplicate member") == true)
    }

    @Test("Equal names in different objects are not duplicates")
    func sameNameDifferentObjects() throws {
        let value = try Self.parse(#"{"a":{"a":1},"b":[{"a":2},{"a":3}]}"#)
        #expect(value["a"]?["a"] == .int(1))
    }

    @Test("parseObject requires a top-level object")
    func parseObjectRequiresObject() throws {
        #expect(try JSONParser.parseObject(#"{"a":1}"#) == ["a": .int(1)])
        #expect(try JSONParser.parseObject(Array(#" {} "#.utf8)) == [:])
        for text in ["[]", "1", "\"s\"", "null", "true", "[{\"a\":1}]"] {
            #expect(throws: JOSEError(.malformedToken, "")) { try JSONParser.parseObject(text) }
            #expect(throws: JOSEError(.malformedToken, "")) { try JSONParser.parseObject(Array(text.utf8)) }
        }
        #expect(throws: JOSEError(.malformedToken, "")) { try JSONParser.parseObject("") }
        #expect(throws: JOSEError(.malformedToken, "")) { try JSONParser.parseObject("{} x") }
        #expect(throws: JOSEError(.malformedToken, "")) { try JSONParser.parseObject("{}", maxDepth: 0) }
    }

    // MARK: Depth

    @Test("Depth limit: exactly maxDepth levels pass, one more fails", arguments: [1, 2, 16, 32])
    func depthLimit(maxDepth: Int) throws {
        let arrays = String(repeating: "[", count: maxDepth) + String(repeating: "]", count: maxDepth)
        #expect(throws: Never.self) { try Self.parse(arrays, maxDepth: maxDepth) }
        let deeper = "[" + arrays + "]"
        #expect(throws: JOSEError(.malformedToken, "")) { try Self.parse(deeper, maxDepth: maxDepth) }

        var objects = "1"
        for _ in 0..<maxDepth { objects = "{\"k\":\(objects)}" }
        #expect(throws: Never.self) { try Self.parse(objects, maxDepth: maxDepth) }
        #expect(throws: JOSEError(.malformedToken, "")) { try Self.parse("[\(objects)]", maxDepth: maxDepth) }
        #expect(Self.reason("[\(objects)]", maxDepth: maxDepth)?.contains("nesting") == true)
    }

    @Test("Scalars need no depth; containers need at least 1")
    func depthZero() throws {
        #expect(try Self.parse("1", maxDepth: 0) == .int(1))
        #expect(throws: JOSEError(.malformedToken, "")) { try Self.parse("[]", maxDepth: 0) }
        #expect(throws: JOSEError(.malformedToken, "")) { try Self.parse("{}", maxDepth: -5) }
    }

    @Test("10,000-deep nesting is rejected without exhausting the stack")
    func deepNesting() {
        for (open, close) in [("[", "]"), ("{\"a\":", "}")] {
            let text = String(repeating: open, count: 10_000) + "1" + String(repeating: close, count: 10_000)
            #expect(throws: JOSEError(.malformedToken, "")) { try Self.parse(text) }
            // Even a caller asking for unlimited depth gets the ceiling.
            #expect(throws: JOSEError(.malformedToken, "")) { try Self.parse(text, maxDepth: .max) }
            let unterminated = String(repeating: open, count: 100_000)
            #expect(throws: JOSEError(.malformedToken, "")) { try Self.parse(unterminated, maxDepth: 1_000_000) }
        }
    }

    @Test("The depth ceiling itself is reachable")
    func depthCeiling() throws {
        let ceiling = JSONParser.depthCeiling
        let text = String(repeating: "[", count: ceiling) + String(repeating: "]", count: ceiling)
        #expect(throws: Never.self) { try Self.parse(text, maxDepth: .max) }
        #expect(throws: JOSEError(.malformedToken, "")) { try Self.parse("[" + text + "]", maxDepth: .max) }
    }

    // MARK: Entry points and errors

    @Test("String, [UInt8] and raw-buffer entry points agree")
    func entryPoints() throws {
        let text = #"{"a":[1,2.5,"x",null]}"#
        let fromString = try JSONParser.parse(text)
        let fromArray = try JSONParser.parse(Array(text.utf8))
        let fromRaw = try Array(text.utf8).withUnsafeBytes { try JSONParser.parse($0) }
        let fromRawObject = try Array(text.utf8).withUnsafeBytes { try JSONParser.parseObject($0) }
        #expect(fromString == fromArray)
        #expect(fromString == fromRaw)
        #expect(fromString == .object(fromRawObject))
        #expect(throws: JOSEError(.malformedToken, "")) {
            try JSONParser.parse(UnsafeRawBufferPointer(start: nil, count: 0))
        }
    }

    @Test("Parsing a slice reads only the slice")
    func slices() throws {
        let bytes = Array("[1,2]garbage".utf8)
        let value = try bytes.withUnsafeBytes { try JSONParser.parse(UnsafeRawBufferPointer(rebasing: $0[0..<5])) }
        #expect(value == .array([.int(1), .int(2)]))
    }

    @Test("Reasons give the offset but never the content")
    func reasonsAreContentFree() {
        let secret = "SECRET-VALUE-123"
        let reasons = [
            Self.reason("{\"\(secret)\":1,\"\(secret)\":2}"),
            Self.reason("[\"\(secret)\" \"\(secret)\"]"),
            Self.reason("{\"\(secret)\":\(secret)}"),
            Self.reason("\"\(secret)\u{1}\""),
        ]
        for reason in reasons {
            #expect(reason != nil)
            #expect(reason?.contains(secret) == false)
            #expect(reason?.contains("offset") == true)
        }
    }

    @Test("Agrees with Foundation on documents both accept")
    func agreesWithFoundation() throws {
        let text = #"{"iss":"https://idp.example.com","aud":["a","b"],"exp":1716239022,"n":-1.25e-3,"#
            + #""ok":true,"none":null,"nested":{"k":"v\n\u00e9"}}"#
        let ours = try Self.parse(text)
        let theirs = try #require(
            try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        )
        #expect(ours["iss"]?.stringValue == theirs["iss"] as? String)
        #expect(ours["exp"]?.numberValue == (theirs["exp"] as? NSNumber)?.doubleValue)
        #expect(ours["n"]?.numberValue == (theirs["n"] as? NSNumber)?.doubleValue)
        #expect(ours["nested"]?["k"]?.stringValue == (theirs["nested"] as? [String: Any])?["k"] as? String)
        #expect(ours["aud"]?.arrayValue?.count == (theirs["aud"] as? [Any])?.count)
    }
}
