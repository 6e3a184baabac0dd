import NIOCore

/// Closes an HTTP/2 connection that has had no open stream for `idle_timeout`.
///
/// The idle timeout in front of the HTTP/2 handler counts bytes, so a client that sends a PING (or an empty
/// SETTINGS) now and then — far below the control-frame rate limit — would keep an idle connection, and its
/// slot under `max_connections`, for ever. Here only streams count: the timer runs while none is open and
/// restarts when the last one closes. With no stream open nothing is in flight, so the close loses nothing.
///
/// Confined to the connection's event loop: the stream initializer reports each stream's start, and its
/// close through the stream channel's close future.
final class HTTP2IdleConnectionTimer {
    private let timeout: TimeAmount
    private let clock: DeadlineTimer
    private var openStreams = 0
    /// Set once the connection closed: streams closing during its teardown must not arm the clock again.
    private var closed = false

    init(channel: Channel, timeout: TimeAmount) {
        self.timeout = timeout
        clock = DeadlineTimer(closing: channel)
        clock.arm(in: timeout)
        channel.closeFuture.assumeIsolated().whenComplete { [self] _ in
            closed = true
            clock.cancel()
        }
    }

    func streamOpened() {
        openStreams += 1
        clock.disarm()
    }

    func streamClosed() {
        openStreams -= 1
        if openStreams == 0, !closed { clock.arm(in: timeout) }
    }
}

@available(*, unavailable)
extension HTTP2IdleConnectionTimer: Sendable {}
