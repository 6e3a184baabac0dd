import NIOCore
import NIOHTTP1
import TestSupport
import Testing
@testable import AuthGateway

/// The gateway's HTTP/1.1 request parser on its own: what it reads, what it refuses and with which answer,
/// that it never reads ahead of the part asked for, and that the parts do not depend on how the bytes were
/// split into reads.
@Suite("HTTP/1.1 request parser")
struct HTTP1RequestParserTests {
    static let limits = HTTP1RequestParser.Limits(maxHeaderBytes: 1024, maxHeaderCount: 10, maxURIBytes: 256)

    /// A part as plain text: `head GET /x HTTP/1.1 [host: a]`, `body hello`, `end`.
    enum Seen: Equatable, CustomStringConvertible {
        case head(String)
        case body(String)
        case end
        case error(HTTP1ParseError)

        var description: String {
            switch self {
            case .head(let text): return "head \(text)"
            case .body(let text): return "body \(text)"
            case .end: return "end"
            case .error(let error): return "error \(error)"
            }
        }
    }

    /// Every part of `text`, fed in reads of `chunk` bytes (all at once without one); consecutive body parts
    /// are joined, so results compare across splits. Stops at an error or when the parser is done.
    static func parse(_ text: String, chunk: Int? = nil, limits: HTTP1RequestParser.Limits = limits) -> [Seen] {
        parse(Array(text.utf8), reads: chunk.map { size in Self.reads(count: text.utf8.count, size: size) }, limits: limits)
    }

    static func reads(count: Int, size: Int) -> [Int] {
        stride(from: 0, to: count, by: size).map { min(size, count - $0) }
    }

    static func parse(_ bytes: [UInt8], reads: [Int]?, limits: HTTP1RequestParser.Limits = limits) -> [Seen] {
        var parser = HTTP1RequestParser(limits: limits)
        var buffer = ByteBuffer()
        var seen: [Seen] = []
        var offset = 0
        for size in reads ?? [bytes.count] {
            buffer.writeBytes(bytes[offset..<(offset + size)])
            offset += size
            while true {
                let part: HTTP1RequestParser.Part?
                do {
                    part = try parser.next(from: &buffer)
                } catch {
                    return seen + [.error(error)]
                }
                guard let part else { break }
                switch part {
                case .head(let head):
                    let fields = head.headers.map { "\($0.name.lowercased()): \($0.value)" }.joined(separator: ", ")
                    seen.append(.head("\(head.method.rawValue) \(head.uri) HTTP/\(head.version.major).\(head.version.minor) [\(fields)]"))
                case .body(let slice):
                    let text = String(buffer: slice)
                    if case .body(let before) = seen.last { seen[seen.count - 1] = .body(before + text) } else { seen.append(.body(text)) }
                case .end:
                    seen.append(.end)
                }
                if parser.isDone { return seen }
            }
        }
        return seen
    }

    // MARK: - What it reads

    @Test("a GET: its head with every field as sent (values trimmed), then its end")
    func get() {
        #expect(Self.parse("GET /a?b=c HTTP/1.1\r\nHost: x\r\nAccept:  */*\t\r\nX-Empty:\r\n\r\n") == [
            .head("GET /a?b=c HTTP/1.1 [host: x, accept: */*, x-empty: ]"), .end,
        ])
    }

    @Test("an HTTP/1.0 request; runs of spaces in the request line read as one")
    func http10() {
        #expect(Self.parse("GET  /a   HTTP/1.0\r\n\r\n") == [.head("GET /a HTTP/1.0 []"), .end])
    }

    @Test("a Content-Length body, exactly that many bytes; what follows is the next request")
    func contentLength() {
        #expect(Self.parse("POST /u HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET /n HTTP/1.1\r\n\r\n") == [
            .head("POST /u HTTP/1.1 [content-length: 5]"), .body("hello"), .end, .head("GET /n HTTP/1.1 []"), .end,
        ])
    }

    @Test("a chunked body: chunks joined, extensions and trailers dropped, framing fields in trailers too")
    func chunked() {
        let request = "POST /u HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "5;a=b;q=\"x;y\"\r\nhello\r\nA\r\n, world!!!\r\n0;last\r\nContent-Length: 99\r\nX-User-Id: admin\r\n\r\n"
            + "GET /n HTTP/1.1\r\n\r\n"
        #expect(Self.parse(request) == [
            .head("POST /u HTTP/1.1 [transfer-encoding: chunked]"), .body("hello, world!!!"), .end,
            .head("GET /n HTTP/1.1 []"), .end,
        ])
    }

    @Test("up to 8 empty lines before a request line are skipped; a 9th is refused")
    func leadingEmptyLines() {
        #expect(Self.parse(String(repeating: "\r\n", count: 8) + "GET / HTTP/1.1\r\n\r\n") == [.head("GET / HTTP/1.1 []"), .end])
        #expect(Self.parse(String(repeating: "\r\n", count: 9) + "GET / HTTP/1.1\r\n\r\n").last?.isMalformed == true)
    }

    @Test("the next request is not read until the current one's parts are taken: a head is never read ahead")
    func noReadAhead() throws {
        var parser = HTTP1RequestParser(limits: Self.limits)
        var buffer = ByteBuffer(string: "GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n")
        guard case .head(let first) = try parser.next(from: &buffer) else { Issue.record("no head"); return }
        #expect(first.uri == "/1")
        #expect(String(buffer: buffer) == "GET /2 HTTP/1.1\r\n\r\n")
        #expect(!parser.isBetweenRequests)
        #expect(try parser.next(from: &buffer) == .end)
        #expect(parser.isBetweenRequests)
        #expect(String(buffer: buffer) == "GET /2 HTTP/1.1\r\n\r\n")
    }

    @Test("a head whose framing the guard refuses is returned, and nothing after it is ever parsed")
    func unframed() throws {
        var parser = HTTP1RequestParser(limits: Self.limits)
        var buffer = ByteBuffer(string: "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabcGET / HTTP/1.1\r\n\r\n")
        guard case .head = try parser.next(from: &buffer) else { Issue.record("no head"); return }
        #expect(parser.isDone)
        #expect(try parser.next(from: &buffer) == nil)
        #expect(buffer.readableBytes == 3 + 18)
    }

    // MARK: - What it refuses

    @Test(
        "malformed bytes are 400 and the parser stays failed",
        arguments: [
            ("bare LF ending the request line", "GET / HTTP/1.1\nHost: x\r\n\r\n"),
            ("bare LF ending a field line", "GET / HTTP/1.1\r\nHost: x\n\r\n"),
            ("bare CR inside a value", "GET / HTTP/1.1\r\nHost: x\ry\r\n\r\n"),
            ("obs-fold", "GET / HTTP/1.1\r\nX-A: 1\r\n 2\r\n\r\n"),
            ("whitespace before the colon", "GET / HTTP/1.1\r\nContent-Length : 5\r\n\r\nhello"),
            ("whitespace before the first field", "GET / HTTP/1.1\r\n Host: x\r\n\r\n"),
            ("a field without a colon", "GET / HTTP/1.1\r\nHost x\r\n\r\n"),
            ("an empty field name", "GET / HTTP/1.1\r\n: x\r\n\r\n"),
            ("a field name that is not a token", "GET / HTTP/1.1\r\nX(A): x\r\n\r\n"),
            ("NUL in a value", "GET / HTTP/1.1\r\nX-A: a\u{0}b\r\n\r\n"),
            ("DEL in a value", "GET / HTTP/1.1\r\nX-A: a\u{7F}b\r\n\r\n"),
            ("a tab in the request line", "GET\t/ HTTP/1.1\r\n\r\n"),
            ("a control byte in the target", "GET /a\u{1}b HTTP/1.1\r\n\r\n"),
            ("a method that is not a token", "G(T / HTTP/1.1\r\n\r\n"),
            ("a version that is not HTTP/d.d", "GET / HTTP/1.10\r\n\r\n"),
            ("a lower-case version", "GET / http/1.1\r\n\r\n"),
            ("the HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
            ("a chunk size with 0x", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n"),
            ("a chunk size with a sign", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n+5\r\nhello\r\n0\r\n\r\n"),
            ("an empty chunk size", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n\r\nhello\r\n0\r\n\r\n"),
            ("a chunk size of 17 hex digits", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000005\r\nhello\r\n0\r\n\r\n"),
            ("a chunk size ended by a bare LF", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n"),
            ("chunk data longer than its size", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n"),
            ("a quoted CRLF in a chunk extension", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;a=\"x\r\n\"\r\nhello\r\n0\r\n\r\n"),
            ("a control byte in a chunk extension", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;a=\u{0}\r\nhello\r\n0\r\n\r\n"),
            ("a trailer line that is not a field", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nnot a field\r\n\r\n"),
        ])
    func malformed(_ name: String, _ text: String) {
        for chunk in [nil, 1, 7] {
            let seen = Self.parse(text, chunk: chunk)
            #expect(seen.last?.isMalformed == true, "\(name), reads of \(chunk ?? text.utf8.count): \(seen)")
            #expect(!seen.contains(.end), "\(name): a request was completed before the refusal: \(seen)")
        }
    }

    @Test("a request line longer than max_uri_bytes allows is 414 as soon as that many bytes are read, without its end")
    func requestLineTooLong() {
        let line = "GET /" + String(repeating: "a", count: 400)
        #expect(Self.parse(line) == [.error(.requestLineTooLong)])
        #expect(Self.parse(line, chunk: 3) == [.error(.requestLineTooLong)])
        let atLimit = "GET /" + String(repeating: "a", count: 255) + " HTTP/1.1\r\n\r\n"
        #expect(Self.parse(atLimit).first?.isHead == true)
    }

    @Test("fields over max_header_bytes are 431 before their end arrives; more than max_header_count fields are 431")
    func headTooLarge() {
        #expect(Self.parse("GET / HTTP/1.1\r\nX-A: " + String(repeating: "a", count: 2000)) == [.error(.headTooLarge)])
        let fields = (0..<11).map { "X-\($0): v\r\n" }.joined()
        #expect(Self.parse("GET / HTTP/1.1\r\n" + fields + "\r\n") == [.error(.headTooLarge)])
        let ten = (0..<10).map { "X-\($0): v\r\n" }.joined()
        #expect(Self.parse("GET / HTTP/1.1\r\n" + ten + "\r\n").first?.isHead == true)
    }

    @Test("a trailer section over max_header_bytes is 431")
    func trailersTooLarge() {
        let seen = Self.parse("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-A: " + String(repeating: "a", count: 2000))
        #expect(seen.last == .error(.headTooLarge))
    }

    @Test("a chunk line (size and extensions) over 4 KiB is 400 as it arrives, without its end")
    func chunkLineTooLong() {
        let head = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        #expect(Self.parse(head + "5;e=" + String(repeating: "x", count: 5000)).last?.isMalformed == true)
        #expect(Self.parse(head + String(repeating: "0", count: 5000)).last?.isMalformed == true)
        let edge = Self.parse(head + "5;e=" + String(repeating: "x", count: 4000) + "\r\nhello\r\n0\r\n\r\n")
        #expect(edge.dropFirst() == [.body("hello"), .end])
    }

    @Test("an HTTP version other than 1.0 and 1.1, and a request line without a version (HTTP/0.9), are 505")
    func versions() {
        #expect(Self.parse("GET / HTTP/1.2\r\n\r\n") == [.error(.unsupportedVersion)])
        #expect(Self.parse("GET / HTTP/2.0\r\n\r\n") == [.error(.unsupportedVersion)])
        #expect(Self.parse("GET /\r\n\r\n") == [.error(.unsupportedVersion)])
    }

    @Test("the answers: 400, 414, 431 and 505, each closing the connection")
    func answers() {
        let cases: [(HTTP1ParseError, HTTPResponseStatus)] = [
            (.malformed("x"), .badRequest), (.requestLineTooLong, .uriTooLong), (.headTooLarge, .requestHeaderFieldsTooLarge),
            (.unsupportedVersion, .httpVersionNotSupported),
        ]
        for (error, status) in cases {
            #expect(error.response.status == status)
            #expect(error.response.close)
        }
    }

    // MARK: - Splits

    /// A generated request stream: a few requests of every framing, pipelined.
    static func requests(_ random: inout SplitMix64) -> String {
        (0..<Int(random.next() % 4 + 1)).map { index in
            let body = String(repeating: "b", count: Int(random.next() % 40))
            switch random.next() % 3 {
            case 0:
                return "GET /g/\(index) HTTP/1.1\r\nHost: h\r\nX-N: \(random.next() % 1000)\r\n\r\n"
            case 1:
                return "POST /p/\(index) HTTP/1.1\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body
            default:
                var chunks = ""
                var rest = Substring(body)
                while !rest.isEmpty {
                    let size = min(rest.count, Int(random.next() % 9 + 1))
                    chunks += String(size, radix: 16) + (random.next() % 2 == 0 ? ";x=\"q\"" : "") + "\r\n" + rest.prefix(size) + "\r\n"
                    rest = rest.dropFirst(size)
                }
                return "PUT /c/\(index) HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks + "0\r\nT: 1\r\n\r\n"
            }
        }.joined()
    }

    @Test("200 generated request streams read the same whether they arrive at once, byte by byte or in random reads")
    func splitInvariance() {
        var random = SplitMix64(seed: 0x5EED)
        for _ in 0..<200 {
            let text = Self.requests(&random)
            let bytes = Array(text.utf8)
            let whole = Self.parse(bytes, reads: nil)
            #expect(whole.filter { $0 == .end }.count == whole.filter(\.isHead).count && !whole.isEmpty, "\(text.debugDescription)")
            #expect(Self.parse(bytes, reads: Array(repeating: 1, count: bytes.count)) == whole, "\(text.debugDescription)")
            var reads: [Int] = []
            var left = bytes.count
            while left > 0 {
                let size = min(left, Int(random.next() % 23 + 1))
                reads.append(size)
                left -= size
            }
            #expect(Self.parse(bytes, reads: reads) == whole, "\(text.debugDescription) in reads \(reads)")
        }
    }
}

extension HTTP1RequestParserTests.Seen {
    var isMalformed: Bool {
        if case .error(.malformed) = self { return true }
        return false
    }

    var isHead: Bool {
        if case .head = self { return true }
        return false
    }
}
