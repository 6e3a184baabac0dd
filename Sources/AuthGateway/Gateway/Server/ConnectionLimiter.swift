import NIOConcurrencyHelpers
import GatewayObservability

/// Counts open client connections across loops; one lock operation per connection, never per request.
final class ConnectionLimiter: Sendable {
    private let open = NIOLockedValueBox(0)
    let maximum: Int
    private let metrics: GatewayMetrics?

    init(maximum: Int, metrics: GatewayMetrics?) {
        self.maximum = maximum
        self.metrics = metrics
    }

    /// Takes a slot, or returns `false` when the gateway is full.
    func acquire() -> Bool {
        let current: Int? = open.withLockedValue { count in
            guard count < maximum else { return nil }
            count += 1
            return count
        }
        guard let current else {
            metrics?.rejectedConnections.increment()
            return false
        }
        metrics?.openConnections.record(current)
        return true
    }

    func release() {
        let current = open.withLockedValue { count in
            count -= 1
            return count
        }
        metrics?.openConnections.record(current)
    }

    var current: Int { open.withLockedValue { $0 } }
}
