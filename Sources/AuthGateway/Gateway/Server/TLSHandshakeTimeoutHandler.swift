import NIOCore
import NIOTLS

/// Closes a connection whose TLS handshake has not finished `timeout` after it was accepted: a client that
/// connects and sends nothing, or a partial ClientHello, or trickles its handshake a byte at a time, holds a
/// connection slot only this long. Sits right after the TLS handler and removes itself once the handshake
/// completes; from then on the idle and request timeouts govern the connection.
///
/// The idle timeout cannot do this job: it sits behind TLS, sees only decrypted traffic, and is meant to be
/// long (keep-alive), while a handshake takes one or two round trips.
final class TLSHandshakeTimeoutHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    typealias InboundOut = NIOAny

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

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event {
            clock?.cancel()
            clock = nil
            context.fireUserInboundEventTriggered(event)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        clock?.cancel()
        clock = nil
        context.fireChannelInactive()
    }
}

@available(*, unavailable)
extension TLSHandshakeTimeoutHandler: Sendable {}
