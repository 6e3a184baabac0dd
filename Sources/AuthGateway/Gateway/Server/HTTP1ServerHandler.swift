import NIOCore
import NIOHTTP1

/// The HTTP/1.1 side of a client connection, in one handler: reads requests with ``HTTP1RequestParser`` and
/// writes responses straight into bytes. It replaces NIO's decoder, encoder and pipelining handler (and the
/// pipelining bound that sat between them).
///
/// Pipelining is lazy: the next request is not even parsed until the current response has ended, so there
/// is never more than one request in the gateway per connection. What a pipelining client sends ahead stays
/// as bytes, and reads stop once `maxBufferedBytes` of them wait; a client that pipelines thousands of
/// requests and never reads costs at most that much memory, and nothing is forwarded for it meanwhile.
/// Reads are never stopped and restarted per request (NIO's pipelining handler did both for every request).
///
/// The request handler behind it is called directly (``receiver``, and it writes through
/// ``HTTP1ResponseWriter``): request and response parts cross no `NIOAny` box and no pipeline hop. Without a
/// receiver, parts go down the pipeline as usual.
final class HTTP1ServerHandler: ChannelDuplexHandler, RemovableChannelHandler, HTTP1ResponseWriter {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = ByteBuffer

    /// The connection's request handler, the next handler in the pipeline.
    weak var receiver: HTTP1RequestReceiver?
    private var context: ChannelHandlerContext?

    private var parser: HTTP1RequestParser
    /// Bytes received and not parsed yet.
    private var buffered: ByteBuffer?
    private let maxBufferedBytes: Int
    /// A request's head was delivered and its response has not ended: the next request waits.
    private var responsePending = false
    private var delivering = false
    private var heldRead = false
    /// The current request's method (a response to HEAD has no body).
    private var requestMethod = HTTPMethod.GET
    /// How the current response's body is framed on the wire.
    private var responseFraming = ResponseFraming.none
    /// Graceful shutdown: the current exchange ends, then the connection closes; no new request is read.
    private var quiescing = false
    /// A response head, and the body bytes written after it, not passed on yet: they go out as one write at
    /// the next flush (or once they outgrow ``coalescedBytes``), so a small response is one TLS record rather
    /// than one per part, and one trip through the handlers below.
    private var unwritten: ByteBuffer?
    private var unwrittenPromise: EventLoopPromise<Void>?
    /// Below the 16 KiB of plaintext one TLS record carries.
    private static let coalescedBytes = 16 * 1024 - 256

    private enum ResponseFraming {
        case none
        case identity
        case chunked
    }

    init(limits: HTTP1RequestParser.Limits) {
        parser = HTTP1RequestParser(limits: limits)
        maxBufferedBytes = max(64 * 1024, limits.maxHeaderBytes + limits.maxRequestLineBytes + 4096)
    }

    // MARK: Requests

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if buffered == nil || buffered!.readableBytes == 0 {
            buffered = incoming
        } else {
            buffered!.writeBuffer(&incoming)
        }
        deliver(context: context)
    }

    /// Parses and passes on parts until one must wait: more bytes, or the current response.
    private func deliver(context: ChannelHandlerContext) {
        guard !delivering, var bytes = buffered else { return }
        delivering = true
        defer { delivering = false }
        buffered = nil
        while !parser.isDone, !(parser.isBetweenRequests && responsePending) {
            let part: HTTP1RequestParser.Part?
            do {
                part = try parser.next(from: &bytes)
            } catch {
                buffered = bytes
                context.fireErrorCaught(error)
                return
            }
            guard let part else { break }
            switch part {
            case .head(let head):
                responsePending = true
                requestMethod = head.method
                pass(.head(head), context: context)
            case .body(let slice):
                pass(.body(slice), context: context)
            case .end:
                pass(.end(nil), context: context)
            }
        }
        // Keep what was not parsed (ahead of anything that arrived meanwhile); a buffer read to its end is
        // dropped, so that the next read's buffer is used as it comes (no copy while body slices of the old
        // one are still on their way upstream).
        if var newer = buffered { bytes.writeBuffer(&newer) }
        buffered = nil
        if bytes.readableBytes > 0 {
            if bytes.readerIndex > 64 * 1024 { bytes.discardReadBytes() }
            buffered = bytes
        }
    }

    private func pass(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
        if let receiver {
            receiver.receivedRequestPart(part)
        } else {
            context.fireChannelRead(wrapInboundOut(part))
        }
    }

    /// Graceful shutdown (``ChannelShouldQuiesceEvent``): an idle connection closes now, a busy one once its
    /// answer is written; its answer says `Connection: close` if its head is not out yet.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is ChannelShouldQuiesceEvent else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        quiescing = true
        if !responsePending { context.close(promise: nil) }
    }

    func read(context: ChannelHandlerContext) {
        if let buffered, buffered.readableBytes >= maxBufferedBytes {
            heldRead = true
            return
        }
        context.read()
    }

    // MARK: Responses

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        write(unwrapOutboundIn(data), context: context, promise: promise)
    }

    /// ``HTTP1ResponseWriter``: the request handler's direct call, as if its part came down the pipeline.
    func writeResponsePart(_ part: HTTPServerResponsePart, promise: EventLoopPromise<Void>?) {
        guard let context else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        write(part, context: context, promise: promise)
    }

    func flushResponse() {
        guard let context else { return }
        flush(context: context)
    }

    private func write(_ part: HTTPServerResponsePart, context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        switch part {
        case .head(let head):
            writeHead(head, context: context, promise: promise)
        case .body(let body):
            writeBody(body, context: context, promise: promise)
        case .end:
            writeEnd(context: context, promise: promise)
        }
    }

    private func writeHead(_ head: HTTPResponseHead, context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        var headers = head.headers
        let status = head.status.code
        let informational = (100..<200).contains(status)
        if !informational {
            if quiescing, !headers[canonicalForm: "connection"].contains(where: { $0.lowercased() == "close" }) {
                headers.replaceOrAdd(name: "connection", value: "close")
            }
            let noBody = requestMethod == .HEAD || status == 204 || status == 304
            if headers.contains(name: "content-length") {
                responseFraming = noBody ? .none : .identity
            } else if noBody {
                responseFraming = .none
            } else if head.version.major == 1, head.version.minor >= 1 {
                headers.add(name: "transfer-encoding", value: "chunked")
                responseFraming = .chunked
            } else {
                // An HTTP/1.0 client without a length: the body ends with the connection.
                responseFraming = .identity
            }
        }
        // Room for a body announced small enough to join the head (see ``write(_:context:promise:)``).
        let announced = responseFraming == .identity ? headers.first(name: "content-length").flatMap { Int($0) } : nil
        let headBytes = 256 + headers.count * 32
        let body = (announced ?? 0) + headBytes <= Self.coalescedBytes ? announced ?? 0 : 0
        var bytes = context.channel.allocator.buffer(capacity: headBytes + body)
        bytes.writeStaticString(head.version.minor == 0 ? "HTTP/1.0 " : "HTTP/1.1 ")
        bytes.writeString(String(status))
        bytes.writeInteger(UInt8(ascii: " "))
        bytes.writeString(head.status.reasonPhrase)
        bytes.writeStaticString("\r\n")
        for (name, value) in headers {
            bytes.writeString(name)
            bytes.writeStaticString(": ")
            bytes.writeString(value)
            bytes.writeStaticString("\r\n")
        }
        bytes.writeStaticString("\r\n")
        writeUnwritten(context: context)
        unwritten = bytes
        chain(promise)
    }

    /// Adds `bytes` to the unwritten response if they fit, else writes what waits and then them.
    private func write(_ bytes: ByteBuffer, context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        if unwritten != nil, unwritten!.readableBytes + bytes.readableBytes <= Self.coalescedBytes {
            unwritten!.writeImmutableBuffer(bytes)
            chain(promise)
            return
        }
        writeUnwritten(context: context)
        context.write(wrapOutboundOut(bytes), promise: promise)
    }

    /// `promise` completes when the unwritten bytes are written.
    private func chain(_ promise: EventLoopPromise<Void>?) {
        guard let promise else { return }
        if let waiting = unwrittenPromise {
            waiting.futureResult.cascade(to: promise)
        } else {
            unwrittenPromise = promise
        }
    }

    private func writeUnwritten(context: ChannelHandlerContext) {
        guard let bytes = unwritten else { return }
        let promise = unwrittenPromise
        unwritten = nil
        unwrittenPromise = nil
        context.write(wrapOutboundOut(bytes), promise: promise)
    }

    func flush(context: ChannelHandlerContext) {
        writeUnwritten(context: context)
        context.flush()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        unwritten = nil
        unwrittenPromise?.fail(ChannelError.ioOnClosedChannel)
        unwrittenPromise = nil
    }

    private func writeBody(_ body: IOData, context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        guard case .byteBuffer(let buffer) = body else {
            promise?.fail(ChannelError.operationUnsupported)
            return
        }
        switch responseFraming {
        case .none:
            promise?.succeed(())
        case .identity:
            write(buffer, context: context, promise: promise)
        case .chunked:
            guard buffer.readableBytes > 0 else {
                promise?.succeed(())
                return
            }
            var header = context.channel.allocator.buffer(capacity: 18)
            header.writeString(String(buffer.readableBytes, radix: 16))
            header.writeStaticString("\r\n")
            write(header, context: context, promise: nil)
            write(buffer, context: context, promise: nil)
            write(Self.crlf, context: context, promise: promise)
        }
    }

    private static let crlf: ByteBuffer = ByteBuffer(staticString: "\r\n")
    private static let lastChunk: ByteBuffer = ByteBuffer(staticString: "0\r\n\r\n")

    private func writeEnd(context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        if quiescing {
            // Closed once the end is written (a close before the flush would drop the answer's tail).
            let written = context.eventLoop.makePromise(of: Void.self)
            let channel = context.channel
            written.futureResult.whenComplete { _ in channel.close(promise: nil) }
            promise.map { written.futureResult.cascade(to: $0) }
            responsePending = false
            writeLast(context: context, promise: written)
            return
        }
        writeLast(context: context, promise: promise)
        responsePending = false
        // The next pipelined request, if its bytes are here (while this end is still being flushed).
        deliver(context: context)
        if heldRead, (buffered?.readableBytes ?? 0) < maxBufferedBytes {
            heldRead = false
            context.read()
        }
    }

    private func writeLast(context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        if case .chunked = responseFraming {
            write(Self.lastChunk, context: context, promise: promise)
        } else if unwritten != nil {
            chain(promise)
        } else if let promise {
            // Completes once what was written before it is written.
            context.write(wrapOutboundOut(context.channel.allocator.buffer(capacity: 0)), promise: promise)
        }
        responseFraming = .none
    }
}

@available(*, unavailable)
extension HTTP1ServerHandler: Sendable {}

/// The request handler, as ``HTTP1ServerHandler`` (or an HTTP/2 stream's ``HTTP2StreamHandler``) calls it directly
/// (same channel, same event loop).
protocol HTTP1RequestReceiver: AnyObject {
    func receivedRequestPart(_ part: HTTPServerRequestPart)
}

/// Where a request handler writes its response directly: ``HTTP1ServerHandler``, or ``HTTP2StreamHandler`` on an
/// HTTP/2 stream.
protocol HTTP1ResponseWriter: AnyObject {
    func writeResponsePart(_ part: HTTPServerResponsePart, promise: EventLoopPromise<Void>?)
    func flushResponse()
}
