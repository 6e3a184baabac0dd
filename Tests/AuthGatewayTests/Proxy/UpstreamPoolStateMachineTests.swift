import NIOCore
import TestSupport
import Testing
@testable import GatewayConfig
@testable import GatewayObservability
@testable import AuthGateway

/// The pool's bookkeeping as plain values: every transition, then random event sequences with the
/// invariants checked after every step.
@Suite("Upstream pool state machine")
struct UpstreamPoolStateMachineTests {
    typealias Machine = UpstreamPoolStateMachine
    typealias Action = Machine.Action
    typealias Waiter = Machine.WaiterID
    typealias Connection = Machine.ConnectionID

    static let target = GatewayConfiguration.Target(host: "127.0.0.1", port: 8001)
    static let other = GatewayConfiguration.Target(host: "127.0.0.1", port: 8002)
    static let endpoint = Machine.Endpoint(upstream: "svc", target: target)
    static let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)

    static func limits(max: Int = 2, queued: Int = 3) -> Machine.Limits {
        Machine.Limits(
            maxConnections: max, maxQueued: queued, connectTimeout: .seconds(2), idleTimeout: .seconds(60),
            unhealthyCooldown: .seconds(5))
    }

    static func w(_ value: Int) -> Waiter { Waiter(value: value) }
    static func c(_ value: Int) -> Connection { Connection(value: value) }

    /// A machine with `leased` connections leased to waiters 1...leased.
    static func machine(leased: Int, limits: Machine.Limits = limits()) -> Machine {
        var machine = Machine()
        for index in 1...max(leased, 1) where leased > 0 {
            _ = machine.request(w(index), client: "a", target: endpoint, limits: limits, now: t0)
            _ = machine.connected(c(index), now: t0)
        }
        return machine
    }

    // MARK: Transitions

    @Test("the first request opens a connection, which is leased to it once connected")
    func firstRequestConnects() {
        var machine = Machine()
        #expect(machine.request(Self.w(1), client: "a", target: Self.endpoint, limits: Self.limits(), now: Self.t0)
            == [.connect(Self.c(1), Self.endpoint, timeout: .seconds(2))])
        #expect(machine.counts(Self.endpoint) == UpstreamPoolCounts(connecting: 1))
        #expect(machine.isWaiting(Self.w(1)))
        #expect(machine.connected(Self.c(1), now: Self.t0) == [.lease(Self.c(1), Self.w(1))])
        #expect(machine.counts(Self.endpoint) == UpstreamPoolCounts(inUse: 1))
        #expect(machine.leaseholder(of: Self.c(1)) == Self.w(1))
        #expect(machine.invariantViolations().isEmpty)
    }

    @Test("a reusable connection goes idle with a deadline and is leased again at once, the warmest first")
    func reuse() {
        var machine = Self.machine(leased: 2)
        #expect(machine.release(Self.c(1), reusable: true, now: Self.t0) == [.armIdleTimer(Self.c(1), Self.t0 + .seconds(60))])
        #expect(machine.release(Self.c(2), reusable: true, now: Self.t0) == [.armIdleTimer(Self.c(2), Self.t0 + .seconds(60))])
        #expect(machine.counts(Self.endpoint) == UpstreamPoolCounts(idle: 2))
        #expect(machine.request(Self.w(3), client: "a", target: Self.endpoint, limits: Self.limits(), now: Self.t0) == [.lease(Self.c(2), Self.w(3))])
        #expect(machine.invariantViolations().isEmpty)
    }

    @Test("at max_connections requests queue (bounded), first come first served")
    func queueing() {
        var machine = Self.machine(leased: 2)
        #expect(machine.request(Self.w(3), client: "a", target: Self.endpoint, limits: Self.limits(), now: Self.t0)
            == [.armQueueTimer(Self.w(3), Self.t0 + .seconds(2))])
        _ = machine.request(Self.w(4), client: "b", target: Self.endpoint, limits: Self.limits(), now: Self.t0)
        _ = machine.request(Self.w(5), client: "c", target: Self.endpoint, limits: Self.limits(), now: Self.t0)
        #expect(machine.request(Self.w(6), client: "d", target: Self.endpoint, limits: Self.limits(), now: Self.t0) == [.fail(Self.w(6), .saturated)])
        #expect(machine.counts(Self.endpoint).queued == 3)
        #expect(machine.release(Self.c(1), reusable: true, now: Self.t0) == [.lease(Self.c(1), Self.w(3))])
        #expect(machine.release(Self.c(2), reusable: true, now: Self.t0) == [.lease(Self.c(2), Self.w(4))])
        #expect(machine.counts(Self.endpoint) == UpstreamPoolCounts(inUse: 2, queued: 1))
        #expect(machine.invariantViolations().isEmpty)
    }

    @Test("a queued waiter times out with saturated; a timeout after it was served does nothing")
    func queueTimeout() {
        var machine = Self.machine(leased: 2)
        _ = machine.request(Self.w(3), client: "a", target: Self.endpoint, limits: Self.limits(), now: Self.t0)
        _ = machine.request(Self.w(4), client: "b", target: Self.endpoint, limits: Self.limits(), now: Self.t0)
        #expect(machine.waiterTimedOut(Self.w(3)) == [.fail(Self.w(3), .saturated)])
        #expect(machine.release(Self.c(1), reusable: true, now: Self.t0) == [.lease(Self.c(1), Self.w(4))])
        #expect(machine.waiterTimedOut(Self.w(4)).isEmpty)
        #expect(machine.invariantViolations().isEmpty)
    }

    @Test("a queued waiter that withdraws is skipped; the released connection goes to the next or idle")
    func cancelQueued() {
        var machine = Self.machine(leased: 2)
        _ = machine.request(Self.w(3), client: "a", target: Self.endpoint, limits: Self.limits(), now: Self.t0)
        _ = machine.cancel(Self.w(3))
        #expect(!machine.isWaiting(Self.w(3)))
        #expect(machine.release(Self.c(1), reusable: true, now: Self.t0) == [.armIdleTimer(Self.c(1), Self.t0 + .seconds(60))])
        #expect(machine.waiterTimedOut(Self.w(3)).isEmpty)
        #expect(machine.invariantViolations().isEmpty)
    }

    @Test("a waiter that withdraws while its connection is being opened strands nothing")
    func cancelWhileConnecting() {
        var machine = Machine()
        _ = machine.request(Self.w(1), client: "a", target: Self.endpoint, limits: Self.limits(max: 1), now: Self.t0)
        _ = machine.request(Self.w(2), client: "a", target: Self.endpoint, limits: Self.limits(max: 1), now: Self.t0)
        _ = machine.cancel(Self.w(1))
        // The connection opened for the first waiter serves the queued one.
        #expect(machine.connected(Self.c(1), now: Self.t0) == [.lease(Self.c(1), Self.w(2))])
        _ = machine.cancel(Self.w(2))  // already served: nothing to withdraw
        #expect(machine.counts(Self.endpoint) == UpstreamPoolCounts(inUse: 1))
        #expect(machine.release(Self.c(1), reusable: true, now: Self.t0).count == 1)

        var alone = Machine()
        _ = alone.request(Self.w(1), client: "a", target: Self.endpoint, limits: Self.limits(), now: Self.t0)
        _ = alone.cancel(Self.w(1))
        #expect(alone.connected(Self.c(1), now: Self.t0) == [.armIdleTimer(Self.c(1), Self.t0 + .seconds(60))])
        #expect(alone.counts(Self.endpoint) == UpstreamPoolCounts(idle: 1))
        #expect(alone.invariantViolations().isEmpty)
    }

    @Test("a refused connection fails its waiter, marks the target down, and fails the queue when nothing is left")
    func connectFailed() {
        var machine = Machine()
        _ = machine.request(Self.w(1), client: "a", target: Self.endpoint, limits: Self.limits(max: 1), now: Self.t0)
        _ = machine.request(Self.w(2), client: "a", target: Self.endpoint, limits: Self.limits(max: 1), now: Self.t0)
        #expect(machine.connectFailed(Self.c(1), now: Self.t0) == [.fail(Self.w(1), .connectFailed), .fail(Self.w(2), .connectFailed)])
        #expect(machine.unhealthyEndpoints(now: Self.t0 + .seconds(4)) == [Self.endpoint])
        #expect(machine.unhealthyEndpoints(now: Self.t0 + .seconds(5)).isEmpty)
        #expect(machine.counts(Self.endpoint) == UpstreamPoolCounts())
        #expect(machine.invariantViolations().isEmpty)
    }

    @Test("a refused connection fails every queued request whose client is under its share, not only as many as there is room")
    func connectFailedFailsEveryEligibleWaiter() {
        let limits = Self.limits(max: 4, queued: 16)
        var machine = Self.machine(leased: 3, limits: limits)
        #expect(machine.request(Self.w(4), client: "b", target: Self.endpoint, limits: limits, now: Self.t0)
            == [.connect(Self.c(4), Self.endpoint, timeout: .seconds(2))])
        for index in 5...12 {
            _ = machine.request(Self.w(index), client: "client-\(index)", target: Self.endpoint, limits: limits, now: Self.t0)
        }
        // They may try another target at once rather than wait behind one that just refused a connection.
        #expect(machine.connectFailed(Self.c(4), now: Self.t0) == (4...12).map { .fail(Self.w($0), .connectFailed) })
        #expect(machine.counts(Self.endpoint) == UpstreamPoolCounts(inUse: 3))
        #expect(machine.invariantViolations().isEmpty)
    }

    @Test("limits raised by a reload serve the requests queued under the old ones first")
    func raisedLimitsServeTheQueueFirst() {
        var machine = Machine()
        _ = machine.request(Self.w(1), client: "a", target: Self.endpoint, limits: Self.limits(max: 1), now: Self.t0)
        _ = machine.connected(Self.c(1), now: Self.t0)
        _ = machine.request(Self.w(2), client: "b", target: Self.endpoint, limits: Self.limits(max: 1), now: Self.t0)
        // Room for one more: the queued request gets it, the new one queues behind.
        #expect(machine.request(Self.w(3), client: "c", target: Self.endpoint, limits: Self.limits(max: 2), now: Self.t0)
            == [.connect(Self.c(2), Self.endpoint, timeout: .seconds(2)), .armQueueTimer(Self.w(3), Self.t0 + .seconds(2))])
        #expect(machine.invariantViolations().isEmpty)
        // Room for two more: both proceed, the queued one first.
        #expect(machine.request(Self.w(4), client: "d", target: Self.endpoint, limits: Self.limits(max: 4), now: Self.t0)
            == [.connect(Self.c(3), Self.endpoint, timeout: .seconds(2)), .connect(Self.c(4), Self.endpoint, timeout: .seconds(2))])
        #expect(machine.connected(Self.c(2), now: Self.t0) == [.lease(Self.c(2), Self.w(2))])
        #expect(machine.connected(Self.c(3), now: Self.t0) == [.lease(Self.c(3), Self.w(3))])
        #expect(machine.invariantViolations().isEmpty)
    }

    @Test("one client's queued requests fill at most half of the queue; others still find room")
    func clientQueueShare() {
        let limits = Self.limits(max: 1, queued: 8)
        var machine = Self.machine(leased: 1, limits: limits)
        var answers: [Action] = []
        for index in 2...9 {
            answers += machine.request(Self.w(index), client: "greedy", target: Self.endpoint, limits: limits, now: Self.t0)
        }
        #expect(answers.filter { if case .armQueueTimer = $0 { true } else { false } }.count == 4)
        #expect(answers.filter { if case .fail(_, .saturated) = $0 { true } else { false } }.count == 4)
        for index in 10...13 {
            #expect(machine.request(Self.w(index), client: "other-\(index)", target: Self.endpoint, limits: limits, now: Self.t0)
                == [.armQueueTimer(Self.w(index), Self.t0 + .seconds(2))])
        }
        #expect(machine.request(Self.w(14), client: "late", target: Self.endpoint, limits: limits, now: Self.t0)
            == [.fail(Self.w(14), .saturated)])
        #expect(machine.invariantViolations().isEmpty)
    }

    @Test("a refused connection also fails the queued request that would open the next one (it may try another target)")
    func connectFailedWithOthersOpen() {
        var machine = Self.machine(leased: 1)
        _ = machine.request(Self.w(2), client: "a", target: Self.endpoint, limits: Self.limits(), now: Self.t0)
        _ = machine.request(Self.w(3), client: "a", target: Self.endpoint, limits: Self.limits(), now: Self.t0)
        #expect(machine.connectFailed(Self.c(2), now: Self.t0) == [.fail(Self.w(2), .connectFailed), .fail(Self.w(3), .connectFailed)])
        #expect(machine.counts(Self.endpoint) == UpstreamPoolCounts(inUse: 1))
        #expect(machine.release(Self.c(1), reusable: true, now: Self.t0) == [.armIdleTimer(Self.c(1), Self.t0 + .seconds(60))])
        #expect(machine.invariantViolations().isEmpty)
    }

    @Test("a connection released as not reusable is closed, and its room opens one for the first queued waiter")
    func releaseClosing() {
        var machine = Self.machine(leased: 2)
        _ = machine.request(Self.w(3), client: "a", target: Self.endpoint, limits: Self.limits(), now: Self.t0)
        #expect(machine.release(Self.c(1), reusable: false, now: Self.t0)
            == [.close(Self.c(1)), .connect(Self.c(3), Self.endpoint, timeout: .seconds(2))])
        #expect(machine.release(Self.c(1), reusable: true, now: Self.t0).isEmpty, "released twice")
        #expect(machine.connected(Self.c(3), now: Self.t0) == [.lease(Self.c(3), Self.w(3))])
        #expect(machine.invariantViolations().isEmpty)
    }

    @Test("a leased connection that closes on its own is forgotten; its holder's release does nothing")
    func closedWhileLeased() {
        var machine = Self.machine(leased: 2)
        _ = machine.request(Self.w(3), client: "a", target: Self.endpoint, limits: Self.limits(), now: Self.t0)
        #expect(machine.closed(Self.c(2)) == [.connect(Self.c(3), Self.endpoint, timeout: .seconds(2))])
        #expect(machine.release(Self.c(2), reusable: true, now: Self.t0).isEmpty)
        #expect(machine.closed(Self.c(2)).isEmpty)
        #expect(machine.counts(Self.endpoint) == UpstreamPoolCounts(connecting: 1, inUse: 1))
        #expect(machine.invariantViolations().isEmpty)
    }

    @Test("idle connections close on their deadline, when closed by the peer, or all at once")
    func idleEnds() {
        var machine = Self.machine(leased: 2)
        _ = machine.release(Self.c(1), reusable: true, now: Self.t0)
        _ = machine.release(Self.c(2), reusable: true, now: Self.t0)
        #expect(machine.idleTimedOut(Self.c(1)) == [.close(Self.c(1))])
        #expect(machine.idleTimedOut(Self.c(1)).isEmpty)
        #expect(machine.closed(Self.c(2)).isEmpty)
        #expect(machine.counts(Self.endpoint) == UpstreamPoolCounts())
        var another = Self.machine(leased: 2)
        _ = another.release(Self.c(1), reusable: true, now: Self.t0)
        #expect(another.removeIdle() == [Self.c(1)])
        #expect(another.counts(Self.endpoint) == UpstreamPoolCounts(inUse: 1))
        #expect(another.invariantViolations().isEmpty)
    }

    // MARK: Fairness between clients

    @Test("one client holds at most its share of a target; its other requests queue while others are served")
    func clientShare() {
        var machine = Machine()
        let limits = Machine.Limits(
            maxConnections: 4, maxPerClient: 2, maxQueued: 16, connectTimeout: .seconds(2), idleTimeout: .seconds(60),
            unhealthyCooldown: .seconds(5))
        // A client that holds connections at its own pace (a slow reader) asks for ten.
        var attacker: [Action] = []
        for index in 1...10 {
            attacker += machine.request(Self.w(index), client: "slow", target: Self.endpoint, limits: limits, now: Self.t0)
        }
        #expect(attacker.filter { if case .connect = $0 { true } else { false } }.count == 2)
        #expect(machine.held(by: "slow", on: Self.endpoint) == 2)
        #expect(machine.counts(Self.endpoint).queued == 8)
        // Everyone else still gets connections.
        #expect(machine.request(Self.w(11), client: "victim", target: Self.endpoint, limits: limits, now: Self.t0)
            == [.connect(Self.c(3), Self.endpoint, timeout: .seconds(2))])
        #expect(machine.request(Self.w(12), client: "other", target: Self.endpoint, limits: limits, now: Self.t0)
            == [.connect(Self.c(4), Self.endpoint, timeout: .seconds(2))])
        _ = machine.connected(Self.c(1), now: Self.t0)
        _ = machine.connected(Self.c(3), now: Self.t0)
        // The victim's connection comes free: the slow client is at its share, so its queued requests are
        // skipped and the connection goes idle for the next client.
        #expect(machine.release(Self.c(3), reusable: true, now: Self.t0) == [.armIdleTimer(Self.c(3), Self.t0 + .seconds(60))])
        #expect(machine.request(Self.w(13), client: "victim", target: Self.endpoint, limits: limits, now: Self.t0)
            == [.lease(Self.c(3), Self.w(13))])
        // When the slow client gives one back, its own next request takes it.
        #expect(machine.release(Self.c(1), reusable: true, now: Self.t0) == [.lease(Self.c(1), Self.w(3))])
        #expect(machine.invariantViolations().isEmpty)
    }

    @Test("a queued request whose client is at its share waits for that client's connections, not for a connect failure")
    func shareAndConnectFailure() {
        var machine = Machine()
        let limits = Machine.Limits(
            maxConnections: 3, maxPerClient: 1, maxQueued: 16, connectTimeout: .seconds(2), idleTimeout: .seconds(60),
            unhealthyCooldown: .seconds(5))
        _ = machine.request(Self.w(1), client: "a", target: Self.endpoint, limits: limits, now: Self.t0)
        _ = machine.connected(Self.c(1), now: Self.t0)
        _ = machine.request(Self.w(2), client: "a", target: Self.endpoint, limits: limits, now: Self.t0)
        _ = machine.request(Self.w(3), client: "b", target: Self.endpoint, limits: limits, now: Self.t0)
        #expect(machine.connectFailed(Self.c(2), now: Self.t0) == [.fail(Self.w(3), .connectFailed)])
        #expect(machine.counts(Self.endpoint) == UpstreamPoolCounts(inUse: 1, queued: 1))
        #expect(machine.release(Self.c(1), reusable: true, now: Self.t0) == [.lease(Self.c(1), Self.w(2))])
        #expect(machine.invariantViolations().isEmpty)
    }

    // MARK: Choosing targets

    static func upstream(_ balancing: GatewayConfiguration.Upstream.Balancing = .roundRobin) -> GatewayConfiguration.Upstream {
        GatewayConfiguration.Upstream(targets: [target, other], balancing: balancing)
    }

    @Test("round robin alternates; a target marked down is skipped until its cooldown passes")
    func roundRobinAndHealth() {
        var machine = Machine()
        let picks = (0..<4).map { _ in machine.pickTarget("svc", Self.upstream(), excluding: [], now: Self.t0) }
        #expect(picks == [Self.target, Self.other, Self.target, Self.other])
        _ = machine.request(Self.w(1), client: "a", target: Self.endpoint, limits: Self.limits(), now: Self.t0)
        _ = machine.connectFailed(Self.c(1), now: Self.t0)
        let down = (0..<3).map { _ in machine.pickTarget("svc", Self.upstream(), excluding: [], now: Self.t0 + .seconds(1)) }
        #expect(down == [Self.other, Self.other, Self.other])
        #expect(machine.pickTarget("svc", Self.upstream(), excluding: [Self.other], now: Self.t0) == Self.target,
                "when only a target marked down is left, it is tried rather than refusing")
        #expect(machine.pickTarget("svc", Self.upstream(), excluding: [Self.target, Self.other], now: Self.t0) == nil)
        // Health is per upstream: another upstream on the same address is not affected.
        let picked = (0..<2).map { _ in machine.pickTarget("svc2", Self.upstream(), excluding: [], now: Self.t0) }
        #expect(Set(picked) == [Self.target, Self.other])
    }

    @Test("least requests picks the target with fewer requests holding, opening or queued for a connection")
    func leastRequests() {
        var machine = Self.machine(leased: 2)
        for _ in 0..<4 {
            #expect(machine.pickTarget("svc", Self.upstream(.leastRequests), excluding: [], now: Self.t0) == Self.other)
        }
    }

    // MARK: Random event sequences

    @Test("random event sequences keep every invariant and give back every connection", arguments: 0..<40)
    func randomSequences(seed: UInt64) {
        var model = PoolModel(seed: seed)
        for step in 0..<400 {
            model.step()
            let problems = model.machine.invariantViolations() + model.violations
            #expect(problems.isEmpty, "seed \(seed), step \(step): \(problems)\n\(model.history.suffix(12).joined(separator: "\n"))")
            if !problems.isEmpty { return }
        }
        model.drain()
        let problems = model.machine.invariantViolations() + model.violations
        #expect(problems.isEmpty, "seed \(seed), after draining: \(problems)")
        let counts = model.machine.allCounts.values.reduce(UpstreamPoolCounts(), +)
        #expect(counts == UpstreamPoolCounts(), "seed \(seed): left after every request ended: \(counts)")
    }
}

/// Drives the machine with random events the way the I/O shell would, and checks its answers against
/// what each party may expect: one answer per waiter, one holder per connection, releases only by the
/// holder, no answer to a waiter that withdrew.
struct PoolModel {
    typealias Machine = UpstreamPoolStateMachine

    var machine = Machine()
    var random: SplitMix64
    var violations: [String] = []
    var history: [String] = []
    /// Waiters that asked and have no answer yet (and did not withdraw).
    var waiting: Set<Machine.WaiterID> = []
    /// Connections leased, by holder.
    var held: [Machine.ConnectionID: Machine.WaiterID] = [:]
    var connecting: Set<Machine.ConnectionID> = []
    var idle: Set<Machine.ConnectionID> = []
    var queueTimers: Set<Machine.WaiterID> = []
    var nextWaiter = 0
    let endpoints = [
        Machine.Endpoint(upstream: "a", target: .init(host: "127.0.0.1", port: 1)),
        Machine.Endpoint(upstream: "a", target: .init(host: "127.0.0.1", port: 2)),
    ]
    let clients = ["a", "b", "c"]
    /// Changed now and then, as a reload changes them.
    var limits = Machine.Limits(
        maxConnections: 4, maxPerClient: 2, maxQueued: 6, connectTimeout: .seconds(1), idleTimeout: .seconds(1),
        unhealthyCooldown: .seconds(1))
    var now = NIODeadline.uptimeNanoseconds(1)

    init(seed: UInt64) {
        random = SplitMix64(seed: seed)
    }

    mutating func step() {
        now = now + .milliseconds(Int64(random.next(upTo: 100)))
        switch random.next(upTo: 10) {
        case 0, 1, 2:
            nextWaiter += 1
            let waiter = Machine.WaiterID(value: nextWaiter)
            let endpoint = endpoints[random.next(upTo: endpoints.count)]
            waiting.insert(waiter)
            let client = clients[random.next(upTo: clients.count)]
            if random.next(upTo: 40) == 0, limits.maxConnections < 8 {
                // A reload raises the limits (a lowered limit only stops new connections: the invariants'
                // bounds would not hold for the ones already open).
                limits.maxConnections += 1 + random.next(upTo: 2)
                limits.maxPerClient = max(1, limits.maxConnections / 2)
            }
            apply(machine.request(waiter, client: client, target: endpoint, limits: limits, now: now), "request \(waiter) \(client) \(endpoint)")
        case 3:
            if let waiter = pick(waiting) {
                waiting.remove(waiter)
                queueTimers.remove(waiter)
                apply(machine.cancel(waiter), "cancel \(waiter)")
            }
        case 4:
            if let connection = pick(connecting) {
                connecting.remove(connection)
                if random.next(upTo: 3) == 0 {
                    apply(machine.connectFailed(connection, now: now), "connectFailed \(connection)")
                } else {
                    idle.insert(connection)  // the shell holds it until the machine says where it goes
                    apply(machine.connected(connection, now: now), "connected \(connection)")
                }
            }
        case 5, 6:
            if let connection = pick(Set(held.keys)) {
                held[connection] = nil
                apply(machine.release(connection, reusable: random.next(upTo: 2) == 0, now: now), "release \(connection)")
            }
        case 7:
            if let connection = pick(Set(held.keys).union(idle)) {
                held[connection] = nil
                idle.remove(connection)
                apply(machine.closed(connection), "closed \(connection)")
            }
        case 8:
            if let connection = pick(idle) {
                apply(machine.idleTimedOut(connection), "idleTimedOut \(connection)")
            }
        default:
            if let waiter = pick(queueTimers) {
                queueTimers.remove(waiter)
                apply(machine.waiterTimedOut(waiter), "waiterTimedOut \(waiter)")
            }
        }
    }

    /// Every request ends: waiters withdraw, holders release, connections being opened connect.
    mutating func drain() {
        for waiter in waiting {
            waiting.remove(waiter)
            apply(machine.cancel(waiter), "drain cancel \(waiter)")
        }
        while let connection = connecting.first {
            connecting.remove(connection)
            idle.insert(connection)
            apply(machine.connected(connection, now: now), "drain connected \(connection)")
        }
        for connection in Array(held.keys) {
            held[connection] = nil
            apply(machine.release(connection, reusable: false, now: now), "drain release \(connection)")
        }
        for connection in machine.removeIdle() { idle.remove(connection) }
    }

    private mutating func apply(_ actions: [Machine.Action], _ event: String) {
        history.append("\(event) -> \(actions)")
        for action in actions {
            switch action {
            case .connect(let connection, _, _):
                connecting.insert(connection)
            case .lease(let connection, let waiter):
                if !waiting.contains(waiter) { violations.append("\(connection) leased to \(waiter), which is not waiting") }
                if held[connection] != nil { violations.append("\(connection) leased while held by \(held[connection]!)") }
                waiting.remove(waiter)
                queueTimers.remove(waiter)
                idle.remove(connection)
                held[connection] = waiter
            case .fail(let waiter, _):
                if !waiting.contains(waiter) { violations.append("\(waiter) failed, but it is not waiting") }
                waiting.remove(waiter)
                queueTimers.remove(waiter)
            case .close(let connection):
                idle.remove(connection)
                if held[connection] != nil { violations.append("\(connection) closed under its holder") }
            case .armIdleTimer(let connection, _):
                idle.insert(connection)
            case .armQueueTimer(let waiter, _):
                queueTimers.insert(waiter)
            }
        }
    }

    private mutating func pick<T: Hashable>(_ set: Set<T>) -> T? {
        guard !set.isEmpty else { return nil }
        let ordered = Array(set).sorted { "\($0)" < "\($1)" }
        return ordered[random.next(upTo: ordered.count)]
    }
}

@Suite("Client share key")
struct ClientShareKeyTests {
    static func bytes(_ text: String) throws -> [UInt8] {
        let address = try SocketAddress(ipAddress: text, port: 1)
        guard case .v6(let v6) = address else { throw SocketAddressError.unsupported }
        return withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
    }

    @Test("an IPv4 address is its own key, also when it arrives IPv4-mapped on a dual-stack listener")
    func ipv4() throws {
        #expect(ClientShareKey.of(try SocketAddress(ipAddress: "192.0.2.7", port: 443)) == "192.0.2.7")
        #expect(ClientShareKey.of(try SocketAddress(ipAddress: "::ffff:192.0.2.7", port: 443)) == "192.0.2.7")
        #expect(ClientShareKey.of(nil) == "unknown")
    }

    @Test("IPv6 addresses of one /64 share a key; other networks do not")
    func ipv6() throws {
        let first = ClientShareKey.of(try SocketAddress(ipAddress: "2001:db8:1:2::1", port: 443))
        let second = ClientShareKey.of(try SocketAddress(ipAddress: "2001:db8:1:2:ffff:1234:5678:9abc", port: 443))
        let other = ClientShareKey.of(try SocketAddress(ipAddress: "2001:db8:1:3::1", port: 443))
        #expect(first == "2001:db8:1:2::/64")
        #expect(first == second)
        #expect(first != other)
        #expect(ClientShareKey.of(try SocketAddress(ipAddress: "::1", port: 443)) == "0:0:0:0::/64")
        #expect(ClientShareKey.of(ipv6: try Self.bytes("::ffff:10.0.0.1")) == "10.0.0.1")
        #expect(ClientShareKey.of(ipv6: [1, 2, 3]) == nil)
    }
}
