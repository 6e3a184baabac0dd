/// Connections and waiters of one upstream target on one event loop (or summed over all), for `/metrics`
/// and the tests' leak checks.
package struct UpstreamPoolCounts: Equatable, Sendable {
    /// Connections being opened.
    package var connecting = 0
    /// Connections leased to a request: the ones a leak would leave here for good.
    package var inUse = 0
    package var idle = 0
    /// Requests waiting for a connection (queued behind a full target).
    package var queued = 0

    package var open: Int { connecting + inUse + idle }

    package static func + (lhs: Self, rhs: Self) -> Self {
        Self(
            connecting: lhs.connecting + rhs.connecting, inUse: lhs.inUse + rhs.inUse, idle: lhs.idle + rhs.idle,
            queued: lhs.queued + rhs.queued)
    }

    package init(connecting: Int = 0, inUse: Int = 0, idle: Int = 0, queued: Int = 0) {
        self.connecting = connecting
        self.inUse = inUse
        self.idle = idle
        self.queued = queued
    }
}

/// The pool counts of one upstream target, summed over the event loops.
package struct UpstreamTargetCounts: Sendable, Equatable {
    package let upstream: String
    /// `http://host:port`.
    package let target: String
    package let counts: UpstreamPoolCounts

    package init(upstream: String, target: String, counts: UpstreamPoolCounts) {
        self.upstream = upstream
        self.target = target
        self.counts = counts
    }
}
