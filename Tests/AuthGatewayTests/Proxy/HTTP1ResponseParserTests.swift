import NIOCore
import NIOHTTP1
import Testing

@testable import AuthGateway

/// The upstream side's response reader: every framing RFC 9112 §6.3 names, the same parts however the bytes
/// are split, and every response that could be read two ways refused.
@Suite("HTTP/1.1 response parser")
struct HTTP1ResponseParserTests {
    typealias Part = HTTP1ResponseParser.Part

    /// The parts of `text` for a request with `method`, fed in pieces of `step` bytes (0: at once), then
    /// the connection's close when `close`.
    static func parts(_ text: String, method: HTTPMethod = .GET, step: Int = 0, close: Bool = false) throws -> [String] {
        var parser = HTTP1ResponseParser()
        parser.requestSent(method: method)
        let bytes = Array(text.utf8)
        var buffer = ByteBuffer()
        var out: [String] = []
        var body = ""
        func drain() throws {
            while let part = try parser.next(from: &buffer) {
                switch part {
                case .head(let head, let reusable):
                    out.append("head \(head.status.code) \(reusable ? "reusable" : "close") \(head.headers.map { "\($0.name)=\($0.value)" }.joined(separator: ","))")
                case .body(let chunk): body += String(buffer: chunk)
                case .end:
                    if !body.isEmpty { out.append("body \(body)") }
                    body = ""
                    out.append("end")
                }
            }
        }
        var offset = 0
        let size = step == 0 ? bytes.count : step
        while offset < bytes.count {
            buffer.writeBytes(bytes[offset..<min(bytes.count, offset + size)])
            offset += size
            try drain()
        }
        if close, parser.connectionClosed() == .end {
            if !body.isEmpty { out.append("body \(body)") }
            out.append("end")
        }
        return out
    }

    static let cases: [(String, HTTPMethod, Bool, [String])] = [
        ("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", .GET, false, ["head 200 reusable Content-Length=5", "body hello", "end"]),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=\"y\"\r\nabc\r\n2\r\nde\r\n0\r\nX-T: 1\r\n\r\n", .GET, false,
         ["head 200 reusable Transfer-Encoding=chunked", "body abcde", "end"]),
        ("HTTP/1.1 200 OK\r\n\r\nuntil the close", .GET, true, ["head 200 close ", "body until the close", "end"]),
        ("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", .HEAD, false, ["head 200 reusable Content-Length=5", "end"]),
        ("HTTP/1.1 204 No Content\r\n\r\n", .GET, false, ["head 204 reusable ", "end"]),
        ("HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n", .GET, false, ["head 304 reusable Content-Length=9", "end"]),
        ("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx", .GET, false,
         ["head 200 reusable Content-Length=1", "body x", "end"]),
        ("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", .GET, false, ["head 200 close Content-Length=1", "body x", "end"]),
        ("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx", .GET, false, ["head 200 close Connection=close,Content-Length=1", "body x", "end"]),
        ("HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok", .GET, false, ["head 200 reusable Content-Length=2, 2", "body ok", "end"]),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzz", .GET, true, ["head 200 close Transfer-Encoding=gzip", "body zz", "end"]),
        ("HTTP/1.1 500 \r\nContent-Length: 0\r\n\r\n", .GET, false, ["head 500 reusable Content-Length=0", "end"]),
    ]

    @Test("each framing, at once and split at every size")
    func framings() throws {
        for (text, method, close, expected) in Self.cases {
            for step in [0, 1, 2, 3, 7] {
                #expect(try Self.parts(text, method: method, step: step, close: close) == expected, "\(text.debugDescription) step \(step)")
            }
        }
    }

    @Test("responses that could be read two ways, or are not HTTP/1.1, are protocol errors", arguments: [
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
        "HTTP/1.1 101 Switching Protocols\r\n\r\n",
        "HTTP/2.0 200 OK\r\n\r\n",
        "HTTP/1.1 20 OK\r\n\r\n",
        "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\n Folded: x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX: a\u{1}b\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc",
        "SMTP ready\r\n\r\n",
    ])
    func malformed(_ text: String) {
        #expect(throws: HTTP1ParseError.self, "\(text.debugDescription)") { _ = try Self.parts(text) }
    }

    @Test("framing headers are checked on bodiless responses too (found by the upstream fuzz target)")
    func bodilessFramingChecked() {
        for (text, method) in [
            ("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", HTTPMethod.HEAD),
            ("HTTP/1.1 304 Not Modified\r\nContent-Length: x\r\n\r\n", .GET),
            ("HTTP/1.1 204 No Content\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", .GET),
        ] {
            #expect(throws: HTTP1ParseError.self, "\(text.debugDescription)") { _ = try Self.parts(text, method: method) }
        }
    }

    @Test("bytes after a response's end, or before any request, are an error: the connection is out of step")
    func extraBytes() throws {
        #expect(throws: HTTP1ParseError.self) { _ = try Self.parts("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxHTTP/1.1 200 OK\r\n\r\n") }
        var parser = HTTP1ResponseParser()
        var buffer = ByteBuffer(string: "HTTP/1.1 200 OK\r\n\r\n")
        #expect(throws: HTTP1ParseError.self) { _ = try parser.next(from: &buffer) }
    }

    @Test("a body cut by the close is not an end unless the body runs until the close")
    func cutShort() throws {
        #expect(try Self.parts("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", close: true) == ["head 200 reusable Content-Length=10"])
    }

    @Test("the request head is serialized as it was built, framing headers included")
    func serializer() {
        var buffer = ByteBuffer()
        let head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/a?b=c", headers: HTTPHeaders([("host", "svc"), ("transfer-encoding", "chunked")]))
        UpstreamClientHandler.serialize(head, into: &buffer)
        #expect(String(buffer: buffer) == "POST /a?b=c HTTP/1.1\r\nhost: svc\r\ntransfer-encoding: chunked\r\n\r\n")
    }
}
