import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import UnixSignals

/// The gateway as a long-running `Service`: loads everything, serves, reloads on SIGHUP, and on
/// graceful shutdown (SIGTERM/SIGINT via the `ServiceGroup`) drains in-flight requests.
public struct GatewayService: Service {
    let source: ConfigurationSource
    let observer: GatewayObserver?
    let logger: Logger

    /// Where the configuration comes from: a YAML file (reloadable) or a value built in code (the demo).
    public enum ConfigurationSource: Sendable {
        case file(String)
        case value(GatewayConfiguration)
    }

    public init(source: ConfigurationSource, observer: GatewayObserver? = nil, logger: Logger) {
        self.source = source
        self.observer = observer
        self.logger = logger
    }

    public func run() async throws {
        let loader = SnapshotLoader(source: source)
        let snapshot = try loader.load(keyGeneration: 1)
        let metrics = GatewayMetrics()
        let accessLog = try self.observer ?? AccessLog.observer(for: snapshot.configuration.logging)
        let observer = CompositeObserver([accessLog, MetricsObserver(metrics: metrics)])
        let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        let server = try await GatewayServer.start(
            snapshot: snapshot, group: group, observer: observer, metrics: metrics, logger: logger)

        var admin: AdminServer?
        if let listener = snapshot.configuration.admin {
            admin = try await AdminServer.start(
                address: listener.address, port: listener.port, group: group, metrics: metrics, gateway: server)
            logger.info("admin listening", metadata: ["admin.address": "\(listener.address)", "admin.port": "\(admin?.port ?? 0)"])
        }
        logger.info("ready", metadata: ["routes": "\(snapshot.policy.routes.count)", "ports": "\(server.ports)"])
        await withTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                await reloadOnHangup(server: server, loader: loader, metrics: metrics)
            }

            try? await gracefulShutdown()
            tasks.cancelAll()
        }
        let cut = await server.shutdown()
        await admin?.stop()
        logger.info("drained", metadata: ["connections.cut": "\(cut)"])
        try await group.shutdownGracefully()
    }

    /// Each SIGHUP: validate everything, then swap; a broken file keeps the old snapshot serving.
    private func reloadOnHangup(server: GatewayServer, loader: SnapshotLoader, metrics: GatewayMetrics) async {
        var generation: UInt64 = 1
        for await _ in await UnixSignalsSequence(trapping: .sighup) {
            generation += 1
            do {
                let snapshot = try loader.load(keyGeneration: generation)
                let tls = try snapshot.configuration.listeners.map { try TLSContextFactory.makeContext($0.tls, http2: $0.http2) }
                try await server.reload(snapshot, tls: tls)
                metrics.recordReload(succeeded: true)
                logger.info("reloaded", metadata: ["routes": "\(snapshot.policy.routes.count)", "generation": "\(generation)"])
            } catch {
                metrics.recordReload(succeeded: false)
                logger.error("reload failed; the previous configuration keeps serving", metadata: ["error": "\(error)"])
            }
        }
    }
}

/// Reads the configuration (file or value) and builds a snapshot from it; remote key sets survive reloads.
struct SnapshotLoader: Sendable {
    let source: GatewayService.ConfigurationSource
    let remoteKeys = RemoteKeyRegistry()

    func load(keyGeneration: UInt64) throws -> GatewaySnapshot {
        let configuration: GatewayConfiguration
        switch source {
        case .file(let path): configuration = try GatewayConfigurationLoader.load(file: path)
        case .value(let value): configuration = value
        }
        return try GatewaySnapshot.load(configuration: configuration, keyGeneration: keyGeneration, remoteKeys: remoteKeys)
    }
}


extension AccessLog {
    /// The access log the logging configuration asks for (`off`: none).
    static func observer(for logging: GatewayConfiguration.Logging) throws -> GatewayObserver {
        logging.accessLog == "off" ? SilentObserver() : try AccessLog(destination: logging.accessLog)
    }
}
