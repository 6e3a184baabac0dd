import NIOCore
import NIOHTTP1
import GatewayConfig

/// One keep-alive HTTP/1.1 connection to an upstream target, owned by its event loop's pool.
final class UpstreamConnection {
    /// The pool's name for it.
    let id: UpstreamPoolStateMachine.ConnectionID
    let channel: Channel
    let target: GatewayConfiguration.Target
    let handler: UpstreamClientHandler
    /// `target` as the access log prints it, formatted once per connection rather than per request.
    let targetText: String
    /// Runs while the connection sits idle in the pool; the pool arms it (see ``UpstreamPool``).
    var idleTimer: DeadlineTimer?

    init(
        id: UpstreamPoolStateMachine.ConnectionID, channel: Channel, target: GatewayConfiguration.Target,
        handler: UpstreamClientHandler
    ) {
        self.id = id
        self.channel = channel
        self.target = target
        self.handler = handler
        self.targetText = target.description
    }

    var isUsable: Bool { channel.isActive }

    func write(_ part: HTTPClientRequestPart, flush: Bool) {
        handler.write(part, flush: flush)
    }

    func close() {
        idleTimer?.cancel()
        handler.exchange = nil
        channel.close(promise: nil)
    }
}

@available(*, unavailable)
extension UpstreamConnection: Sendable {}
