import NIOCore
import GatewayConfig
import GatewayAdmission
import GatewayObservability

/// The bookkeeping of one event loop's upstream connections, as a pure state machine: which connections
/// exist per target and in which state (connecting, leased to a request, idle), who waits for one, and
/// which targets are skipped after refusing a connection. No I/O and no clock: events come in with the
/// time, actions come out, and ``UpstreamPool`` performs them.
///
/// The one promise it exists for: **every connection handed out is given back exactly once** — released
/// (kept for reuse, or closed) or reported closed — and every request that asked for one gets exactly one
/// answer (a connection or a failure) unless it withdrew first. A request that withdraws (its client left)
/// never strands a connection: one still being opened for it serves the next waiter or goes idle.
///
/// Fairness: one client address may hold (lease or have opened for it) at most `maxPerClient` of a
/// target's connections. Its further requests queue; a connection that comes free goes to the first queued
/// request whose client is under its share. So a client that holds connections at its own pace (slow
/// readers of large answers, slow uploads) cannot take a whole target from everyone else. Nor can it take
/// the whole queue: one client's queued requests fill at most half of it (``Limits/maxQueuedPerClient``).
///
/// ``invariantViolations()`` states the invariants; the tests check them after every step of random event
/// sequences.
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

    /// A request and the client address it came from.
    struct Waiter: Hashable {
        let id: WaiterID
        let client: String
    }

    /// What a target allows; taken from the upstream's configuration with every request (a reload may
    /// change it).
    struct Limits: Equatable {
        /// A client's own queued requests may fill this much of the queue, so that others still find room.
        var maxQueuedPerClient: Int { max(1, maxQueued / 2) }

        var maxConnections: Int
        var maxPerClient: Int
        var maxQueued: Int
        var connectTimeout: TimeAmount
        var idleTimeout: TimeAmount
        var unhealthyCooldown: TimeAmount

        init(_ upstream: GatewayConfiguration.Upstream) {
            maxConnections = upstream.maxConnections
            maxPerClient = upstream.effectiveMaxConnectionsPerClient
            maxQueued = max(64, upstream.maxConnections * 4)
            connectTimeout = TimeAmount(upstream.connectTimeout)
            idleTimeout = TimeAmount(upstream.idleTimeout)
            unhealthyCooldown = TimeAmount(upstream.unhealthyCooldown)
        }

        init(
            maxConnections: Int, maxPerClient: Int? = nil, maxQueued: Int, connectTimeout: TimeAmount,
            idleTimeout: TimeAmount, unhealthyCooldown: TimeAmount
        ) {
            self.maxConnections = maxConnections
            self.maxPerClient = maxPerClient ?? maxConnections
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
        /// The waiter queues behind a full target (or its client's full share): fail it with `saturated`
        /// at the deadline (``waiterTimedOut(_:)``) unless it got a connection first.
        case armQueueTimer(WaiterID, NIODeadline)
    }

    private enum ConnectionState: Equatable {
        /// Being opened; for the waiter that caused it, unless that waiter withdrew.
        case connecting(for: Waiter?)
        case leased(to: Waiter)
        case idle
    }

    private struct TargetState {
        var connections: [ConnectionID: ConnectionState] = [:]
        /// Idle connections, most recently used last (taken from the end: the warmest first).
        var idle: [ConnectionID] = []
        /// Requests waiting for a connection to be released, first come first served within the shares.
        var queue = CircularBuffer<Waiter>()
        /// Connections leased to, or being opened for, each client address.
        var held: [String: Int] = [:]
        var unhealthyUntil = NIODeadline.distantPast
        var limits: Limits?
        var leased = 0
        var connecting = 0

        func underShare(_ client: String) -> Bool {
            held[client, default: 0] < (limits?.maxPerClient ?? Int.max)
        }

        mutating func hold(_ client: String) { held[client, default: 0] += 1 }

        mutating func letGo(_ client: String) {
            let count = held[client, default: 1] - 1
            held[client] = count > 0 ? count : nil
        }

        /// Removes and returns the first queued waiter whose client is under its share.
        mutating func popEligible() -> Waiter? {
            guard let index = queue.firstIndex(where: { underShare($0.client) }) else { return nil }
            return queue.remove(at: index)
        }
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

    /// `waiter` (from `client`) asks for a connection to `target`: an idle one at once, a new one if the
    /// target has room, else a place in the queue (bounded; beyond it `saturated`). A client at its share
    /// of the target always queues.
    mutating func request(
        _ id: WaiterID, client: String, target: Endpoint, limits: Limits, now: NIODeadline
    ) -> [Action] {
        precondition(waiterTargets[id] == nil, "\(id) asked twice")
        let waiter = Waiter(id: id, client: client)
        var state = takeState(target)
        defer { targets[target] = state }
        var actions: [Action] = []
        if state.limits != limits {
            // A reload changed the limits: waiters queued under the old ones may proceed first.
            state.limits = limits
            actions = rebalance(target, state: &state)
        }
        // Eligible queued waiters never sit beside an idle connection or room (the invariants), so the new
        // waiter cannot overtake one.
        if state.underShare(client) {
            if let connection = state.idle.popLast() {
                lease(connection, to: waiter, state: &state)
                return actions + [.lease(connection, id)]
            }
            if state.connections.count < limits.maxConnections {
                waiterTargets[id] = target
                return actions + [open(for: waiter, target: target, state: &state)]
            }
        }
        guard state.queue.count < limits.maxQueued,
            state.queue.count < limits.maxQueuedPerClient || queued(by: client, state) < limits.maxQueuedPerClient
        else { return actions + [.fail(id, .saturated)] }
        waiterTargets[id] = target
        state.queue.append(waiter)
        return actions + [.armQueueTimer(id, now + limits.connectTimeout)]
    }

    /// `waiter` no longer wants a connection (its client left, its exchange ended). A connection being
    /// opened for it serves the next eligible waiter or goes idle. Nothing happens for a waiter that already
    /// got its answer: a leased connection is given back with ``release(_:reusable:now:)``.
    mutating func cancel(_ id: WaiterID) -> [Action] {
        guard let target = waiterTargets.removeValue(forKey: id) else { return [] }
        var state = takeState(target)
        defer { targets[target] = state }
        if let index = state.queue.firstIndex(where: { $0.id == id }) {
            state.queue.remove(at: index)
            return []
        }
        if let (connection, waiter) = state.connections.lazy.compactMap({ entry -> (ConnectionID, Waiter)? in
            if case .connecting(let waiter?) = entry.value, waiter.id == id { return (entry.key, waiter) }
            return nil
        }).first {
            state.connections[connection] = .connecting(for: nil)
            state.letGo(waiter.client)
        }
        return rebalance(target, state: &state)
    }

    /// A connection opened: it serves its waiter, else the first eligible queued one, else goes idle.
    mutating func connected(_ connection: ConnectionID, now: NIODeadline) -> [Action] {
        guard let target = connectionTargets[connection],
            case .connecting(let waiter) = targets[target]?.connections[connection]
        else { return [] }
        var state = takeState(target)
        defer { targets[target] = state }
        state.connecting -= 1
        if let waiter {
            waiterTargets[waiter.id] = nil
            state.connections[connection] = .leased(to: waiter)
            state.leased += 1
            return [.lease(connection, waiter.id)]
        }
        return handOn(connection, state: &state, now: now)
    }

    /// A connection could not be opened: the target is skipped for its cooldown, and the waiter it was for
    /// fails with `connectFailed` (it may try another target). So does every queued waiter whose client is
    /// under its share — the target just refused a connection, so rather than wait behind it they may try
    /// another target at once (Envoy purges its pending requests on a connect failure for the same reason)
    /// — and every queued waiter when no connection to the target is left to serve it. The others, whose
    /// clients are at their share, wait for their clients' own connections.
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
            state.letGo(waiter.client)
            waiterTargets[waiter.id] = nil
            actions.append(.fail(waiter.id, .connectFailed))
        }
        let leftToServe = !state.connections.isEmpty
        while let queued = leftToServe ? state.popEligible() : state.queue.popFirst() {
            waiterTargets[queued.id] = nil
            actions.append(.fail(queued.id, .connectFailed))
        }
        return actions
    }

    /// The waiter holding `connection` gives it back: reused (next eligible waiter, else idle) when
    /// `reusable`, closed otherwise. Releasing a connection that is not leased (already closed) does nothing.
    mutating func release(_ connection: ConnectionID, reusable: Bool, now: NIODeadline) -> [Action] {
        guard let target = connectionTargets[connection],
            case .leased(let holder) = targets[target]?.connections[connection]
        else { return [] }
        var state = takeState(target)
        defer { targets[target] = state }
        state.leased -= 1
        state.letGo(holder.client)
        if reusable { return handOn(connection, state: &state, now: now) }
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
        case .leased(let holder):
            state.leased -= 1
            state.letGo(holder.client)
        case .idle:
            state.idle.removeAll { $0 == connection }
        case .connecting:
            preconditionFailure("\(connection) closed before it connected")
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

    /// A queued waiter's deadline passed: it fails with `saturated`.
    mutating func waiterTimedOut(_ id: WaiterID) -> [Action] {
        guard let target = waiterTargets[id], targets[target]?.queue.contains(where: { $0.id == id }) == true else {
            return []
        }
        return cancel(id) + [.fail(id, .saturated)]
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
        return waiter.id
    }

    /// Whether `waiter` is still waiting (queued or bound to a connection being opened).
    func isWaiting(_ waiter: WaiterID) -> Bool { waiterTargets[waiter] != nil }

    /// Requests of `client` in the target's queue (queueing is the slow path: a scan is fine).
    private func queued(by client: String, _ state: TargetState) -> Int {
        state.queue.reduce(0) { $0 + ($1.client == client ? 1 : 0) }
    }

    /// Connections `client` holds on `target` (leased, or being opened for it).
    func held(by client: String, on target: Endpoint) -> Int { targets[target]?.held[client] ?? 0 }

    // MARK: Invariants

    /// Every way the machine's own records could disagree with one another; empty when they agree.
    func invariantViolations() -> [String] {
        var problems: [String] = []
        var seenWaiters: [WaiterID: Int] = [:]
        var connectionCount = 0
        for (target, state) in targets {
            connectionCount += state.connections.count
            var leased = 0
            var connecting = 0
            var idle: [ConnectionID] = []
            var held: [String: Int] = [:]
            for (connection, connectionState) in state.connections {
                switch connectionState {
                case .leased(let waiter):
                    leased += 1
                    held[waiter.client, default: 0] += 1
                    if waiterTargets[waiter.id] != nil { problems.append("\(waiter.id) holds a connection and still waits") }
                case .connecting(let waiter):
                    connecting += 1
                    if let waiter {
                        held[waiter.client, default: 0] += 1
                        seenWaiters[waiter.id, default: 0] += 1
                    }
                case .idle:
                    idle.append(connection)
                }
                if connectionTargets[connection] != target { problems.append("\(connection) is not recorded under \(target)") }
            }
            if leased != state.leased { problems.append("\(target): leased \(state.leased) ≠ \(leased)") }
            if connecting != state.connecting { problems.append("\(target): connecting \(state.connecting) ≠ \(connecting)") }
            if Set(idle) != Set(state.idle) || idle.count != state.idle.count {
                problems.append("\(target): idle list \(state.idle) ≠ idle states \(idle)")
            }
            if held != state.held { problems.append("\(target): held per client \(state.held) ≠ \(held)") }
            if let limits = state.limits {
                if state.connections.count > limits.maxConnections {
                    problems.append("\(target): \(state.connections.count) connections > \(limits.maxConnections)")
                }
                for (client, count) in held where count > limits.maxPerClient {
                    problems.append("\(target): \(client) holds \(count) > its share \(limits.maxPerClient)")
                }
            }
            let eligible = state.queue.filter { state.underShare($0.client) }
            if !eligible.isEmpty, !state.idle.isEmpty {
                problems.append("\(target): \(eligible.count) eligible queued beside \(state.idle.count) idle connections")
            }
            if !eligible.isEmpty, state.connections.count < (state.limits?.maxConnections ?? 0) {
                problems.append("\(target): \(eligible.count) eligible queued while the target has room")
            }
            if !state.queue.isEmpty, state.connections.isEmpty {
                problems.append("\(target): \(state.queue.count) queued with no connection to wait for")
            }
            for waiter in state.queue { seenWaiters[waiter.id, default: 0] += 1 }
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

    private func lease(_ connection: ConnectionID, to waiter: Waiter, state: inout TargetState) {
        state.connections[connection] = .leased(to: waiter)
        state.leased += 1
        state.hold(waiter.client)
    }

    private mutating func open(for waiter: Waiter?, target: Endpoint, state: inout TargetState) -> Action {
        nextConnection += 1
        let connection = ConnectionID(value: nextConnection)
        state.connections[connection] = .connecting(for: waiter)
        state.connecting += 1
        if let waiter { state.hold(waiter.client) }
        connectionTargets[connection] = target
        return .connect(connection, target, timeout: state.limits?.connectTimeout ?? .seconds(2))
    }

    /// A connection free for reuse: to the first eligible queued waiter, else idle until its idle timeout.
    private mutating func handOn(_ connection: ConnectionID, state: inout TargetState, now: NIODeadline) -> [Action] {
        if let waiter = state.popEligible() {
            waiterTargets[waiter.id] = nil
            lease(connection, to: waiter, state: &state)
            return [.lease(connection, waiter.id)]
        }
        state.connections[connection] = .idle
        state.idle.append(connection)
        return [.armIdleTimer(connection, now + (state.limits?.idleTimeout ?? .seconds(60)))]
    }

    /// Removes a connection; the room it leaves serves queued waiters (``rebalance(_:state:)``).
    private mutating func forget(_ connection: ConnectionID, target: Endpoint, state: inout TargetState) -> [Action] {
        state.connections[connection] = nil
        connectionTargets[connection] = nil
        return rebalance(target, state: &state)
    }

    /// After a client's share or the target's room grew: matches queued waiters that may proceed (their
    /// client under its share), first come first served, with a connection being opened for nobody, or
    /// room for a new one. (Idle connections never sit beside such waiters: ``handOn(_:state:now:)`` gives
    /// a freed connection to the first of them.)
    private mutating func rebalance(_ target: Endpoint, state: inout TargetState) -> [Action] {
        var actions: [Action] = []
        while state.queue.contains(where: { state.underShare($0.client) }) {
            if let unbound = state.connections.first(where: { $0.value == .connecting(for: nil) })?.key {
                let waiter = state.popEligible()!
                state.connections[unbound] = .connecting(for: waiter)
                state.hold(waiter.client)
            } else if state.connections.count < (state.limits?.maxConnections ?? 0) {
                actions.append(open(for: state.popEligible()!, target: target, state: &state))
            } else {
                break
            }
        }
        return actions
    }
}
