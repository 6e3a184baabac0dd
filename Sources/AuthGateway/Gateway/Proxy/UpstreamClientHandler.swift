import NIOCore
import NIOHTTP1
import GatewayAdmission

/// What an upstream connection reports to the request it currently serves. Same event loop, direct calls.
protocol UpstreamExchange: AnyObject {
    func upstreamResponseHead(_ head: HTTPResponseHead)
    func upstreamResponseBody(_ buffer: ByteBuffer)
    func upstreamResponseEnd(_ trailers: HTTPHeaders?)
    func upstreamFailed(_ failure: UpstreamFailure)
    /// The upstream can take more request body (or not).
    func upstreamWritabilityChanged(_ isWritable: Bool)
    /// Whether the client can take more response body; when not, the upstream's reads wait.
    var clientIsWritable: Bool { get }
}

/// The last handler of an upstream connection's pipeline: forwards response parts to the exchange,
/// holds reads while the client is slow (backpressure), and tells the pool when the connection dies.
final class UpstreamClientHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

    weak var exchange: UpstreamExchange?
    /// Called once when the connection closes.
    var onClose: (() -> Void)?
    private var heldRead = false
    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let exchange else {
            // Bytes while no request is out: the connection is no longer in a known state.
            context.close(promise: nil)
            return
        }
        switch unwrapInboundIn(data) {
        case .head(let head): exchange.upstreamResponseHead(head)
        case .body(let buffer): exchange.upstreamResponseBody(buffer)
        case .end(let trailers): exchange.upstreamResponseEnd(trailers)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        let exchange = self.exchange
        self.exchange = nil
        exchange?.upstreamFailed(.reset)
        onClose?()
        onClose = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        let exchange = self.exchange
        self.exchange = nil
        exchange?.upstreamFailed(error is HTTPParserError ? .protocolError : .reset)
        context.close(promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        exchange?.upstreamWritabilityChanged(context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func read(context: ChannelHandlerContext) {
        if let exchange, !exchange.clientIsWritable {
            heldRead = true
            return
        }
        context.read()
    }

    /// Writes a request part from the exchange (on this event loop).
    func write(_ part: HTTPClientRequestPart, flush: Bool) {
        guard let context else { return }
        if flush {
            context.writeAndFlush(wrapOutboundOut(part), promise: nil)
        } else {
            context.write(wrapOutboundOut(part), promise: nil)
        }
    }

    /// Resumes reading after the client drained.
    func resumeReading() {
        guard heldRead, let context else { return }
        heldRead = false
        context.read()
    }
}

@available(*, unavailable)
extension UpstreamClientHandler: Sendable {}
