import NIOCore
import NIOEmbedded
import NIOHPACK
import NIOHTTP1
import NIOHTTP2
import Testing
@testable import AuthGateway

/// ``HTTP2StreamHandler`` on an `EmbeddedChannel` standing in for one HTTP/2 stream: payloads in, HTTP/1.1 parts
/// to the request handler (called directly), response parts back out as payloads.
@Suite("HTTP/2 stream handler")
struct HTTP2StreamHandlerTests {
    final class Receiver: HTTP1RequestReceiver {
        var parts: [HTTPServerRequestPart] = []
        func receivedRequestPart(_ part: HTTPServerRequestPart) { parts.append(part) }
    }

    static let request = HPACKHeaders([
        (":method", "POST"), (":scheme", "https"), (":path", "/api/x"), (":authority", "a.example"),
        ("content-length", "3"),
    ])

    private func stream() throws -> (EmbeddedChannel, HTTP2StreamHandler, Receiver) {
        let handler = HTTP2StreamHandler()
        let receiver = Receiver()
        handler.receiver = receiver
        let channel = EmbeddedChannel(handler: handler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return (channel, handler, receiver)
    }

    private func headers(_ fields: HPACKHeaders, endStream: Bool = false) -> HTTP2Frame.FramePayload {
        .headers(.init(headers: fields, endStream: endStream))
    }

    private func data(_ text: String, endStream: Bool = false) -> HTTP2Frame.FramePayload {
        .data(.init(data: .byteBuffer(ByteBuffer(string: text)), endStream: endStream))
    }

    /// A payload as text, for comparisons (payloads are not `Equatable`).
    private func describe(_ payload: HTTP2Frame.FramePayload?) -> String {
        switch payload {
        case .headers(let headers)?:
            let fields = headers.headers.map { "\($0.name): \($0.value)" }.joined(separator: ", ")
            return "HEADERS\(headers.endStream ? " END_STREAM" : "") " + fields
        case .data(let data)?:
            guard case .byteBuffer(let buffer) = data.data else { return "DATA (file)" }
            return "DATA\(data.endStream ? " END_STREAM" : "") \(String(buffer: buffer))"
        case .rstStream(let code)?:
            return "RST_STREAM \(code)"
        case let other?:
            return "\(other)"
        case nil:
            return "nothing"
        }
    }

    private func next(_ channel: EmbeddedChannel) throws -> String {
        describe(try channel.readOutbound(as: HTTP2Frame.FramePayload.self))
    }

    @Test("a request with a body and trailers reaches the request handler as head, body, end(trailers)")
    func requestParts() throws {
        let (channel, _, receiver) = try stream()
        try channel.writeInbound(headers(Self.request))
        try channel.writeInbound(data("ab"))
        try channel.writeInbound(data("c"))
        try channel.writeInbound(headers(HPACKHeaders([("x-sum", "1")]), endStream: true))
        #expect(receiver.parts.count == 4)
        guard case .head(let head) = receiver.parts.first else { Issue.record("no head"); return }
        #expect(head.method == .POST && head.uri == "/api/x" && head.headers["host"] == ["a.example"])
        #expect(receiver.parts[1] == .body(ByteBuffer(string: "ab")))
        #expect(receiver.parts[2] == .body(ByteBuffer(string: "c")))
        #expect(receiver.parts[3] == .end(HTTPHeaders([("x-sum", "1")])))
        #expect(try channel.readInbound(as: HTTPServerRequestPart.self) == nil)
        #expect(try channel.finish().isClean)
    }

    @Test("END_STREAM on HEADERS is the end; on an empty DATA only the end; on a DATA with bytes, body then end")
    func endStream() throws {
        let (channel, _, receiver) = try stream()
        try channel.writeInbound(headers(HPACKHeaders([(":method", "GET"), (":scheme", "https"), (":path", "/"),
                                                      (":authority", "a")]), endStream: true))
        #expect(receiver.parts.count == 2 && receiver.parts.last == .end(nil))

        let (second, _, parts) = try stream()
        try second.writeInbound(headers(Self.request))
        try second.writeInbound(data("", endStream: true))
        #expect(parts.parts.count == 2 && parts.parts.last == .end(nil))

        let (third, _, bodyParts) = try stream()
        try third.writeInbound(headers(Self.request))
        try third.writeInbound(data("abc", endStream: true))
        #expect(bodyParts.parts.dropFirst() == [.body(ByteBuffer(string: "abc")), .end(nil)])
        for channel in [channel, second, third] { #expect(try channel.finish().isClean) }
    }

    @Test("a malformed head resets the stream with PROTOCOL_ERROR; nothing is passed on, nothing more is read")
    func malformed() throws {
        let (channel, _, receiver) = try stream()
        var fields = Self.request
        fields.add(name: "x-field", value: "v ")
        try channel.writeInbound(headers(fields))
        #expect(try next(channel) == describe(.rstStream(.protocolError)))
        #expect(!channel.isActive)
        _ = try? channel.writeInbound(data("abc", endStream: true))
        #expect(receiver.parts.isEmpty)
    }

    @Test("a head that makes no HTTP/1.1 request closes the stream (CANCEL) without PROTOCOL_ERROR")
    func untranslatable() throws {
        let (channel, _, receiver) = try stream()
        try channel.writeInbound(headers(HPACKHeaders([(":method", "GET"), (":scheme", "https"), (":path", "/")])))
        #expect(!channel.isActive)
        #expect(try next(channel) == "nothing")
        #expect(receiver.parts.isEmpty)
    }

    @Test("without a receiver the parts go down the pipeline")
    func pipelineFallback() throws {
        let channel = EmbeddedChannel(handler: HTTP2StreamHandler())
        try channel.writeInbound(headers(Self.request))
        guard case .head(let head) = try channel.readInbound(as: HTTPServerRequestPart.self) else {
            Issue.record("no head")
            return
        }
        #expect(head.uri == "/api/x")
        #expect(try channel.finish().isClean)
    }

    @Test("response parts go out as HEADERS (:status, lower-case names), DATA, and an END_STREAM DATA or trailers")
    func responseParts() throws {
        let (channel, handler, _) = try stream()
        let head = HTTPResponseHead(version: .http1_1, status: .ok, headers: HTTPHeaders([("Content-Type", "a/b"),
                                                                                         ("Connection", "close")]))
        handler.writeResponsePart(.head(head), promise: nil)
        handler.writeResponsePart(.body(.byteBuffer(ByteBuffer(string: "hi"))), promise: nil)
        handler.writeResponsePart(.end(nil), promise: nil)
        handler.writeResponsePart(.end(HTTPHeaders([("X-Sum", "1")])), promise: nil)
        handler.flushResponse()
        #expect(try next(channel) == "HEADERS :status: 200, content-type: a/b")
        #expect(try next(channel) == "DATA hi")
        #expect(try next(channel) == "DATA END_STREAM ")
        #expect(try next(channel) == "HEADERS END_STREAM x-sum: 1")
        #expect(try channel.finish().isClean)
    }
}
