import NIOCore
import NIOHTTP1
import GatewayAdmission

/// What an upstream connection reports to the request it currently serves. Same event loop, direct calls.
protocol UpstreamExchange: AnyObject {
    /// `reusable`: the connection may serve another request after this response (see ``HTTP1ResponseParser``).
    func upstreamResponseHead(_ head: HTTPResponseHead, reusable: Bool)
    func upstreamResponseBody(_ buffer: ByteBuffer)
    func upstreamResponseEnd()
    /// A burst of reads ended: the response parts handed over meanwhile may be flushed to the client.
    func upstreamReadComplete()
    func upstreamFailed(_ failure: UpstreamFailure)
    /// The upstream can take more request body (or not).
    func upstreamWritabilityChanged(_ isWritable: Bool)
    /// Whether the client can take more response body; when not, the upstream's reads wait.
    var clientIsWritable: Bool { get }
}

/// The whole HTTP/1.1 side of an upstream connection, on its bytes: request parts serialized straight into
/// bytes, responses read by the gateway's own strict ``HTTP1ResponseParser`` and handed to the exchange;
/// reads held while the client is slow (backpressure), and the pool told when the connection dies.
final class UpstreamClientHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    weak var exchange: UpstreamExchange?
    /// Called once when the connection closes.
    var onClose: (() -> Void)?
    private var heldRead = false
    private var context: ChannelHandlerContext?
    private var parser = HTTP1ResponseParser()
    /// Bytes of a response part not complete yet.
    private var pending: ByteBuffer?
    /// The request being written has a chunked body.
    private var chunked = false

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        if var held = pending {
            pending = nil
            held.writeBuffer(&buffer)
            buffer = held
        }
        do {
            while let part = try parser.next(from: &buffer) {
                guard let exchange else {
                    // A response while no request is out: the connection is no longer in a known state.
                    context.close(promise: nil)
                    return
                }
                switch part {
                case .head(let head, let reusable): exchange.upstreamResponseHead(head, reusable: reusable)
                case .body(let body): exchange.upstreamResponseBody(body)
                case .end: exchange.upstreamResponseEnd()
                }
            }
        } catch {
            fail(.protocolError, context: context)
            return
        }
        if buffer.readableBytes > 0 { pending = buffer }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        exchange?.upstreamReadComplete()
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        let exchange = self.exchange
        self.exchange = nil
        if parser.connectionClosed() == .end {
            exchange?.upstreamResponseEnd()
        } else {
            exchange?.upstreamFailed(.reset)
        }
        onClose?()
        onClose = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        fail(.reset, context: context)
    }

    private func fail(_ failure: UpstreamFailure, context: ChannelHandlerContext) {
        let exchange = self.exchange
        self.exchange = nil
        exchange?.upstreamFailed(failure)
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

    /// Writes a request part from the exchange (on this event loop), serialized here: the head as the
    /// machine built it (its framing headers say whether the body is chunked), body parts as they are or as
    /// chunks, the end as the last chunk.
    func write(_ part: HTTPClientRequestPart, flush: Bool) {
        guard let context else { return }
        var buffer: ByteBuffer
        switch part {
        case .head(let head):
            parser.requestSent(method: head.method)
            chunked = head.headers.contains(name: "transfer-encoding")
            // Room for a typical head with a bearer token; a larger one grows the buffer once.
            buffer = context.channel.allocator.buffer(capacity: 1536)
            Self.serialize(head, into: &buffer)
        case .body(let body):
            guard case .byteBuffer(var data) = body else { return }
            guard chunked else {
                buffer = data
                break
            }
            guard data.readableBytes > 0 else { return }
            buffer = context.channel.allocator.buffer(capacity: data.readableBytes + 24)
            buffer.writeString(String(data.readableBytes, radix: 16))
            buffer.writeStaticString("\r\n")
            buffer.writeBuffer(&data)
            buffer.writeStaticString("\r\n")
        case .end:
            guard chunked else {
                if flush { context.flush() }
                return
            }
            buffer = context.channel.allocator.buffer(capacity: 5)
            buffer.writeStaticString("0\r\n\r\n")
        }
        if flush {
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
        } else {
            context.write(wrapOutboundOut(buffer), promise: nil)
        }
    }

    /// `METHOD SP target SP HTTP/1.1 CRLF`, the fields, CRLF. Names and values were validated on the way in
    /// (or set by the gateway), so they are written as they are.
    static func serialize(_ head: HTTPRequestHead, into buffer: inout ByteBuffer) {
        buffer.writeString(head.method.rawValue)
        buffer.writeStaticString(" ")
        buffer.writeString(head.uri)
        buffer.writeStaticString(" HTTP/1.1\r\n")
        for (name, value) in head.headers {
            buffer.writeString(name)
            buffer.writeStaticString(": ")
            buffer.writeString(value)
            buffer.writeStaticString("\r\n")
        }
        buffer.writeStaticString("\r\n")
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
