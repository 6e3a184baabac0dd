import NIOCore
import NIOHTTP1
import NIOPosix

/// One event loop's upstream connections: keep-alive pools per target, load balancing and passive
/// health. Confined to its loop, so no locks; every loop learns target health on its own.
final class UpstreamPool {
    let eventLoop: EventLoop
    private var idle: [GatewayConfiguration.Target: [UpstreamConnection]] = [:]
    private var open: [GatewayConfiguration.Target: Int] = [:]
    private var inFlight: [GatewayConfiguration.Target: Int] = [:]
    private var unhealthyUntil: [GatewayConfiguration.Target: NIODeadline] = [:]
    private var roundRobin: [String: Int] = [:]
    private(set) var failures: [String: Int] = [:]

    init(eventLoop: EventLoop) {
        self.eventLoop = eventLoop
    }

    /// Picks a target of `upstream` not in `excluding`: healthy ones first; if none is healthy, any
    /// (a target marked down may have recovered, and refusing outright would turn a blip into an outage).
    func pickTarget(
        _ name: String, _ upstream: GatewayConfiguration.Upstream, excluding: [GatewayConfiguration.Target]
    ) -> GatewayConfiguration.Target? {
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

    /// Calls `completion` on this loop with a connection to `target`: an idle pooled one (at once), or
    /// a new one. A refused connection marks the target unhealthy for the upstream's cooldown.
    func connection(
        to target: GatewayConfiguration.Target, _ upstream: GatewayConfiguration.Upstream,
        completion: @escaping (Result<UpstreamConnection, UpstreamFailure>) -> Void
    ) {
        while var list = idle[target], let connection = list.popLast() {
            idle[target] = list
            connection.idleTimer?.cancel()
            connection.idleTimer = nil
            if connection.isUsable {
                inFlight[target, default: 0] += 1
                completion(.success(connection))
                return
            }
        }
        guard open[target, default: 0] < upstream.maxConnections else {
            completion(.failure(.unavailable))
            return
        }
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
            }
        }
    }

    /// Returns a connection after its exchange: kept for reuse when `reusable`, closed otherwise.
    func release(_ connection: UpstreamConnection, reusable: Bool, idleTimeout: Double) {
        let target = connection.target
        inFlight[target, default: 1] -= 1
        connection.handler.exchange = nil
        guard reusable, connection.isUsable else {
            connection.close()
            return
        }
        connection.idleTimer = eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(Int64(idleTimeout * 1000))) {
            [weak self] in
            self?.removeIdle(connection)
            connection.close()
        }
        idle[target, default: []].append(connection)
    }

    /// Counts a failure of an exchange for metrics, and marks refusing targets down.
    func recordFailure(_ failure: UpstreamFailure, target: GatewayConfiguration.Target?) {
        failures[failure.label, default: 0] += 1
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
        handler.onClose = { [weak self, weak connection] in
            guard let self else { return }
            self.open[target, default: 1] -= 1
            if let connection { self.removeIdle(connection) }
        }
        return connection
    }
}

@available(*, unavailable)
extension UpstreamPool: Sendable {}
