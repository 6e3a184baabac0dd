import NIOCore

/// Closes an HTTP/2 connection once a GOAWAY reporting an error has been flushed (RFC 9113 §5.4.1: "After
/// sending the GOAWAY frame for an error condition, the endpoint MUST close the TCP connection").
///
/// swift-nio-http2 writes that GOAWAY for every connection error (protocol violations, rapid reset,
/// CONTINUATION and control-frame floods, ...) and then only reports the error: without this handler the
/// misbehaving client keeps its connection, and its slot, until the idle timeout. Sits between TLS and
/// `NIOHTTP2Handler` and watches the frames going out; a graceful GOAWAY (`NO_ERROR`, draining) leaves the
/// connection to finish its streams.
///
/// The close lingers (RFC 9112 §9.6 explains why): first TLS close_notify and a half-close, then whatever the
/// client still sends is read and dropped until it closes too, or ``linger`` passes. Closing at once while a
/// flooding client's frames are still arriving makes the kernel answer with a TCP reset, and a reset makes the
/// client's kernel drop the GOAWAY it had not read yet: the client would never learn why.
final class HTTP2GoAwayCloseHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    /// The longest a closing connection waits for the client to close its side.
    static let linger = TimeAmount.seconds(2)

    private var scanner = HTTP2OutboundFrameScanner()
    private var closeAfterFlush = false
    private var closing: Scheduled<Void>?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // After an error GOAWAY nothing the client sends is processed.
        guard closing == nil else { return }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .byteBuffer(let buffer):
            if scanner.consume(buffer.readableBytesView) { closeAfterFlush = true }
        case .fileRegion(let region):
            scanner.skip(region.readableBytes)
        }
        context.write(data, promise: promise)
    }

    func flush(context: ChannelHandlerContext) {
        context.flush()
        guard closeAfterFlush, closing == nil else { return }
        closeAfterFlush = false
        let channel = context.channel
        closing = context.eventLoop.assumeIsolated().scheduleTask(in: Self.linger) {
            channel.close(promise: nil)
        }
        let halfClosed = context.eventLoop.makePromise(of: Void.self)
        halfClosed.futureResult.whenFailure { _ in channel.close(promise: nil) }
        context.close(mode: .output, promise: halfClosed)
    }

    func channelInactive(context: ChannelHandlerContext) {
        closing?.cancel()
        context.fireChannelInactive()
    }
}

@available(*, unavailable)
extension HTTP2GoAwayCloseHandler: Sendable {}
