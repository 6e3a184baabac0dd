import Testing
import TestSupport

@testable import GatewayRedis

/// The reply parser: every RESP2 type, the same replies however the bytes are split, nothing consumed before
/// a reply is complete, and every malformed or oversized reply a protocol error (never a crash, never a
/// wrong value).
@Suite("RESP reply parser")
struct RESPReplyParserTests {
    static let samples: [(String, RESPValue)] = [
        ("+OK\r\n", .simpleString("OK")),
        ("-NOSCRIPT No matching script\r\n", .error("NOSCRIPT No matching script")),
        (":0\r\n", .integer(0)),
        (":-42\r\n", .integer(-42)),
        (":9223372036854775807\r\n", .integer(Int64.max)),
        ("$5\r\nhello\r\n", .bulkString(Array("hello".utf8))),
        ("$0\r\n\r\n", .bulkString([])),
        ("$-1\r\n", .bulkString(nil)),
        ("$4\r\na\r\nb\r\n", .bulkString(Array("a\r\nb".utf8))),
        ("*-1\r\n", .array(nil)),
        ("*0\r\n", .array([])),
        ("*4\r\n:1\r\n:2\r\n:0\r\n:125000\r\n", .array([.integer(1), .integer(2), .integer(0), .integer(125_000)])),
        ("*2\r\n*1\r\n+a\r\n$-1\r\n", .array([.array([.simpleString("a")]), .bulkString(nil)])),
    ]

    @Test("each RESP2 type reads to its value and consumes exactly its bytes")
    func types() throws {
        for (text, expected) in Self.samples {
            let (values, consumed) = try RESPReplyParser().parseAll(Array(text.utf8))
            #expect(values == [expected], "\(text.debugDescription)")
            #expect(consumed == text.utf8.count, "\(text.debugDescription)")
        }
    }

    @Test("every split of a pipelined stream gives the same replies; an incomplete reply consumes nothing")
    func splitInvariance() throws {
        let stream = Array(Self.samples.map(\.0).joined().utf8)
        let expected = Self.samples.map(\.1)
        for cut in 0...stream.count {
            var pending = Array(stream[..<cut])
            var values: [RESPValue] = []
            let first = try RESPReplyParser().parseAll(pending)
            values += first.values
            pending.removeFirst(first.consumed)
            pending += stream[cut...]
            let rest = try RESPReplyParser().parseAll(pending)
            values += rest.values
            #expect(values == expected, "cut at \(cut)")
            #expect(rest.consumed == pending.count, "cut at \(cut)")
        }
    }

    @Test("malformed replies are protocol errors", arguments: [
        "?1\r\n", "%1\r\n", ":12a\r\n", ":\r\n", ":-\r\n", ":99999999999999999999\r\n", ":1\n", "+OK\rX",
        "$-2\r\n", "$3\r\nabcd\r\n", "$3\r\nabc\n\n", "*-2\r\n", "*1\r\n?\r\n", "$ 1\r\nx\r\n", ":+1\r\n",
    ])
    func malformed(_ text: String) {
        #expect(throws: RESPProtocolError.self, "\(text.debugDescription)") { _ = try RESPReplyParser().parseAll(Array(text.utf8)) }
    }

    @Test("limits: a line, a bulk string, an array and nesting beyond them are errors, at them are read")
    func limits() throws {
        var limits = RESPReplyParser.Limits()
        limits.maxLineBytes = 8
        limits.maxBulkBytes = 4
        limits.maxArrayCount = 2
        limits.maxDepth = 2
        let parser = RESPReplyParser(limits: limits)
        #expect(try parser.parseAll(Array("+12345678\r\n".utf8)).values == [.simpleString("12345678")])
        #expect(throws: RESPProtocolError.self) { _ = try parser.parseAll(Array("+123456789\r\n".utf8)) }
        // A line that never ends is refused once it passes the limit, not buffered forever.
        #expect(throws: RESPProtocolError.self) { _ = try parser.parseAll(Array("+1234567890".utf8)) }
        #expect(try parser.parseAll(Array("$4\r\nabcd\r\n".utf8)).values == [.bulkString(Array("abcd".utf8))])
        #expect(throws: RESPProtocolError.self) { _ = try parser.parseAll(Array("$5\r\n".utf8)) }
        #expect(throws: RESPProtocolError.self) { _ = try parser.parseAll(Array("*3\r\n".utf8)) }
        #expect(try parser.parseAll(Array("*1\r\n*1\r\n:1\r\n".utf8)).values == [.array([.array([.integer(1)])])])
        #expect(throws: RESPProtocolError.self) { _ = try parser.parseAll(Array("*1\r\n*1\r\n*1\r\n:1\r\n".utf8)) }
    }

    @Test("commands are arrays of bulk strings, binary-safe")
    func commandEncoding() {
        var bytes: [UInt8] = []
        RESPCommand.encode([Array("SET".utf8), [0, 13, 10], []], into: &bytes)
        #expect(bytes == Array("*3\r\n$3\r\nSET\r\n$3\r\n".utf8) + [0, 13, 10] + Array("\r\n$0\r\n\r\n".utf8))
    }

    @Test("random bytes never crash the parser, and a reply it returns re-parses from its own bytes")
    func randomBytes() {
        var random = SplitMix64(seed: 7)
        let alphabet = Array("+-:$*\r\n0123456789-aOK".utf8)
        for _ in 0..<20_000 {
            let length = Int(random.next() % 24)
            let bytes = (0..<length).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] }
            if let (values, consumed) = try? RESPReplyParser().parseAll(bytes) {
                #expect(consumed <= bytes.count)
                #expect((try? RESPReplyParser().parseAll(Array(bytes[..<consumed])).values) == values)
            }
        }
    }
}
