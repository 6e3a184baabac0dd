import Foundation
import TestSupport
import Testing

@testable import JOSE

@Suite("JSONSerializer")
struct JSONSerializerTests {
    static let compact: [(JSONValue, String)] = [
        (.null, "null"),
        (.bool(true), "true"),
        (.bool(false), "false"),
        (.int(0), "0"),
        (.int(-7), "-7"),
        (.int(.max), "9223372036854775807"),
        (.int(.min), "-9223372036854775808"),
        (.double(1.0), "1.0"),
        (.double(-0.0), "-0.0"),
        (.double(0.1), "0.1"),
        (.double(1.5), "1.5"),
        (.double(1e300), "1e+300"),
        (.double(9_223_372_036_854_775_808), "9.223372036854776e+18"),
        (.double(.nan), "null"),
        (.double(.infinity), "null"),
        (.double(-.infinity), "null"),
        (.string(""), "\"\""),
        (.string("a\"b\\c/d"), #""a\"b\\c/d""#),
        (.string("\n\r\t\u{0}\u{1F}"), #""\u000a\u000d\u0009\u0000\u001f""#),
        // DEL is escaped too: the same escaper writes the logs, where a raw DEL would reach a terminal.
        (.string("é€😀\u{7F}"), #""é€😀\u007f""#),
        (.array([]), "[]"),
        (.object([:]), "{}"),
        (.array([.int(1), .string("x"), .null]), #"[1,"x",null]"#),
        (.object(["b": .int(2), "a": .int(1), "c": .array([.bool(false)])]), #"{"a":1,"b":2,"c":[false]}"#),
        (.object(["b": .object(["z": .null, "y": .int(1)]), "B": .int(0), "a": .int(1)]),
         #"{"B":0,"a":1,"b":{"y":1,"z":null}}"#),
    ]

    @Test("Compact output", arguments: compact)
    func compactOutput(value: JSONValue, expected: String) {
        #expect(JSONSerializer.serialize(value) == expected)
        #expect(JSONSerializer.bytes(value) == Array(expected.utf8))
    }

    @Test("Keys sort by UTF-8 bytes, independent of insertion order")
    func deterministic() {
        var first: [String: JSONValue] = [:]
        var second: [String: JSONValue] = [:]
        let names = ["zeta", "alpha", "Émile", "émile", "Zed", "_", "10", "9", "a.b", "ab"]
        for name in names { first[name] = .string(name) }
        for name in names.reversed() { second[name] = .string(name) }
        let output = JSONSerializer.serialize(.object(first))
        #expect(output == JSONSerializer.serialize(.object(second)))
        #expect(output.hasPrefix(#"{"10":"10","9":"9","Zed":"Zed","_":"_","a.b":"a.b","ab":"ab","alpha""#))
        #expect(output.hasSuffix(#""zeta":"zeta","Émile":"Émile","émile":"émile"}"#))
    }

    @Test("Pretty output: two-space indent, one member per line")
    func prettyOutput() {
        let value: JSONValue = .object([
            "sub": .string("alice"),
            "aud": .array([.string("a"), .string("b")]),
            "empty": .object([:]),
            "none": .array([]),
            "nested": .object(["x": .int(1)]),
        ])
        let expected = """
            {
              "aud": [
                "a",
                "b"
              ],
              "empty": {},
              "nested": {
                "x": 1
              },
              "none": [],
              "sub": "alice"
            }
            """
        #expect(JSONSerializer.serialize(value, pretty: true) == expected)
        #expect(JSONSerializer.serialize(.int(1), pretty: true) == "1")
    }

    @Test("Round trip through the parser, compact and pretty")
    func roundTrip() throws {
        var generator = SplitMix64(seed: 7)
        for _ in 0..<500 {
            let value = JOSEParseFixtures.randomValue(using: &generator, depth: 0)
            for pretty in [false, true] {
                let text = JSONSerializer.serialize(value, pretty: pretty)
                let reparsed = try JSONParser.parse(text)
                #expect(reparsed == value)
                #expect(JSONSerializer.serialize(reparsed, pretty: pretty) == text)
            }
        }
    }

    @Test("Doubles round-trip exactly and stay doubles")
    func doubles() throws {
        let samples: [Double] = [
            0.1, 1.0 / 3.0, 1e-7, 123456.789, 1e21, 1e22, 2.2250738585072014e-308, .leastNonzeroMagnitude,
            .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 4_503_599_627_370_496, 1e16, 100,
        ]
        for number in samples {
            let text = JSONSerializer.serialize(.double(number))
            #expect(try JSONParser.parse(text) == .double(number), "\(text)")
        }
    }

    @Test("Foundation accepts the output")
    func foundationAccepts() throws {
        var generator = SplitMix64(seed: 99)
        for _ in 0..<100 {
            let value = JSONValue.object(["v": JOSEParseFixtures.randomValue(using: &generator, depth: 0)])
            let bytes = JSONSerializer.bytes(value)
            #expect(throws: Never.self) { try JSONSerialization.jsonObject(with: Data(bytes)) }
        }
        let strings = try #require(
            try JSONSerialization.jsonObject(with: Data(JSONSerializer.bytes(.array([.string("\u{1}\"\\é")]))))
                as? [String]
        )
        #expect(strings == ["\u{1}\"\\é"])
    }
}
