import NIOCore

/// The bookkeeping of one event loop's upstream connections, as a pure state machine: which connections
/// exist per target and in which state (connecting, leased to a request, idle), who waits for one, and
/// which targets are skipped after refusing a connection. No I/O and no clock: events come in with the
/// time, actions come out, and ``UpstreamPool`` performs them.
///
/// The one promise it exists for: **every connection handed out is given back exactly once** — released
/// (kept for reuse, or closed) or reported closed — and every request that asked for one gets exactly one
/// answer (a connection or a failure) unless it withdrew first. A request that withdraws (its client left)
/// never strands a connection: one still being opened for it serves the next waiter or goes idle.
/// ``checkInvariants()`` states the invariants; the tests run it after every step of random event sequences.
struct UpstreamPoolStateMachine {
    typealias Target = GatewayConfiguration.Target
    typealias Counts = UpstreamPoolCounts

    /// One target of one upstream: the unit of pooling, limits and health. Two upstreams that share a
    /// target address keep separate connections, as their limits and timeouts may differ.
    struct Endpoint: Hashable, Sendable, CustomStringConvertible {
        let upstream: String
        let target: Target
        var description: String { "\(upstream) \(target)" }
    }

    /// A connection, numbered by the machine when it decides to open one.
    struct ConnectionID: Hashable, Comparable, CustomStringConvertible {
        let value: Int
        static func < (lhs: Self, rhs: Self) -> Bool { lhs.value < rhs.value }
        var description: String { "c\(value)" }
    }

    /// A request waiting for (or holding) a connection, numbered by the caller.
    struct WaiterID: Hashable, CustomStringConvertible {
        let value: Int
        var description: String { "w\(value)" }
    }

    /// What a target allows; taken from the upstream's configuration with every request (a reload may
    /// change it).
    struct Limits: Equatable {
        var maxConnections: Int
        var maxQueued: Int
        var connectTimeout: TimeAmount
        var idleTimeout: TimeAmount
        var unhealthyCooldown: TimeAmount

        init(_ upstream: GatewayConfiguration.Upstream) {
            maxConnections = upstream.maxConnections
            maxQueued = max(64, upstream.maxConnections * 4)
            connectTimeout = TimeAmount(seconds: upstream.connectTimeout)
            idleTimeout = TimeAmount(seconds: upstream.idleTimeout)
            unhealthyCooldown = TimeAmount(seconds: upstream.unhealthyCooldown)
        }

        init(maxConnections: Int, maxQueued: Int, connectTimeout: TimeAmount, idleTimeout: TimeAmount, unhealthyCooldown: TimeAmount) {
            self.maxConnections = maxConnections
            self.maxQueued = maxQueued
            self.connectTimeout = connectTimeout
            self.idleTimeout = idleTimeout
            self.unhealthyCooldown = unhealthyCooldown
        }
    }

    enum Action: Equatable {
        /// Open a connection to the target within the timeout; report ``connected(_:now:)`` or
        /// ``connectFailed(_:now:)``.
        case connect(ConnectionID, Endpoint, timeout: TimeAmount)
        /// Hand the connection to the waiter, which owns it until ``release(_:reusable:now:)`` or
        /// ``closed(_:)``.
        case lease(ConnectionID, WaiterID)
        /// Answer the waiter with a failure; it is forgotten.
        case fail(WaiterID, UpstreamFailure)
        /// Close the connection; the machine has forgotten it already.
        case close(ConnectionID)
        /// The connection went idle: close it if nothing takes it by the deadline (``idleTimedOut(_:)``).
        case armIdleTimer(ConnectionID, NIODeadline)
        /// The waiter queues behind a full target: fail it with `unavailable` at the deadline
        /// (``waiterTimedOut(_:)``) unless it got a connection first.
        case armQueueTimer(WaiterID, NIODeadline)
    }

    private enum ConnectionState: Equatable {
        /// Being opened; for the waiter that caused it, unless that waiter withdrew.
        case connecting(for: WaiterID?)
        case leased(to: WaiterID)
        case idle
    }

    private struct TargetState {
        var connections: [ConnectionID: ConnectionState] = [:]
        /// Idle connections, most recently used last (taken from the end: the warmest first).
        var idle: [ConnectionID] = []
        /// Requests waiting for a connection to be released, first come first served.
        var queue = CircularBuffer<WaiterID>()
        var unhealthyUntil = NIODeadline.distantPast
        var limits: Limits?
        var leased = 0
        var connecting = 0
    }

    private var targets: [Endpoint: TargetState] = [:]
    private var connectionTargets: [ConnectionID: Endpoint] = [:]
    /// Every waiter the machine knows: queued, or bound to a connection being opened.
    private var waiterTargets: [WaiterID: Endpoint] = [:]
    private var nextConnection = 0
    private var roundRobin: [String: Int] = [:]

    // MARK: Choosing a target

    /// A target of `upstream` not in `excluding`: healthy ones first; if none is healthy, any (a target
    /// marked down may have recovered, and refusing outright would turn a blip into an outage).
    mutating func pickTarget(
        _ name: String, _ upstream: GatewayConfiguration.Upstream, excluding: [Target], now: NIODeadline
    ) -> Target? {
        // The common single-target upstream needs no health or balancing work: the same answer as below.
        if upstream.targets.count == 1, excluding.isEmpty { return upstream.targets[0] }
        let candidates = upstream.targets.filter { !excluding.contains($0) }
        guard !candidates.isEmpty else { return nil }
        let healthy = candidates.filter { (targets[Endpoint(upstream: name, target: $0)]?.unhealthyUntil ?? .distantPast) <= now }
        let pool = healthy.isEmpty ? candidates : healthy
        let turn = roundRobin[name, default: 0]
        roundRobin[name] = turn &+ 1
        switch upstream.balancing {
        case .roundRobin:
            return pool[turn % pool.count]
        case .leastRequests:
            let start = turn % pool.count
            var best = pool[start]
            for offset in 1..<max(pool.count, 1) {
                let target = pool[(start + offset) % pool.count]
                if load(Endpoint(upstream: name, target: target)) < load(Endpoint(upstream: name, target: best)) { best = target }
            }
            return best
        }
    }

    /// Requests on a target: holding, awaiting or queued for a connection.
    private func load(_ target: Endpoint) -> Int {
        guard let state = targets[target] else { return 0 }
        return state.leased + state.connecting + state.queue.count
    }

    /// The targets currently skipped after refused connections.
    func unhealthyEndpoints(now: NIODeadline) -> Set<Endpoint> {
        Set(targets.filter { $0.value.unhealthyUntil > now }.keys)
    }

    // MARK: Events

    /// `waiter` asks for a connection to `target`: an idle one at once, a new one if the target has room,
    /// else a place in the queue (bounded; beyond it `unavailable`).
    mutating func request(_ waiter: WaiterID, target: Endpoint, limits: Limits, now: NIODeadline) -> [Action] {
        precondition(waiterTargets[waiter] == nil, "\(waiter) asked twice")
        var state = takeState(target)
        state.limits = limits
        defer { targets[target] = state }
        if let connection = state.idle.popLast() {
            state.connections[connection] = .leased(to: waiter)
            state.leased += 1
            return [.lease(connection, waiter)]
        }
        if state.connections.count < limits.maxConnections {
            waiterTargets[waiter] = target
            return [open(for: waiter, target: target, state: &state)]
        }
        guard state.queue.count < limits.maxQueued else { return [.fail(waiter, .unavailable)] }
        waiterTargets[waiter] = target
        state.queue.append(waiter)
        return [.armQueueTimer(waiter, now + limits.connectTimeout)]
    }

    /// `waiter` no longer wants a connection (its client left, its exchange ended). A connection being
    /// opened for it will serve the next waiter or go idle. Nothing happens for a waiter that already got
    /// its answer: a leased connection is given back with ``release(_:reusable:now:)``.
    mutating func cancel(_ waiter: WaiterID) {
        guard let target = waiterTargets.removeValue(forKey: waiter) else { return }
        var state = takeState(target)
        defer { targets[target] = state }
        if let index = state.queue.firstIndex(of: waiter) {
            state.queue.remove(at: index)
            return
        }
        if let connection = state.connections.first(where: { $0.value == .connecting(for: waiter) })?.key {
            state.connections[connection] = .connecting(for: nil)
        }
    }

    /// A connection opened: it serves its waiter, else the first queued one, else goes idle.
    mutating func connected(_ connection: ConnectionID, now: NIODeadline) -> [Action] {
        guard let target = connectionTargets[connection],
            case .connecting(let waiter) = targets[target]?.connections[connection]
        else { return [] }
        var state = takeState(target)
        defer { targets[target] = state }
        state.connecting -= 1
        if let waiter {
            waiterTargets[waiter] = nil
            state.connections[connection] = .leased(to: waiter)
            state.leased += 1
            return [.lease(connection, waiter)]
        }
        return handOn(connection, target: target, state: &state, now: now)
    }

    /// A connection could not be opened: the target is skipped for its cooldown, the waiter it was for
    /// fails with `connectFailed` (it may try another target), and so does every queued waiter if no
    /// connection to the target is left to serve them.
    mutating func connectFailed(_ connection: ConnectionID, now: NIODeadline) -> [Action] {
        guard let target = connectionTargets[connection],
            case .connecting(let waiter) = targets[target]?.connections[connection]
        else { return [] }
        var state = takeState(target)
        defer { targets[target] = state }
        state.connections[connection] = nil
        connectionTargets[connection] = nil
        state.connecting -= 1
        state.unhealthyUntil = now + (state.limits?.unhealthyCooldown ?? .seconds(5))
        var actions: [Action] = []
        if let waiter {
            waiterTargets[waiter] = nil
            actions.append(.fail(waiter, .connectFailed))
        }
        if state.connections.isEmpty {
            while let queued = state.queue.popFirst() {
                waiterTargets[queued] = nil
                actions.append(.fail(queued, .connectFailed))
            }
        }
        return actions
    }

    /// The waiter holding `connection` gives it back: reused (next waiter, else idle) when `reusable`,
    /// closed otherwise. Releasing a connection that is not leased (already closed) does nothing.
    mutating func release(_ connection: ConnectionID, reusable: Bool, now: NIODeadline) -> [Action] {
        guard let target = connectionTargets[connection],
            case .leased = targets[target]?.connections[connection]
        else { return [] }
        var state = takeState(target)
        defer { targets[target] = state }
        state.leased -= 1
        if reusable { return handOn(connection, target: target, state: &state, now: now) }
        return [.close(connection)] + forget(connection, target: target, state: &state)
    }

    /// A connection closed on its own (the upstream closed it, an error, the idle timer): forgotten
    /// wherever it was. Its leaseholder learns it from the connection and releases it in vain.
    mutating func closed(_ connection: ConnectionID) -> [Action] {
        guard let target = connectionTargets[connection], let current = targets[target]?.connections[connection] else {
            return []
        }
        var state = takeState(target)
        defer { targets[target] = state }
        switch current {
        case .leased: state.leased -= 1
        case .idle: state.idle.removeAll { $0 == connection }
        case .connecting: preconditionFailure("\(connection) closed before it connected")
        }
        return forget(connection, target: target, state: &state)
    }

    /// An idle connection's deadline passed.
    mutating func idleTimedOut(_ connection: ConnectionID) -> [Action] {
        guard let target = connectionTargets[connection], targets[target]?.connections[connection] == .idle else {
            return []
        }
        return [.close(connection)] + closed(connection)
    }

    /// A queued waiter's deadline passed: it fails with `unavailable`.
    mutating func waiterTimedOut(_ waiter: WaiterID) -> [Action] {
        guard let target = waiterTargets[waiter], targets[target]?.queue.contains(waiter) == true else { return [] }
        cancel(waiter)
        return [.fail(waiter, .unavailable)]
    }

    /// Forgets every idle connection (shutdown, or upstreams changed on reload) and returns them to close.
    mutating func removeIdle() -> [ConnectionID] {
        var removed: [ConnectionID] = []
        for target in Array(targets.keys) {
            var state = takeState(target)
            defer { targets[target] = state }
            for connection in state.idle {
                state.connections[connection] = nil
                connectionTargets[connection] = nil
            }
            removed += state.idle
            state.idle.removeAll()
        }
        return removed
    }

    // MARK: Reading

    func counts(_ target: Endpoint) -> Counts {
        guard let state = targets[target] else { return Counts() }
        return Counts(connecting: state.connecting, inUse: state.leased, idle: state.idle.count, queued: state.queue.count)
    }

    /// Counts for every target the machine has seen.
    var allCounts: [Endpoint: Counts] {
        targets.mapValues {
            Counts(connecting: $0.connecting, inUse: $0.leased, idle: $0.idle.count, queued: $0.queue.count)
        }
    }

    /// The waiter a leased connection belongs to.
    func leaseholder(of connection: ConnectionID) -> WaiterID? {
        guard let target = connectionTargets[connection], case .leased(let waiter) = targets[target]?.connections[connection]
        else { return nil }
        return waiter
    }

    /// Whether `waiter` is still waiting (queued or bound to a connection being opened).
    func isWaiting(_ waiter: WaiterID) -> Bool { waiterTargets[waiter] != nil }

    // MARK: Invariants

    /// Every way the machine's own records could disagree with one another; empty when they agree.
    func invariantViolations() -> [String] {
        var problems: [String] = []
        var seenWaiters: [WaiterID: Int] = [:]
        var connectionCount = 0
        for (target, state) in targets {
            connectionCount += state.connections.count
            let leased = state.connections.values.filter { if case .leased = $0 { true } else { false } }
            let connecting = state.connections.values.filter { if case .connecting = $0 { true } else { false } }
            let idle = state.connections.filter { $0.value == .idle }.map(\.key)
            if leased.count != state.leased { problems.append("\(target): leased \(state.leased) ≠ \(leased.count)") }
            if connecting.count != state.connecting {
                problems.append("\(target): connecting \(state.connecting) ≠ \(connecting.count)")
            }
            if Set(idle) != Set(state.idle) || idle.count != state.idle.count {
                problems.append("\(target): idle list \(state.idle) ≠ idle states \(idle)")
            }
            if let limits = state.limits, state.connections.count > limits.maxConnections {
                problems.append("\(target): \(state.connections.count) connections > \(limits.maxConnections)")
            }
            if !state.queue.isEmpty, !state.idle.isEmpty {
                problems.append("\(target): \(state.queue.count) queued beside \(state.idle.count) idle connections")
            }
            if !state.queue.isEmpty, state.connections.isEmpty {
                problems.append("\(target): \(state.queue.count) queued with no connection to wait for")
            }
            for waiter in state.queue { seenWaiters[waiter, default: 0] += 1 }
            for case .connecting(let waiter?) in state.connections.values { seenWaiters[waiter, default: 0] += 1 }
            for (connection, _) in state.connections where connectionTargets[connection] != target {
                problems.append("\(connection) is not recorded under \(target)")
            }
            for case .leased(let waiter) in state.connections.values where waiterTargets[waiter] != nil {
                problems.append("\(waiter) holds a connection and still waits")
            }
        }
        if connectionCount != connectionTargets.count {
            problems.append("\(connectionTargets.count) connections recorded, \(connectionCount) in targets")
        }
        for (waiter, count) in seenWaiters where count > 1 { problems.append("\(waiter) waits \(count) times") }
        if Set(seenWaiters.keys) != Set(waiterTargets.keys) {
            problems.append("waiters \(Set(waiterTargets.keys)) ≠ queued or connecting \(Set(seenWaiters.keys))")
        }
        return problems
    }

    // MARK: Internals

    /// A target's state, taken out of the dictionary while an event works on it (so that changing it
    /// copies nothing); the event puts it back.
    private mutating func takeState(_ target: Endpoint) -> TargetState {
        targets.removeValue(forKey: target) ?? TargetState()
    }

    private mutating func open(for waiter: WaiterID?, target: Endpoint, state: inout TargetState) -> Action {
        nextConnection += 1
        let connection = ConnectionID(value: nextConnection)
        state.connections[connection] = .connecting(for: waiter)
        state.connecting += 1
        connectionTargets[connection] = target
        return .connect(connection, target, timeout: state.limits?.connectTimeout ?? .seconds(2))
    }

    /// A connection free for reuse: to the first queued waiter, else idle until its idle timeout.
    private mutating func handOn(
        _ connection: ConnectionID, target: Endpoint, state: inout TargetState, now: NIODeadline
    ) -> [Action] {
        if let waiter = state.queue.popFirst() {
            waiterTargets[waiter] = nil
            state.connections[connection] = .leased(to: waiter)
            state.leased += 1
            return [.lease(connection, waiter)]
        }
        state.connections[connection] = .idle
        state.idle.append(connection)
        return [.armIdleTimer(connection, now + (state.limits?.idleTimeout ?? .seconds(60)))]
    }

    /// Removes a connection; the room it leaves opens a connection for the first queued waiter.
    private mutating func forget(_ connection: ConnectionID, target: Endpoint, state: inout TargetState) -> [Action] {
        state.connections[connection] = nil
        connectionTargets[connection] = nil
        guard let waiter = state.queue.popFirst() else { return [] }
        return [open(for: waiter, target: target, state: &state)]
    }
}

extension TimeAmount {
    /// Seconds as configured (`Double`), to the millisecond.
    init(seconds: Double) {
        self = .milliseconds(Int64((seconds * 1000).rounded()))
    }
}

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
