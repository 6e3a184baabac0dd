import Foundation
import TestSupport
import JOSE
import NIOCore
import NIOPosix
import Testing
import GatewayPolicy
import GatewayConfig
import GatewayObservability
import AuthGateway

/// Records every finished request (the access log's view) for assertions. Lock-protected because each
/// event loop reports on its own thread.
final class RecordingObserver: GatewayObserver, @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [RequestRecord] = []

    var records: [RequestRecord] { lock.withLock { stored } }

    func makeLoopObserver(for eventLoop: EventLoop) -> LoopObserver { Loop(owner: self) }

    fileprivate func append(_ record: RequestRecord) { lock.withLock { stored.append(record) } }

    /// Waits (bounded) for `count` records: the client can see the response a moment before the record.
    func waitForRecords(_ count: Int, timeout: Double = 5) async -> [RequestRecord] {
        let deadline = Date().addingTimeInterval(timeout)
        while records.count < count, Date() < deadline { try? await Task.sleep(nanoseconds: 10_000_000) }
        return records
    }

    private final class Loop: LoopObserver {
        let owner: RecordingObserver
        init(owner: RecordingObserver) { self.owner = owner }
        func requestFinished(_ record: RequestRecord) { owner.append(record) }
    }
}

/// A test policy that routes to upstream `svc`: reads need `read:data`, `/admin/**` the `admin` role,
/// uploads `write:data`, `/public/**` nothing.
let standardPolicy = """
    version: 1
    routes:
      - name: data
        match: { methods: [GET, HEAD], path: /api/data/** }
        upstream: svc
        require:
          scopes: { all: ["read:data"] }
      - name: admin
        match: { methods: [GET], path: /admin/** }
        upstream: svc
        require:
          roles: { any: [admin] }
      - name: upload
        match: { methods: [POST, PUT], path: /upload/** }
        upstream: svc
        require:
          scopes: { all: ["write:data"] }
      - name: public
        match: { methods: [GET], path: /public/** }
        upstream: svc
        auth: public
    """

/// One gateway under test, in process: temp dir, policies, recording upstream processes, a
/// `GatewayServer` on 127.0.0.1:0 (TLS, HTTP/2 on) over a 2-thread event loop group, and token minting.
///
/// Use ``with(_:_:)`` so that everything is shut down even when the test fails.
final class GatewayHarness: GatewayEndpoint, @unchecked Sendable {
    /// One target of an upstream.
    enum TargetSpec: Sendable {
        /// A recording_upstream.py process.
        case recording(RecordingUpstream.Behaviour)
        /// A loopback port nothing listens on (connection refused).
        case closed
    }

    struct Options: Sendable {
        var policy = standardPolicy
        var upstreams: [String: [TargetSpec]] = ["svc": [.recording(.init())]]
        /// Last word on the configuration (timeouts, limits...).
        var configure: @Sendable (inout GatewayConfiguration) -> Void = { _ in }
        /// Record metrics here as `serve` does (requests, latency, token cache, verifications).
        var metrics: GatewayMetrics?
    }

    let directory: String
    let fixtures = E2EFixtures.shared
    let port: Int
    let server: GatewayServer
    let group: MultiThreadedEventLoopGroup
    let observer: RecordingObserver
    let configuration: GatewayConfiguration
    /// The recording processes of each upstream, in target order (closed targets left out).
    let upstreams: [String: [RecordingUpstream]]
    /// The `.closed` targets' ports, held until shutdown.
    private let closedPorts: [ClosedLoopbackPort]

    var caFile: String { fixtures.caFile }

    /// The first recording target of `svc`.
    var upstream: RecordingUpstream { upstreams["svc"]![0] }

    private init(
        directory: String, port: Int, server: GatewayServer, group: MultiThreadedEventLoopGroup,
        observer: RecordingObserver, configuration: GatewayConfiguration, upstreams: [String: [RecordingUpstream]],
        closedPorts: [ClosedLoopbackPort]
    ) {
        self.directory = directory
        self.port = port
        self.server = server
        self.group = group
        self.observer = observer
        self.configuration = configuration
        self.upstreams = upstreams
        self.closedPorts = closedPorts
    }

    /// Starts a harness, runs `body`, and shuts everything down whatever happens. After a `body` that
    /// returns, checks the availability invariant (``expectUpstreamConnectionsReturned(timeout:sourceLocation:)``).
    static func with<T>(
        _ options: Options = Options(), sourceLocation: Testing.SourceLocation = #_sourceLocation,
        _ body: (GatewayHarness) async throws -> T
    ) async throws -> T {
        let harness = try await start(options)
        do {
            let result = try await body(harness)
            await harness.expectUpstreamConnectionsReturned(sourceLocation: sourceLocation)
            await harness.shutdown()
            return result
        } catch {
            await harness.shutdown()
            throw error
        }
    }

    static func start(_ options: Options) async throws -> GatewayHarness {
        let fixtures = E2EFixtures.shared
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("gw-e2e-\(UUID().uuidString.prefix(12))").path
        try FileManager.default.createDirectory(atPath: directory + "/policies", withIntermediateDirectories: true)
        try options.policy.write(toFile: directory + "/policies/test.yaml", atomically: true, encoding: .utf8)

        var started: [String: [RecordingUpstream]] = [:]
        var closedPorts: [ClosedLoopbackPort] = []
        var upstreamConfigs: [String: GatewayConfiguration.Upstream] = [:]
        do {
            for (name, specs) in options.upstreams.sorted(by: { $0.key < $1.key }) {
                var targets: [GatewayConfiguration.Target] = []
                for (index, spec) in specs.enumerated() {
                    switch spec {
                    case .recording(var behaviour):
                        if behaviour.name == "upstream" { behaviour.name = "\(name)-\(index)" }
                        let process = try await RecordingUpstream.start(behaviour, in: directory)
                        started[name, default: []].append(process)
                        targets.append(process.target)
                    case .closed:
                        let closed = try ClosedLoopbackPort()
                        closedPorts.append(closed)
                        targets.append(.init(host: "127.0.0.1", port: closed.port))
                    }
                }
                upstreamConfigs[name] = GatewayConfiguration.Upstream(targets: targets)
            }
        } catch {
            for process in started.values.flatMap({ $0 }) { await process.stop() }
            throw error
        }

        var configuration = GatewayConfiguration(
            listeners: [
                .init(
                    address: "127.0.0.1", port: 0,
                    tls: .init(certificateChainFile: fixtures.certificateFile, privateKeyFile: fixtures.privateKeyFile),
                    http2: true)
            ],
            admin: nil,
            issuers: [
                .init(
                    issuer: E2EFixtures.issuer, audiences: [E2EFixtures.audience],
                    keys: [.init(file: fixtures.jwksFile), .init(file: fixtures.hmacFile)])
            ],
            upstreams: upstreamConfigs,
            policyDirectory: directory + "/policies")
        options.configure(&configuration)

        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let observer = RecordingObserver()
        do {
            let snapshot = try GatewaySnapshot.load(configuration: configuration, keyGeneration: 1)
            let observers: GatewayObserver = options.metrics.map {
                CompositeObserver([observer, MetricsObserver(metrics: $0)])
            } ?? observer
            let server = try await GatewayServer.start(
                snapshot: snapshot, group: group, observer: observers, metrics: options.metrics)
            guard let port = server.ports.first, port > 0 else { throw HarnessError("the gateway bound no port") }
            return GatewayHarness(
                directory: directory, port: port, server: server, group: group, observer: observer,
                configuration: configuration, upstreams: started, closedPorts: closedPorts)
        } catch {
            for process in started.values.flatMap({ $0 }) { await process.stop() }
            try? await group.shutdownGracefully()
            throw error
        }
    }

    /// The availability invariant, checked after every end-to-end test: once the test's clients are done,
    /// no upstream connection is still leased to a request and no request waits for one. A connection that
    /// stays in use here is one every later client has lost. Polls within `timeout`: the gateway learns
    /// that a client left a moment after the client does.
    func expectUpstreamConnectionsReturned(
        timeout: Double = 10, sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) async {
        let deadline = Date().addingTimeInterval(timeout)
        var busy: [UpstreamTargetCounts] = []
        repeat {
            busy = await server.upstreamConnectionCounts().filter {
                $0.counts.inUse > 0 || $0.counts.queued > 0 || $0.counts.connecting > 0
            }
            if busy.isEmpty { return }
            try? await Task.sleep(nanoseconds: 50_000_000)
        } while Date() < deadline
        Issue.record(
            "upstream connections still in use \(timeout) s after the test: \(busy.map { "\($0.upstream) \($0.target): \($0.counts)" })",
            sourceLocation: sourceLocation)
    }

    func shutdown() async {
        await server.shutdown(drainTimeout: .seconds(1))
        try? await group.shutdownGracefully()
        for process in upstreams.values.flatMap({ $0 }) { await process.stop() }
        closedPorts.forEach { $0.close() }
        try? FileManager.default.removeItem(atPath: directory)
    }

    // MARK: Tokens

    /// A signed JWT. Defaults: RS256 key `rsa-1`, the configured issuer and audience, `sub` alice,
    /// scope `read:data`, issued now, valid 10 minutes. Pass `nil` to leave a claim out.
    func token(
        sub: String? = "alice", scope: String? = "read:data", roles: [String]? = nil,
        aud: JSONValue? = .string(E2EFixtures.audience), iss: String? = E2EFixtures.issuer,
        expiresIn: Double? = 600, key: JWSKey? = nil, extra: [String: JSONValue] = [:]
    ) throws -> String {
        let now = Int64(Date().timeIntervalSince1970)
        var claims = extra
        claims["iat"] = .int(now)
        if let sub { claims["sub"] = .string(sub) }
        if let scope { claims["scope"] = .string(scope) }
        if let roles { claims["roles"] = .array(roles.map { .string($0) }) }
        if let aud { claims["aud"] = aud }
        if let iss { claims["iss"] = .string(iss) }
        if let expiresIn { claims["exp"] = .int(now + Int64(expiresIn)) }
        return try JWTSigner.sign(claims: claims, key: key ?? fixtures.rsaKey)
    }

    /// `Authorization: Bearer <token>`.
    func bearer(_ token: String) -> String { "Authorization: Bearer \(token)" }
}
