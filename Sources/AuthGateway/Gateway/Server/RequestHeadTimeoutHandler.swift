import NIOCore

/// Closes an HTTP/1.1 connection whose request head does not arrive in time (slowloris): the clock starts
/// at the first byte of a request and stops when the head is complete. An idle keep-alive connection is
/// the idle timeout's business, not this one's.
///
/// Sits before the HTTP decoder and sees raw bytes; ``GatewayRequestHandler`` reports heads and
/// finished responses through ``RequestHeadTimer``.
final class RequestHeadTimeoutHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let timer: RequestHeadTimer

    init(timer: RequestHeadTimer) {
        self.timer = timer
    }

    func handlerAdded(context: ChannelHandlerContext) {
        timer.attach(context.channel)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if unwrapInboundIn(data).readableBytes > 0 { timer.bytesArrived() }
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer.cancel()
        context.fireChannelInactive()
    }
}

@available(*, unavailable)
extension RequestHeadTimeoutHandler: Sendable {}

/// The head-read clock of one connection, shared by the raw-bytes handler and the request handler.
final class RequestHeadTimer {
    private let timeout: TimeAmount
    private var clock: DeadlineTimer?
    /// Between requests: the next byte starts the clock.
    private var waiting = true

    init(timeout: Duration) {
        self.timeout = TimeAmount(timeout)
    }

    func attach(_ channel: Channel) {
        clock = DeadlineTimer(closing: channel)
    }

    func bytesArrived() {
        guard waiting else { return }
        waiting = false
        clock?.arm(in: timeout)
    }

    /// A complete request head arrived.
    func headReceived() {
        waiting = false
        clock?.disarm()
    }

    /// The response is done; the next request's bytes start the clock again.
    func responseFinished() {
        waiting = true
        clock?.disarm()
    }

    func cancel() {
        waiting = false
        clock?.cancel()
        clock = nil
    }
}

@available(*, unavailable)
extension RequestHeadTimer: Sendable {}
