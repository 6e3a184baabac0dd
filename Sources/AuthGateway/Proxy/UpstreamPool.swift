import NIOCore
import NIOHTTP1
import NIOPosix

/// One event loop's upstream connections: keep-alive pools per target, load balancing and passive
/// health. Confined to its loop, so no locks; every loop learns target health on its own.
///
/// A target at `max_connections` queues further requests (first come, first served) until a connection
/// is released or closed, or the connect timeout passes (then 503).
final class UpstreamPool {
    typealias Completion = (Result<UpstreamConnection, UpstreamFailure>) -> Void

    /// A request waiting for a connection to a full target.
    private struct Waiter {
        let id: Int
        let upstream: GatewayConfiguration.Upstream
        let completion: Completion
        let timeout: Scheduled<Void>
    }

    let eventLoop: EventLoop
    private var idle: [GatewayConfiguration.Target: [UpstreamConnection]] = [:]
    private var waiters: [GatewayConfiguration.Target: CircularBuffer<Waiter>] = [:]
    private var nextWaiterID = 0
    private var open: [GatewayConfiguration.Target: Int] = [:]
    private var inFlight: [GatewayConfiguration.Target: Int] = [:]
    private var unhealthyUntil: [GatewayConfiguration.Target: NIODeadline] = [:]
    private var roundRobin: [String: Int] = [:]

    init(eventLoop: EventLoop) {
        self.eventLoop = eventLoop
    }

    /// Picks a target of `upstream` not in `excluding`: healthy ones first; if none is healthy, any
    /// (a target marked down may have recovered, and refusing outright would turn a blip into an outage).
    func pickTarget(
        _ name: String, _ upstream: GatewayConfiguration.Upstream, excluding: [GatewayConfiguration.Target]
    ) -> GatewayConfiguration.Target? {
        // The common single-target upstream needs no health or balancing work: the same answer as below.
        if upstream.targets.count == 1, excluding.isEmpty { return upstream.targets[0] }
        let candidates = upstream.targets.filter { !excluding.contains($0) }
        guard !candidates.isEmpty else { return nil }
        let now = NIODeadline.now()
        let healthy = candidates.filter { (unhealthyUntil[$0] ?? .distantPast) <= now }
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
                if inFlight[target, default: 0] < inFlight[best, default: 0] { best = target }
            }
            return best
        }
    }

    /// Calls `completion` on this loop with a connection to `target`: an idle pooled one (at once), a new
    /// one, or, when the target is at its connection limit, the next one released. A refused connection
    /// marks the target unhealthy for the upstream's cooldown.
    func connection(
        to target: GatewayConfiguration.Target, _ upstream: GatewayConfiguration.Upstream, completion: @escaping Completion
    ) {
        if let connection = takeIdle(target) {
            inFlight[target, default: 0] += 1
            completion(.success(connection))
        } else if open[target, default: 0] < upstream.maxConnections {
            openConnection(to: target, upstream, completion: completion)
        } else {
            enqueue(completion, for: target, upstream)
        }
    }

    private func takeIdle(_ target: GatewayConfiguration.Target) -> UpstreamConnection? {
        while let connection = idle[target]?.popLast() {
            connection.idleTimer?.disarm()
            if connection.isUsable { return connection }
        }
        return nil
    }

    private func openConnection(
        to target: GatewayConfiguration.Target, _ upstream: GatewayConfiguration.Upstream, completion: @escaping Completion
    ) {
        open[target, default: 0] += 1
        inFlight[target, default: 0] += 1
        connect(to: target, upstream).assumeIsolated().whenComplete { result in
            switch result {
            case .success(let channel):
                completion(.success(self.adopt(channel, target: target)))
            case .failure:
                self.open[target, default: 1] -= 1
                self.inFlight[target, default: 1] -= 1
                self.markUnhealthy(target, for: upstream.unhealthyCooldown)
                completion(.failure(.connectFailed))
                // Requests queued for this target are better off trying another one.
                while let waiter = self.popWaiter(target) { waiter.completion(.failure(.connectFailed)) }
            }
        }
    }

    /// Queues a request for a full target; bounded, and each waits at most the connect timeout.
    private func enqueue(
        _ completion: @escaping Completion, for target: GatewayConfiguration.Target, _ upstream: GatewayConfiguration.Upstream
    ) {
        guard waiters[target, default: []].count < max(64, upstream.maxConnections * 4) else {
            completion(.failure(.unavailable))
            return
        }
        nextWaiterID += 1
        let id = nextWaiterID
        let timeout = eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(Int64(upstream.connectTimeout * 1000))) {
            [weak self] in
            guard let self, let index = self.waiters[target]?.firstIndex(where: { $0.id == id }),
                let waiter = self.waiters[target]?.remove(at: index)
            else { return }
            waiter.completion(.failure(.unavailable))
        }
        waiters[target, default: []].append(Waiter(id: id, upstream: upstream, completion: completion, timeout: timeout))
    }

    private func popWaiter(_ target: GatewayConfiguration.Target) -> Waiter? {
        guard let waiter = waiters[target]?.popFirst() else { return nil }
        waiter.timeout.cancel()
        return waiter
    }

    /// Returns a connection after its exchange: handed to the next queued request, kept for reuse when
    /// `reusable`, closed otherwise.
    func release(_ connection: UpstreamConnection, reusable: Bool, idleTimeout: Double) {
        let target = connection.target
        inFlight[target, default: 1] -= 1
        connection.handler.exchange = nil
        guard reusable, connection.isUsable else {
            // Its close frees a slot, which serves the next queued request (see `adopt`).
            connection.close()
            return
        }
        if let waiter = popWaiter(target) {
            inFlight[target, default: 0] += 1
            waiter.completion(.success(connection))
            return
        }
        connection.idleTimer?.arm(in: .milliseconds(Int64(idleTimeout * 1000)))
        idle[target, default: []].append(connection)
    }

    func markUnhealthy(_ target: GatewayConfiguration.Target, for seconds: Double) {
        unhealthyUntil[target] = .now() + .milliseconds(Int64(seconds * 1000))
    }

    /// The targets this loop currently skips after refused connections.
    func unhealthyTargets() -> Set<GatewayConfiguration.Target> {
        let now = NIODeadline.now()
        return Set(unhealthyUntil.filter { $0.value > now }.keys)
    }

    /// Closes every idle connection (shutdown, or upstreams changed on reload).
    func closeIdle() {
        let all = idle.values.flatMap { $0 }
        idle.removeAll()
        all.forEach { $0.close() }
    }

    private func removeIdle(_ connection: UpstreamConnection) {
        idle[connection.target]?.removeAll { $0 === connection }
    }

    private func connect(
        to target: GatewayConfiguration.Target, _ upstream: GatewayConfiguration.Upstream
    ) -> EventLoopFuture<Channel> {
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(.milliseconds(Int64(upstream.connectTimeout * 1000)))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers(leftOverBytesStrategy: .forwardBytes)
                    try channel.pipeline.syncOperations.addHandler(UpstreamClientHandler())
                }
            }
        if let address = try? SocketAddress(ipAddress: target.host, port: target.port) {
            return bootstrap.connect(to: address)
        }
        return bootstrap.connect(host: target.host, port: target.port)
    }

    /// Wraps a connected channel; its handler reports the close back to the pool.
    private func adopt(_ channel: Channel, target: GatewayConfiguration.Target) -> UpstreamConnection {
        // The initializer above always adds the handler, on this loop, before `connect` succeeds.
        let handler = try! channel.pipeline.syncOperations.handler(type: UpstreamClientHandler.self)
        let connection = UpstreamConnection(channel: channel, target: target, handler: handler)
        connection.idleTimer = DeadlineTimer(eventLoop: eventLoop) { [weak self, weak connection] in
            guard let connection else { return }
            self?.removeIdle(connection)
            connection.close()
        }
        handler.onClose = { [weak self, weak connection] in
            guard let self else { return }
            self.open[target, default: 1] -= 1
            if let connection { self.removeIdle(connection) }
            if let waiter = self.popWaiter(target) {
                self.openConnection(to: target, waiter.upstream, completion: waiter.completion)
            }
        }
        return connection
    }
}

@available(*, unavailable)
extension UpstreamPool: Sendable {}
