import NIOCore

/// Closes a client connection with no traffic for `limits.idle_timeout`: the keep-alive timeout, and the
/// end of a client that stops reading (its response stops flushing, since the upstream's reads wait).
///
/// Traffic is a burst of reads or a flush, which re-arm one ``DeadlineTimer``. NIO's `IdleStateHandler`
/// would make a promise and a callback for every write to track its completion; this costs a clock read
/// per burst.
final class IdleTimeoutHandler: ChannelDuplexHandler {
    typealias InboundIn = NIOAny
    typealias OutboundIn = NIOAny

    private let timeout: TimeAmount
    private var clock: DeadlineTimer?

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        clock = DeadlineTimer(closing: context.channel)
        clock?.arm(in: timeout)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        clock?.cancel()
        clock = nil
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        clock?.arm(in: timeout)
        context.fireChannelReadComplete()
    }

    func flush(context: ChannelHandlerContext) {
        clock?.arm(in: timeout)
        context.flush()
    }

    func channelInactive(context: ChannelHandlerContext) {
        clock?.cancel()
        context.fireChannelInactive()
    }
}

@available(*, unavailable)
extension IdleTimeoutHandler: Sendable {}
