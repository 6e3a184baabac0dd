import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing
@testable import AuthGateway

/// The HTTP/1.1 server handler in an embedded channel: responses as bytes (framing chosen from the head and
/// the request), lazy pipelining, and reads held while a client's unparsed bytes pile up.
@Suite("HTTP/1.1 server handler")
struct HTTP1ServerHandlerTests {
    /// Counts the reads the handler passes on towards the socket.
    final class ReadCounter: ChannelOutboundHandler {
        typealias OutboundIn = ByteBuffer
        var reads = 0
        func read(context: ChannelHandlerContext) {
            reads += 1
            context.read()
        }
    }

    /// Collects what the handler passes on: parts as text, and errors.
    final class Collector: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        var parts: [String] = []
        var errors: [Error] = []
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head): parts.append("head \(head.method.rawValue) \(head.uri)")
            case .body(let body): parts.append("body \(String(buffer: body))")
            case .end: parts.append("end")
            }
        }
        func errorCaught(context: ChannelHandlerContext, error: Error) { errors.append(error) }
    }

    struct Fixture {
        let channel: EmbeddedChannel
        let reads: ReadCounter
        let collector: Collector

        init(maxHeaderBytes: Int = 1024) throws {
            reads = ReadCounter()
            collector = Collector()
            channel = EmbeddedChannel()
            try channel.pipeline.syncOperations.addHandlers([
                reads,
                HTTP1ServerHandler(limits: .init(maxHeaderBytes: maxHeaderBytes, maxHeaderCount: 10, maxURIBytes: 256)),
                collector,
            ])
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        }

        func send(_ text: String) throws {
            try channel.writeInbound(ByteBuffer(string: text))
        }

        func respond(_ parts: [HTTPServerResponsePart]) throws -> String {
            for part in parts { channel.write(part, promise: nil) }
            channel.flush()
            var text = ""
            while let buffer = try channel.readOutbound(as: ByteBuffer.self) { text += String(buffer: buffer) }
            return text
        }
    }

    static func head(_ status: HTTPResponseStatus, _ headers: [(String, String)] = [], version: HTTPVersion = .http1_1)
        -> HTTPServerResponsePart
    {
        .head(HTTPResponseHead(version: version, status: status, headers: HTTPHeaders(headers)))
    }

    static func body(_ text: String) -> HTTPServerResponsePart { .body(.byteBuffer(ByteBuffer(string: text))) }

    // MARK: - Responses

    @Test("a response with Content-Length is written as is; without one on HTTP/1.1 it is chunked")
    func framing() throws {
        let fixture = try Fixture()
        try fixture.send("GET /a HTTP/1.1\r\n\r\n")
        #expect(try fixture.respond([Self.head(.ok, [("content-length", "5")]), Self.body("hello"), .end(nil)])
            == "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello")
        try fixture.send("GET /b HTTP/1.1\r\n\r\n")
        #expect(try fixture.respond([Self.head(.ok), Self.body("hello"), Self.body(""), Self.body("!"), .end(nil)])
            == "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n1\r\n!\r\n0\r\n\r\n")
    }

    @Test("a small response leaves as one write at the flush; a large body is not copied into the head's buffer")
    func coalescing() throws {
        let fixture = try Fixture()
        try fixture.send("GET /a HTTP/1.1\r\n\r\n")
        fixture.channel.write(Self.head(.ok, [("content-length", "5")]), promise: nil)
        fixture.channel.write(Self.body("hello"), promise: nil)
        #expect(try fixture.channel.readOutbound(as: ByteBuffer.self) == nil, "nothing passed on before the flush")
        let ended = fixture.channel.eventLoop.makePromise(of: Void.self)
        fixture.channel.writeAndFlush(HTTPServerResponsePart.end(nil), promise: ended)
        let written = try #require(try fixture.channel.readOutbound(as: ByteBuffer.self))
        #expect(String(buffer: written) == "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello")
        #expect(try fixture.channel.readOutbound(as: ByteBuffer.self) == nil, "one write for head, body and end")
        try ended.futureResult.wait()

        try fixture.send("GET /b HTTP/1.1\r\n\r\n")
        let large = String(repeating: "x", count: 20_000)
        fixture.channel.write(Self.head(.ok, [("content-length", "20000")]), promise: nil)
        fixture.channel.write(Self.body(large), promise: nil)
        fixture.channel.writeAndFlush(HTTPServerResponsePart.end(nil), promise: nil)
        var writes: [String] = []
        while let buffer = try fixture.channel.readOutbound(as: ByteBuffer.self) { writes.append(String(buffer: buffer)) }
        #expect(writes == ["HTTP/1.1 200 OK\r\ncontent-length: 20000\r\n\r\n", large])
    }

    @Test("no body after HEAD, 204 or 304, whatever the body parts or Content-Length say")
    func noBody() throws {
        let fixture = try Fixture()
        try fixture.send("HEAD /a HTTP/1.1\r\n\r\n")
        #expect(try fixture.respond([Self.head(.ok, [("content-length", "5")]), Self.body("hello"), .end(nil)])
            == "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n")
        try fixture.send("GET /b HTTP/1.1\r\n\r\n")
        #expect(try fixture.respond([Self.head(.noContent), Self.body("x"), .end(nil)]) == "HTTP/1.1 204 No Content\r\n\r\n")
        try fixture.send("GET /c HTTP/1.1\r\n\r\n")
        #expect(try fixture.respond([Self.head(.notModified), .end(nil)]) == "HTTP/1.1 304 Not Modified\r\n\r\n")
    }

    @Test("an HTTP/1.0 answer without a length is not chunked: its body ends with the connection")
    func http10() throws {
        let fixture = try Fixture()
        try fixture.send("GET /a HTTP/1.0\r\n\r\n")
        #expect(try fixture.respond([Self.head(.ok, version: .http1_0), Self.body("hello"), .end(nil)])
            == "HTTP/1.0 200 OK\r\n\r\nhello")
    }

    @Test("a 100 Continue goes out before the final answer and does not decide its framing")
    func informational() throws {
        let fixture = try Fixture()
        try fixture.send("POST /a HTTP/1.1\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n")
        #expect(try fixture.respond([Self.head(.continue)]) == "HTTP/1.1 100 Continue\r\n\r\n")
        try fixture.send("ok")
        #expect(try fixture.respond([Self.head(.ok), Self.body("x"), .end(nil)])
            == "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n")
        #expect(fixture.collector.parts == ["head POST /a", "body ok", "end"])
    }

    // MARK: - Pipelining and reads

    @Test("pipelined requests are passed on one at a time: the next once the current answer has ended")
    func lazyPipelining() throws {
        let fixture = try Fixture()
        try fixture.send("GET /1 HTTP/1.1\r\n\r\nPOST /2 HTTP/1.1\r\nContent-Length: 2\r\n\r\nhiGET /3 HTTP/1.1\r\n\r\n")
        #expect(fixture.collector.parts == ["head GET /1", "end"])
        _ = try fixture.respond([Self.head(.ok, [("content-length", "0")])])
        #expect(fixture.collector.parts == ["head GET /1", "end"])
        _ = try fixture.respond([.end(nil)])
        #expect(fixture.collector.parts == ["head GET /1", "end", "head POST /2", "body hi", "end"])
        _ = try fixture.respond([Self.head(.ok, [("content-length", "0")]), .end(nil)])
        #expect(fixture.collector.parts.suffix(2) == ["head GET /3", "end"])
    }

    @Test("reads stop while 64 KiB of a client's bytes wait unparsed, and resume once they are taken")
    func readsHeld() throws {
        let fixture = try Fixture()
        let request = "GET /p HTTP/1.1\r\nX-Pad: " + String(repeating: "p", count: 900) + "\r\n\r\n"
        try fixture.send(String(repeating: request, count: 80))
        let before = fixture.reads.reads
        fixture.channel.read()
        #expect(fixture.reads.reads == before, "a read was passed on with \(80 * request.utf8.count) bytes waiting")
        // Answering requests takes their bytes; once under the bound, the held read goes on.
        for _ in 0..<20 { _ = try fixture.respond([Self.head(.ok, [("content-length", "0")]), .end(nil)]) }
        #expect(fixture.reads.reads == before + 1)
        #expect(fixture.collector.parts.filter { $0.hasPrefix("head") }.count == 21)
    }

    @Test("graceful shutdown: an idle connection closes at once")
    func quiesceIdle() throws {
        let fixture = try Fixture()
        try fixture.send("GET /1 HTTP/1.1\r\n\r\n")
        _ = try fixture.respond([Self.head(.ok, [("content-length", "0")]), .end(nil)])
        #expect(fixture.channel.isActive)
        fixture.channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(!fixture.channel.isActive)
    }

    @Test("graceful shutdown: a busy connection finishes its answer (Connection: close), then closes; what was pipelined is never read")
    func quiesceBusy() throws {
        let fixture = try Fixture()
        try fixture.send("GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n")
        fixture.channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(fixture.channel.isActive)
        let answer = try fixture.respond([Self.head(.ok, [("content-length", "2")]), Self.body("ok"), .end(nil)])
        #expect(answer == "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
        #expect(!fixture.channel.isActive)
        #expect(fixture.collector.parts == ["head GET /1", "end"])
    }

    @Test("bytes the parser refuses become one error; nothing after them is passed on")
    func parseError() throws {
        let fixture = try Fixture()
        try fixture.send("GET /1 HTTP/1.1\r\nBad Field\r\n\r\nGET /2 HTTP/1.1\r\n\r\n")
        #expect(fixture.collector.parts.isEmpty)
        #expect(fixture.collector.errors.count == 1)
        #expect((fixture.collector.errors.first as? HTTP1ParseError)?.response.status == .badRequest)
        _ = try fixture.respond([Self.head(.badRequest, [("content-length", "0")]), .end(nil)])
        try fixture.send("GET /3 HTTP/1.1\r\n\r\n")
        #expect(fixture.collector.parts.isEmpty)
        #expect(fixture.collector.errors.count == 1)
    }
}
