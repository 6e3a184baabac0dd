import NIOCore
import NIOEmbedded
import Testing
@testable import AuthGateway

/// The client connection's idle timeout, on an embedded channel whose clock only the test moves.
@Suite("IdleTimeoutHandler")
struct IdleTimeoutHandlerTests {
    private func makeChannel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(IdleTimeoutHandler(timeout: .seconds(60)))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return channel
    }

    @Test("a connection without traffic closes at the timeout, not before")
    func silent() throws {
        let channel = try makeChannel()
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(59_999))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        #expect(!channel.isActive)
    }

    @Test("reads keep the connection open; the clock restarts after the last one")
    func reads() throws {
        let channel = try makeChannel()
        for _ in 0..<5 {
            channel.embeddedEventLoop.advanceTime(by: .seconds(50))
            try channel.writeInbound(ByteBuffer(string: "x"))
            channel.pipeline.fireChannelReadComplete()
        }
        #expect(channel.isActive, "250 s of regular reads")
        channel.embeddedEventLoop.advanceTime(by: .seconds(59))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(!channel.isActive)
        _ = try channel.readInbound(as: ByteBuffer.self)
    }

    @Test("flushed writes keep the connection open")
    func writes() throws {
        let channel = try makeChannel()
        for _ in 0..<5 {
            channel.embeddedEventLoop.advanceTime(by: .seconds(50))
            try channel.writeOutbound(ByteBuffer(string: "y"))
        }
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(60))
        #expect(!channel.isActive)
    }
}
