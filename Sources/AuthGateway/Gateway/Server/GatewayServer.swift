import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix
import NIOSSL
import GatewayConfig
import GatewayObservability

/// The running gateway: TLS listeners whose connections are served on the event loops of `group`.
///
/// Each loop owns a ``LoopContext``; ``reload(_:)`` hands every loop the new snapshot, and
/// ``shutdown()`` stops accepting, lets in-flight requests finish up to the drain timeout, then closes.
package final class GatewayServer: Sendable {
    private let group: EventLoopGroup
    private let contexts: [ObjectIdentifier: NIOLoopBound<LoopContext>]
    private let listeners: [Channel]
    /// Listeners with `protocol: envoy_ext_authz_grpc`, served by gRPC.
    private let grpcListeners: [any DecisionGRPCListener]
    private let limiter: ConnectionLimiter
    private let connections: ConnectionRegistry
    private let tlsContexts: NIOLockedValueBox<[NIOSSLContext]>
    private let current: NIOLockedValueBox<GatewaySnapshot>
    private let logger: Logger
    private let draining = NIOLockedValueBox(false)
    private let watchedKeySets = NIOLockedValueBox(Set<ObjectIdentifier>())
    private let refreshers = NIOLockedValueBox([Task<Void, Never>]())
    private let metrics: GatewayMetrics?

    /// The bound port of each listener, in configuration order (useful with port 0).
    package let ports: [Int]

    private init(
        group: EventLoopGroup, contexts: [ObjectIdentifier: NIOLoopBound<LoopContext>], listeners: [Channel],
        grpcListeners: [any DecisionGRPCListener], ports: [Int],
        limiter: ConnectionLimiter, connections: ConnectionRegistry, tlsContexts: NIOLockedValueBox<[NIOSSLContext]>,
        snapshot: GatewaySnapshot, metrics: GatewayMetrics?, logger: Logger
    ) {
        self.metrics = metrics
        self.group = group
        self.contexts = contexts
        self.listeners = listeners
        self.grpcListeners = grpcListeners
        self.limiter = limiter
        self.connections = connections
        self.tlsContexts = tlsContexts
        self.current = NIOLockedValueBox(snapshot)
        self.logger = logger
        self.ports = ports
    }

    /// Binds every listener of the snapshot's configuration and starts serving.
    package static func start(
        snapshot: GatewaySnapshot, group: EventLoopGroup, observer: GatewayObserver = SilentObserver(),
        metrics: GatewayMetrics? = nil, logger: Logger = Logger(label: "auth-gateway")
    ) async throws -> GatewayServer {
        let configuration = snapshot.configuration
        let tls = try configuration.listeners.map { try TLSContextFactory.makeContext($0.tls, http2: $0.http2, locations: configuration.pathLocations) }
        let tlsContexts = NIOLockedValueBox(tls)
        var contexts: [ObjectIdentifier: NIOLoopBound<LoopContext>] = [:]
        for loop in group.makeIterator() {
            let bound = try await loop.submit {
                NIOLoopBound(
                    LoopContext(eventLoop: loop, snapshot: snapshot, observer: observer, metrics: metrics, logger: logger),
                    eventLoop: loop)
            }.get()
            contexts[ObjectIdentifier(loop)] = bound
        }
        var rateLimiters: [NIOLoopBound<LoopRateLimiter>] = []
        for loop in group.makeIterator() {
            guard let bound = contexts[ObjectIdentifier(loop)] else { continue }
            rateLimiters.append(try await loop.submit { NIOLoopBound(bound.value.rateLimiter, eventLoop: loop) }.get())
        }
        let table = rateLimiters
        for (index, limiter) in table.enumerated() {
            try await limiter.eventLoop.submit { limiter.value.join(table, as: index) }.get()
        }
        let limiter = ConnectionLimiter(maximum: configuration.limits.maxConnections, metrics: metrics)
        let connections = ConnectionRegistry()
        let frozenContexts = contexts
        var channels: [Channel] = []
        var grpcListeners: [any DecisionGRPCListener] = []
        var ports: [Int] = []
        for (index, listener) in configuration.listeners.enumerated() {
            if let settings = listener.mode.decision, settings.decisionProtocol == .envoyExtAuthzGRPC {
                let grpc = try await ListenError.naming("listeners[\(index)]", listener.address, listener.port) {
                    try await startGRPC(listener, settings: settings, loops: Array(frozenContexts.values))
                }
                grpcListeners.append(grpc)
                ports.append(grpc.port)
                logger.info("listening", metadata: [
                    "listener.address": "\(listener.address)", "listener.port": "\(grpc.port)",
                    "listener.mode": "decision (\(settings.decisionProtocol.rawValue))",
                ])
                continue
            }
            let initializer = ConnectionInitializer(
                listenerIndex: index, http2: listener.http2, decision: listener.mode.decision, limits: configuration.limits,
                tlsContexts: tlsContexts,
                contexts: frozenContexts, limiter: limiter, connections: connections)
            let channel = try await ListenError.naming("listeners[\(index)]", listener.address, listener.port) {
                try await ServerBootstrap(group: group)
                    .serverChannelOption(.backlog, value: 1024)
                    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                    .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                    .childChannelOption(.maxMessagesPerRead, value: 16)
                    .childChannelInitializer(initializer.initialize)
                    .bind(host: listener.address, port: listener.port)
                    .get()
            }
            channels.append(channel)
            ports.append(channel.localAddress?.port ?? 0)
            logger.info("listening", metadata: [
                "listener.address": "\(listener.address)", "listener.port": "\(channel.localAddress?.port ?? 0)",
                "listener.mode": "\(listener.mode.decision.map { "decision (\($0.decisionProtocol.rawValue))" } ?? "proxy")",
            ])
        }
        let server = GatewayServer(
            group: group, contexts: frozenContexts, listeners: channels, grpcListeners: grpcListeners, ports: ports,
            limiter: limiter, connections: connections,
            tlsContexts: tlsContexts, snapshot: snapshot, metrics: metrics, logger: logger)
        server.watchRemoteKeys(of: snapshot)
        await server.fetchMissingRemoteKeys()
        return server
    }

    /// The gRPC decision service of one listener (Envoy's `ext_authz`).
    private static func startGRPC(
        _ listener: GatewayConfiguration.Listener, settings: DecisionListener, loops: [NIOLoopBound<LoopContext>]
    ) async throws -> any DecisionGRPCListener {
        guard #available(macOS 15.0, iOS 18.0, watchOS 11.0, tvOS 18.0, visionOS 2.0, *) else {
            throw ListenError(description: "protocol envoy_ext_authz_grpc needs macOS 15 or Linux")
        }
        return try await ExtAuthzListener.start(listener, settings: settings, loops: loops)
    }

    /// Fetches remote key sets that have no keys yet, each bounded by its fetch timeout.
    private func fetchMissingRemoteKeys() async {
        for remote in snapshot.remoteKeySets where remote.currentKeys() == nil {
            try? await remote.refresh(on: group.next()).get()
            if remote.currentKeys() == nil {
                logger.error("no keys yet for an issuer; its tokens get 503 until a fetch succeeds",
                             metadata: ["issuer": "\(remote.issuer)", "error": "\(remote.lastError ?? "-")"])
            }
        }
    }

    /// Cached verifications never outlive the key that made them: when a provider's key set changes,
    /// every loop drops its cache.
    /// Also starts each new set's background refresher, stopped by ``shutdown(drainTimeout:)``.
    private func watchRemoteKeys(of snapshot: GatewaySnapshot) {
        for remote in snapshot.remoteKeySets where watchedKeySets.withLockedValue({ $0.insert(ObjectIdentifier(remote)).inserted }) {
            if let metrics { remote.attach(metrics: metrics) }
            remote.observe { [weak self] in self?.flushTokenCaches() }
            let refresher = Task { [group, logger] in await remote.runRefresher(group: group, logger: logger) }
            refreshers.withLockedValue { $0.append(refresher) }
        }
    }

    /// Drops every loop's verified-token cache.
    package func flushTokenCaches() {
        for bound in contexts.values {
            bound.eventLoop.execute { bound.value.authenticator.cache.flush() }
        }
    }

    /// The snapshot requests are served with.
    package var snapshot: GatewaySnapshot { current.withLockedValue { $0 } }

    /// Open client connections.
    package var openConnections: Int { limiter.current }

    /// Swaps in a new snapshot on every loop (and new TLS contexts when given). In-flight requests finish
    /// with the snapshot they started with.
    package func reload(_ snapshot: GatewaySnapshot, tls: [NIOSSLContext]? = nil) async throws {
        if let tls { tlsContexts.withLockedValue { $0 = tls } }
        current.withLockedValue { $0 = snapshot }
        watchRemoteKeys(of: snapshot)
        for bound in contexts.values {
            try await bound.eventLoop.submit { bound.value.install(snapshot) }.get()
        }
    }

    /// Each issuer, and whether it can verify tokens now (configured keys, or a fetched key set that is not
    /// too stale); for an issuer that cannot, why.
    package func issuerKeyStates() -> [(issuer: String, available: Bool, problem: String?)] {
        snapshot.issuers.keys.sorted().map { name in
            guard let remote = snapshot.issuers[name]?.remote, remote.currentKeys() == nil else { return (name, true, nil) }
            return (name, false, remote.lastError ?? "not fetched yet")
        }
    }

    /// Whether the gateway should receive traffic: not draining, at least one issuer can verify tokens, and
    /// at least one upstream has a target that no event loop is currently skipping as unhealthy.
    ///
    /// One issuer without keys does not make the gateway unready while another serves: its tokens get 503
    /// `keys_unavailable` on every replica alike, and taking every replica out of rotation would refuse the
    /// other issuers' traffic too. The answer lists every issuer's state either way.
    package func readiness() async -> (ready: Bool, reason: String) {
        if draining.withLockedValue({ $0 }) { return (false, "draining") }
        let issuers = issuerKeyStates()
        let issuerLines = issuers.map { "issuer \($0.issuer): " + ($0.available ? "keys available" : "no keys (\($0.problem ?? ""))") }
        if !issuers.isEmpty, !issuers.contains(where: \.available) {
            return (false, (["no issuer has keys"] + issuerLines).joined(separator: "\n"))
        }
        var unhealthy = Set<UpstreamPool.Endpoint>()
        for bound in contexts.values {
            let endpoints = try? await bound.eventLoop.submit { bound.value.pool.unhealthyEndpoints() }.get()
            unhealthy.formUnion(endpoints ?? [])
        }
        let upstreams = snapshot.configuration.upstreams
        let healthy = upstreams.filter { name, upstream in
            upstream.targets.contains { !unhealthy.contains(UpstreamPool.Endpoint(upstream: name, target: $0)) }
        }
        guard !healthy.isEmpty || upstreams.isEmpty else {
            return (false, (["no upstream has a healthy target"] + issuerLines).joined(separator: "\n"))
        }
        return (true, (["ready"] + issuerLines).joined(separator: "\n"))
    }

    /// Upstream connections and waiting requests per upstream and target, summed over the event loops.
    /// In use means leased to a request: once no request is in flight it must be zero everywhere, or a
    /// connection leaked.
    package func upstreamConnectionCounts() async -> [UpstreamTargetCounts] {
        // Every configured target is named, at 0 until a loop opens a pool for it: the series exist from
        // start-up.
        var sums: [UpstreamPool.Endpoint: UpstreamPoolCounts] = [:]
        for (name, upstream) in snapshot.configuration.upstreams {
            for target in upstream.targets {
                sums[UpstreamPool.Endpoint(upstream: name, target: target)] = UpstreamPoolCounts()
            }
        }
        for bound in contexts.values {
            let counts = (try? await bound.eventLoop.submit { bound.value.pool.counts() }.get()) ?? [:]
            for (endpoint, count) in counts { sums[endpoint, default: UpstreamPoolCounts()] = sums[endpoint, default: UpstreamPoolCounts()] + count }
        }
        return sums.map { UpstreamTargetCounts(upstream: $0.key.upstream, target: $0.key.target.description, counts: $0.value) }
            .sorted { ($0.upstream, $0.target) < ($1.upstream, $1.target) }
    }

    /// Stops accepting, lets in-flight requests finish for up to `drainTimeout` seconds, then closes
    /// what is left. Returns the number of connections that had to be cut.
    @discardableResult
    package func shutdown(drainTimeout: Duration? = nil) async -> Int {
        for listener in listeners {
            try? await listener.close()
        }
        for listener in grpcListeners {
            await listener.shutdown()
        }
        refreshers.withLockedValue { tasks in
            tasks.forEach { $0.cancel() }
            tasks.removeAll()
        }
        draining.withLockedValue { $0 = true }
        let timeout = drainTimeout ?? snapshot.configuration.limits.drainTimeout
        connections.quiesceAll()
        let deadline = NIODeadline.now() + TimeAmount(timeout)
        while connections.count > 0, NIODeadline.now() < deadline {
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
        let remaining = connections.count
        connections.closeAll()
        for bound in contexts.values {
            try? await bound.eventLoop.submit {
                bound.value.pool.closeIdle()
                bound.value.rateLimiter.shutdown()
                bound.value.observer.flush()
            }.get()
        }
        logger.info("stopped", metadata: ["connections.cut": "\(remaining)"])
        return remaining
    }
}

/// A socket the gateway could not listen on, named by its configuration key, address and port (the system's
/// error alone, "Address already in use", names neither).
package struct ListenError: Error, CustomStringConvertible {
    package let description: String

    /// Runs `bind`; an error becomes one that names `key`, `address` and `port`.
    static func naming<Result>(_ key: String, _ address: String, _ port: Int, _ bind: () async throws -> Result) async throws -> Result {
        do {
            return try await bind()
        } catch {
            let inUse = (error as? IOError)?.errnoCode == EADDRINUSE
            let hint = inUse ? "; another process listens there (or change the port)" : ""
            throw ListenError(description: "\(key): cannot listen on \(address):\(port): \(error)\(hint)")
        }
    }
}
