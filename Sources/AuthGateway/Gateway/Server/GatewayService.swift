import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import UnixSignals
import GatewayConfig
import GatewayObservability
import GatewayAuth

/// The gateway as a long-running `Service`: loads everything, serves, reloads on SIGHUP, and on
/// graceful shutdown (SIGTERM/SIGINT via the `ServiceGroup`) drains in-flight requests.
package struct GatewayService: Service {
    let source: ConfigurationSource
    let observer: GatewayObserver?
    let logger: Logger
    /// How often files are checked for changes (0 turns watching off).
    let watchInterval: Double

    /// Where the configuration comes from: a YAML file (reloadable) or a value built in code (the demo).
    package enum ConfigurationSource: Sendable {
        case file(String)
        case value(GatewayConfiguration)
    }

    package init(source: ConfigurationSource, observer: GatewayObserver? = nil, watchInterval: Double = 2, logger: Logger) {
        self.source = source
        self.observer = observer
        self.watchInterval = watchInterval
        self.logger = logger
    }

    package func run() async throws {
        let loader = SnapshotLoader(source: source)
        let snapshot = try loader.load(keyGeneration: 1)
        var configurationFile: String?
        if case .file(let path) = source { configurationFile = path }
        // The files as loaded, taken before anything listens: an edit made once the port is open is a change.
        let loadedFiles = ConfigurationFiles(configurationFile: configurationFile, configuration: snapshot.configuration)
        var logger = self.logger
        let logging = snapshot.configuration.logging
        if let level = Logger.Level(rawValue: logging.level) { logger.logLevel = level }
        GatewayLogging.standardError.format = logging.format
        GatewayLogging.standardError.writer.capacity = logging.maxPendingBytes
        // In the configured format: with `format: json` a text line first would break a JSON log shipper.
        for warning in snapshot.warnings {
            logger.warning("configuration warning", metadata: ["warning": "\(warning)"])
        }
        let metrics = GatewayMetrics()
        metrics.countDrops(of: GatewayLogging.standardError.writer, as: "gateway_application_log_dropped_total")
        let accessLog = logging.accessLog == "off" || self.observer != nil
            ? nil : try AccessLog(destination: logging.accessLog, bufferBytes: logging.maxPendingBytes)
        if let accessLog {
            metrics.countDrops(of: accessLog.writer, as: "gateway_access_log_dropped_total")
            accessLog.writer.setDropHandler { [logger] dropped in
                logger.warning("the access log's destination is not keeping up; lines are dropped and counted in gateway_access_log_dropped_total",
                               metadata: ["access_log.dropped": "\(dropped)"])
            }
        }
        let observer = CompositeObserver([self.observer ?? accessLog ?? SilentObserver(), MetricsObserver(metrics: metrics)])
        // Trapped before anything listens: a SIGHUP (a reload) or SIGUSR1 (logrotate) that arrives while the
        // gateway starts would otherwise end the process (their default action).
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        let rotations = await UnixSignalsSequence(trapping: .sigusr1)
        let loops = EventLoopCount.automatic
        metrics.recordEventLoops(loops)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: loops)
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
            let reloader = Reloader(
                server: server, loader: loader, configurationFile: configurationFile, loadedFiles: loadedFiles,
                metrics: metrics, logger: logger)
            tasks.addTask {
                for await _ in hangups {
                    await reloader.reload(reason: "SIGHUP")
                }
            }
            tasks.addTask { [logger] in
                // logrotate: the file was moved away; write to a new one at the configured path. Trapped
                // whatever the destination: SIGUSR1's default action would end the process.
                for await _ in rotations {
                    if let accessLog, case .file(let path) = accessLog.writer.destination {
                        do {
                            try accessLog.writer.reopen()
                            logger.info(
                                "access log reopened", metadata: ["reason": "SIGUSR1", "access_log.path": "\(path)"])
                        } catch {
                            logger.error(
                                "access log not reopened; lines go on into the file it had open",
                                metadata: ["reason": "SIGUSR1", "access_log.path": "\(path)", "error": "\(error)"])
                        }
                    } else {
                        logger.info("SIGUSR1: no access log file to reopen", metadata: ["reason": "SIGUSR1"])
                    }
                }
            }
            if watchInterval > 0, configurationFile != nil {
                tasks.addTask {
                    await reloader.watch(every: watchInterval)
                }
            }

            try? await gracefulShutdown()
            tasks.cancelAll()
        }
        let cut = await server.shutdown()
        await admin?.stop()
        // Bounded: a log reader that stopped reading must not keep the process from exiting.
        await accessLog?.writer.shutdown(timeout: 2)
        logger.info("drained", metadata: ["connections.cut": "\(cut)"])
        try await group.shutdownGracefully()
        await GatewayLogging.standardError.writer.waitUntilWritten(timeout: 2)
    }
}

/// Reloads: validate everything, then swap; a broken file keeps the old snapshot serving, is logged
/// with its file:line, and is counted. One reload at a time, and one per change: SIGHUP and the file watcher
/// share the fingerprint of the files as of the last reload, so a change both see is reloaded (or refused)
/// once. A change that only a restart applies (listeners, the admin listener, logging) is said so.
actor Reloader {
    let server: GatewayServer
    let loader: SnapshotLoader
    let metrics: GatewayMetrics
    let logger: Logger
    let configurationFile: String?
    private var generation: UInt64 = 1
    /// The files as of the last reload (or start): what the watcher compares with.
    private var seen: ConfigurationFiles

    init(
        server: GatewayServer, loader: SnapshotLoader, configurationFile: String?, loadedFiles: ConfigurationFiles,
        metrics: GatewayMetrics, logger: Logger
    ) {
        self.server = server
        self.loader = loader
        self.configurationFile = configurationFile
        self.metrics = metrics
        self.logger = logger
        seen = loadedFiles
    }

    private func currentFiles() -> ConfigurationFiles {
        ConfigurationFiles(configurationFile: configurationFile, configuration: server.snapshot.configuration)
    }

    /// Reloads if any file changed since the last reload; `quietly` (the watcher) says nothing otherwise.
    func reload(reason: String, quietly: Bool = false) async {
        // Taken before loading: a change made while this reload reads the files is seen by the next check.
        let files = currentFiles()
        guard files != seen else {
            if !quietly { logger.info("nothing changed since the last reload", metadata: ["reason": "\(reason)"]) }
            return
        }
        seen = files
        generation += 1
        let running = server.snapshot.configuration
        do {
            let snapshot = try loader.load(keyGeneration: generation)
            let tls = try snapshot.configuration.listeners.map { try TLSContextFactory.makeContext($0.tls, http2: $0.http2, locations: snapshot.configuration.pathLocations) }
            try await server.reload(snapshot, tls: tls)
            metrics.recordReload(succeeded: true)
            for warning in snapshot.warnings { logger.warning("configuration warning", metadata: ["warning": "\(warning)"]) }
            logger.info("reloaded", metadata: [
                "reason": "\(reason)", "routes": "\(snapshot.policy.routes.count)", "generation": "\(generation)",
            ])
            let pending = RestartOnlySettings.changed(from: running, to: snapshot.configuration)
            if !pending.isEmpty {
                logger.warning("these settings changed but apply only after a restart; the running values stay", metadata: [
                    "settings": "\(pending.joined(separator: ", "))",
                ])
            }
            // Files the new configuration reads (a new key file, say) are watched from now on.
            seen = currentFiles()
        } catch {
            metrics.recordReload(succeeded: false)
            logger.error("reload failed; the previous configuration keeps serving", metadata: [
                "reason": "\(reason)", "error": "\(error)",
            ])
        }
    }

    /// Polls the configuration's files and reloads when any changed since the last reload (written,
    /// replaced, added, removed).
    func watch(every interval: Double) async {
        while !Task.isCancelled {
            try? await Task.sleep(nanoseconds: UInt64(interval * 1e9))
            await reload(reason: "files changed", quietly: true)
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


