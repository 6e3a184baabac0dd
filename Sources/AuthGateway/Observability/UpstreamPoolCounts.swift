/// Connections and waiters of one upstream target on one event loop (or summed over all), for `/metrics`
/// and the tests' leak checks.
public struct UpstreamPoolCounts: Equatable, Sendable {
    /// Connections being opened.
    public var connecting = 0
    /// Connections leased to a request: the ones a leak would leave here for good.
    public var inUse = 0
    public var idle = 0
    /// Requests waiting for a connection (queued behind a full target).
    public var queued = 0

    public var open: Int { connecting + inUse + idle }

    public static func + (lhs: Self, rhs: Self) -> Self {
        Self(
            connecting: lhs.connecting + rhs.connecting, inUse: lhs.inUse + rhs.inUse, idle: lhs.idle + rhs.idle,
            queued: lhs.queued + rhs.queued)
    }

    public init(connecting: Int = 0, inUse: Int = 0, idle: Int = 0, queued: Int = 0) {
        self.connecting = connecting
        self.inUse = inUse
        self.idle = idle
        self.queued = queued
    }
}

/// The pool counts of one upstream target, summed over the event loops.
public struct UpstreamTargetCounts: Sendable, Equatable {
    public let upstream: String
    /// `http://host:port`.
    public let target: String
    public let counts: UpstreamPoolCounts

    public init(upstream: String, target: String, counts: UpstreamPoolCounts) {
        self.upstream = upstream
        self.target = target
        self.counts = counts
    }
}
