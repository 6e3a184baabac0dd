import NIOCore
import NIOHTTP1

/// How many HTTP/1.1 requests one connection may have ahead of their answers, as a pure value.
///
/// NIO's decoder turns everything one read brings into request heads at once, and the pipelining handler
/// keeps them until their turn: a client that pipelines 5,000 requests and never reads made the gateway
/// hold 5,000 decoded heads per connection (measured: +248 MB of memory for 100 such connections, with the
/// gateway already refusing to forward more while the client did not read). Beyond `maximum` requests
/// waiting for answers, the rest of what the client sends is dropped and the connection closes once the
/// accepted requests are answered; a client that retries unanswered requests (RFC 9112 §9.3.2) loses
/// nothing, and one that reads its answers as they come never gets near the bound.
struct HTTP1PipelineDepth {
    enum Verdict: Equatable {
        case forward
        /// Beyond the bound: drop the part.
        case drop
    }

    let maximum: Int
    private(set) var accepted = 0
    private(set) var answered = 0
    /// The bound was passed: nothing more is accepted, and the connection closes once answered up.
    private(set) var overflowed = false

    init(maximum: Int) {
        self.maximum = maximum
    }

    /// A request part from the client.
    mutating func received(_ part: HTTPServerRequestPart) -> Verdict {
        guard !overflowed else { return .drop }
        if case .head = part {
            guard accepted - answered < maximum else {
                overflowed = true
                return .drop
            }
            accepted += 1
        }
        return .forward
    }

    /// An answer ended; true when the connection should now close.
    mutating func answerEnded() -> Bool {
        answered = min(answered + 1, accepted)
        return overflowed && answered == accepted
    }

    /// The connection should close now (overflowed with every accepted request answered).
    var shouldClose: Bool { overflowed && answered == accepted }
}

/// Applies ``HTTP1PipelineDepth`` between the HTTP decoder and NIO's pipelining handler. Thin: it counts
/// request heads in and response ends out, drops what is over the bound, and closes when told.
final class HTTP1PipelineDepthHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private var depth: HTTP1PipelineDepth

    init(maximum: Int) {
        depth = HTTP1PipelineDepth(maximum: maximum)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch depth.received(unwrapInboundIn(data)) {
        case .forward:
            context.fireChannelRead(data)
        case .drop:
            if depth.shouldClose { context.close(promise: nil) }
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .end = unwrapOutboundIn(data), depth.answerEnded() else {
            context.write(data, promise: promise)
            return
        }
        let written = promise ?? context.eventLoop.makePromise()
        written.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        context.writeAndFlush(data, promise: written)
    }

    func read(context: ChannelHandlerContext) {
        // Whatever arrives after the bound is dropped anyway: stop reading it.
        guard !depth.overflowed else { return }
        context.read()
    }
}

@available(*, unavailable)
extension HTTP1PipelineDepthHandler: Sendable {}
