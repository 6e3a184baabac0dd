import NIOCore
import NIOEmbedded
import NIOHPACK
import Testing
@testable import GatewayAdmission
@testable import AuthGateway

/// The pure parts of the HTTP/2 connection handling: the outbound frame scanner behind
/// ``HTTP2GoAwayCloseHandler`` (the request head's translation is in ``HTTP2MessageTranslationTests``).
@Suite("HTTP/2 connection handling")
struct HTTP2ConnectionHandlingTests {
    static func frame(type: UInt8, stream: UInt32 = 0, payload: [UInt8]) -> [UInt8] {
        let length = payload.count
        return [UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF), type, 0,
                UInt8(stream >> 24), UInt8(stream >> 16 & 0xFF), UInt8(stream >> 8 & 0xFF), UInt8(stream & 0xFF)] + payload
    }

    static func goAway(error: UInt32, debug: [UInt8] = []) -> [UInt8] {
        frame(type: 7, payload: [0, 0, 0, 1, UInt8(error >> 24), UInt8(error >> 16 & 0xFF), UInt8(error >> 8 & 0xFF),
                                 UInt8(error & 0xFF)] + debug)
    }

    static let settings = frame(type: 4, payload: [0, 3, 0, 0, 0, 100])
    static let data = frame(type: 0, stream: 1, payload: Array(repeating: 7, count: 300))

    private func scan(_ chunks: [[UInt8]]) -> (sawError: Bool, code: UInt32?) {
        var scanner = HTTP2OutboundFrameScanner()
        var saw = false
        for chunk in chunks {
            let buffer = ByteBuffer(bytes: chunk)
            if scanner.consume(buffer.readableBytesView) { saw = true }
        }
        return (saw, scanner.goAwayErrorCode)
    }

    @Test("a GOAWAY with an error code is found after other frames, however the bytes are split")
    func errorGoAway() {
        let bytes = Self.settings + Self.data + Self.goAway(error: 0xB, debug: Array("calm down".utf8))
        for split in [1, 2, 5, 9, 10, 17, 64, bytes.count] {
            let chunks = stride(from: 0, to: bytes.count, by: split).map { Array(bytes[$0..<min($0 + split, bytes.count)]) }
            let result = scan(chunks)
            #expect(result.sawError, "split \(split)")
            #expect(result.code == 0xB, "split \(split)")
        }
    }

    @Test("a graceful GOAWAY (NO_ERROR) and payload bytes that look like a GOAWAY do not close")
    func noFalseAlarms() {
        #expect(scan([Self.settings, Self.goAway(error: 0)]).sawError == false)
        // A DATA payload that contains GOAWAY-like bytes is skipped by length.
        let disguised = Self.frame(type: 0, stream: 1, payload: Self.goAway(error: 1))
        #expect(scan([disguised, Self.settings]).sawError == false)
    }

    @Test("the close handler closes the connection after flushing an error GOAWAY (lingering), not after a graceful one")
    func closeHandler() throws {
        let channel = EmbeddedChannel(handler: HTTP2GoAwayCloseHandler())
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        try channel.writeAndFlush(ByteBuffer(bytes: Self.settings + Self.goAway(error: 0))).wait()
        #expect(channel.isActive)
        try channel.writeAndFlush(ByteBuffer(bytes: Self.goAway(error: 1))).wait()
        // Half-closed at once (or closed, where half-closing is unsupported), closed after the linger.
        channel.embeddedEventLoop.advanceTime(by: HTTP2GoAwayCloseHandler.linger + .milliseconds(1))
        #expect(!channel.isActive)
        _ = try? channel.finish()
    }
}
