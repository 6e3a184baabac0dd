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
    private enum State {
        /// Between requests: the next byte starts the clock.
        case waiting
        case running(Scheduled<Void>)
        /// A head arrived; the request is being served.
        case serving
    }

    private let timeout: TimeAmount
    private var state = State.waiting
    private var channel: Channel?

    init(timeout: Double) {
        self.timeout = .milliseconds(Int64(timeout * 1000))
    }

    func attach(_ channel: Channel) {
        self.channel = channel
    }

    func bytesArrived() {
        guard case .waiting = state, let channel else { return }
        state = .running(channel.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [weak self] in
            guard let self, case .running = self.state else { return }
            self.channel?.close(promise: nil)
        })
    }

    /// A complete request head arrived.
    func headReceived() {
        if case .running(let task) = state { task.cancel() }
        state = .serving
    }

    /// The response is done; the next request's bytes start the clock again.
    func responseFinished() {
        if case .running(let task) = state { task.cancel() }
        state = .waiting
    }

    func cancel() {
        if case .running(let task) = state { task.cancel() }
        state = .serving
        channel = nil
    }
}

@available(*, unavailable)
extension RequestHeadTimer: Sendable {}
