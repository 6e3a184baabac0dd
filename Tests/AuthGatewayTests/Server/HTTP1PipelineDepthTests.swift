import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing
@testable import AuthGateway

@Suite("HTTP/1.1 pipelining depth")
struct HTTP1PipelineDepthTests {
    static let head = HTTPServerRequestPart.head(HTTPRequestHead(version: .http1_1, method: .GET, uri: "/x"))

    @Test("requests within the bound pass; answered ones make room again")
    func withinBound() {
        var depth = HTTP1PipelineDepth(maximum: 2)
        #expect(depth.received(Self.head) == .forward)
        #expect(depth.received(.end(nil)) == .forward)
        #expect(depth.received(Self.head) == .forward)
        #expect(depth.received(.end(nil)) == .forward)
        #expect(depth.answerEnded() == false)
        #expect(depth.received(Self.head) == .forward, "one answered: room for one more")
        #expect(!depth.overflowed)
    }

    @Test("past the bound everything is dropped, and the connection closes once the accepted requests are answered")
    func overflow() {
        var depth = HTTP1PipelineDepth(maximum: 2)
        _ = depth.received(Self.head)
        _ = depth.received(Self.head)
        #expect(depth.received(Self.head) == .drop)
        #expect(depth.received(.body(ByteBuffer(string: "x"))) == .drop)
        #expect(depth.received(.end(nil)) == .drop)
        #expect(depth.overflowed)
        #expect(depth.answerEnded() == false)
        #expect(depth.answerEnded() == true)
        #expect(depth.shouldClose)
    }

    @Test("the handler forwards within the bound, drops past it, and closes after the last accepted answer")
    func handler() throws {
        let channel = EmbeddedChannel(handler: HTTP1PipelineDepthHandler(maximum: 2))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        for _ in 0..<3 {
            try channel.writeInbound(Self.head)
            try channel.writeInbound(HTTPServerRequestPart.end(nil))
        }
        var forwarded: [HTTPServerRequestPart] = []
        while let part = try channel.readInbound(as: HTTPServerRequestPart.self) { forwarded.append(part) }
        #expect(forwarded.count == 4, "two requests of head and end")
        let response = HTTPResponseHead(version: .http1_1, status: .ok)
        try channel.writeOutbound(HTTPServerResponsePart.head(response))
        try channel.writeOutbound(HTTPServerResponsePart.end(nil))
        #expect(channel.isActive)
        try channel.writeOutbound(HTTPServerResponsePart.head(response))
        try channel.writeOutbound(HTTPServerResponsePart.end(nil))
        channel.embeddedEventLoop.run()
        #expect(!channel.isActive, "closed once both accepted requests were answered")
        var written = 0
        while try channel.readOutbound(as: HTTPServerResponsePart.self) != nil { written += 1 }
        #expect(written == 4, "both answers were written before the close")
    }
}
