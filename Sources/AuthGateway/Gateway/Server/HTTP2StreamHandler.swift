import NIOCore
import NIOHTTP1
import NIOHTTP2

/// The HTTP/2 side of one stream, in one handler: reads its HEADERS and DATA payloads into the HTTP/1.1 parts
/// the request handler reads (``HTTP2MessageTranslation``) and writes the answer as HEADERS and DATA payloads.
/// It replaces a per-stream `HTTP2RequestHeadNormalizer` and NIO's `HTTP2FramePayloadToHTTP1ServerCodec`.
///
/// Like ``HTTP1ServerHandler``, it calls the request handler behind it directly (``receiver``), and the request
/// handler writes through ``HTTP1ResponseWriter``: parts cross no `NIOAny` box and no pipeline hop. Every other
/// event (read completion, writability, errors, the stream's end) passes through to the request handler.
///
/// A malformed head (RFC 9113 §8.2.1, §8.3.1) resets the stream with `PROTOCOL_ERROR`; a head that makes no
/// HTTP/1.1 request closes it (`RST_STREAM` with `CANCEL`, as NIO's codec did through the request handler).
/// Either way nothing reaches the request handler, and nothing more is read from the stream.
final class HTTP2StreamHandler: ChannelInboundHandler, HTTP1ResponseWriter {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundOut = HTTP2Frame.FramePayload
    private typealias Translation = HTTP2MessageTranslation

    /// The stream's request handler, the next handler in the pipeline.
    weak var receiver: HTTP1RequestReceiver?
    private var context: ChannelHandlerContext?
    private var sawHead = false
    private var refused = false

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    // MARK: Requests

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        switch unwrapInboundIn(data) {
        case .headers(let headers):
            guard !sawHead else {
                // The second HEADERS are trailers (NIO refuses any after them, and trailers without END_STREAM).
                return pass(.end(Translation.trailers(headers.headers)), context: context)
            }
            sawHead = true
            switch Translation.requestHead(headers.headers, endStream: headers.endStream) {
            case .success(let head):
                pass(.head(head), context: context)
                if headers.endStream { pass(.end(nil), context: context) }
            case .failure(.malformed):
                refused = true
                context.writeAndFlush(wrapOutboundOut(.rstStream(.protocolError)), promise: nil)
                context.close(promise: nil)
            case .failure(.untranslatable):
                refused = true
                context.close(promise: nil)
            }
        case .data(let data):
            // Bytes from the network are always a ByteBuffer.
            guard case .byteBuffer(let buffer) = data.data else { return }
            if !data.endStream {
                pass(.body(buffer), context: context)
            } else {
                if buffer.readableBytes > 0 { pass(.body(buffer), context: context) }
                pass(.end(nil), context: context)
            }
        default:
            // Every other frame of the stream is NIO's business (flow control, priority, its reset).
            break
        }
    }

    private func pass(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
        if let receiver {
            receiver.receivedRequestPart(part)
        } else {
            context.fireChannelRead(wrapInboundOut(part))
        }
    }

    // MARK: Responses (HTTP1ResponseWriter)

    func writeResponsePart(_ part: HTTPServerResponsePart, promise: EventLoopPromise<Void>?) {
        guard let context else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        context.write(wrapOutboundOut(Self.payload(part, allocator: context.channel.allocator)), promise: promise)
    }

    func flushResponse() {
        context?.flush()
    }

    /// A response part as the stream's payload: the head as HEADERS, body as DATA, the end as an empty DATA with
    /// END_STREAM or as trailers.
    static func payload(_ part: HTTPServerResponsePart, allocator: ByteBufferAllocator) -> HTTP2Frame.FramePayload {
        switch part {
        case .head(let head):
            return .headers(.init(headers: Translation.responseHeaders(head)))
        case .body(let body):
            return .data(.init(data: body))
        case .end(let trailers?):
            return .headers(.init(headers: Translation.responseTrailers(trailers), endStream: true))
        case .end(nil):
            return .data(.init(data: .byteBuffer(allocator.buffer(capacity: 0)), endStream: true))
        }
    }
}

@available(*, unavailable)
extension HTTP2StreamHandler: Sendable {}
