import NIOConcurrencyHelpers

/// Counts open client connections across loops; one lock operation per connection, never per request.
final class ConnectionLimiter: Sendable {
    private let open = NIOLockedValueBox(0)
    let maximum: Int

    init(maximum: Int) {
        self.maximum = maximum
    }

    /// Takes a slot, or returns `false` when the gateway is full.
    func acquire() -> Bool {
        open.withLockedValue { count in
            guard count < maximum else { return false }
            count += 1
            return true
        }
    }

    func release() {
        open.withLockedValue { $0 -= 1 }
    }

    var current: Int { open.withLockedValue { $0 } }
}
