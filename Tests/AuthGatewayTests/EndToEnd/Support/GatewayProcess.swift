import Foundation
import TestSupport
import Testing

import GatewayPolicy

#if canImport(Glibc)
import Glibc
#endif

/// The real `auth-gateway` executable, configured by a YAML file in a temp dir.
enum GatewayBinary {
    /// The built executable, or a clear reason why the test cannot run it.
    static func path() throws -> String {
        guard let path = E2EPaths.gatewayBinary else {
            throw HarnessError(
                "no auth-gateway executable next to the test bundle; run `swift build --scratch-path .build-e2e` first")
        }
        return path
    }

    /// A complete configuration file for the shared fixtures, one upstream `svc`, the admin listener on a
    /// loopback port of the system's choosing (for the leak check of ``GatewayProcess/stop()``).
    static func configuration(
        upstream: [String], accessLog: String = "access.log", limits: String = "max_body_bytes: 64MiB",
        upstreamSettings: String = ""
    ) -> String {
        let fixtures = E2EFixtures.shared
        return """
            listeners:
              - address: 127.0.0.1
                port: 0
                tls:
                  certificate_chain: \(fixtures.certificateFile)
                  private_key: \(fixtures.privateKeyFile)
                http2: true
            admin: { address: 127.0.0.1, port: 0 }
            issuers:
              - issuer: "\(E2EFixtures.issuer)"
                audiences: [\(E2EFixtures.audience)]
                keys:
                  - { file: \(fixtures.jwksFile) }
                  - { file: \(fixtures.hmacFile) }
            upstreams:
              svc:
                targets: [\(upstream.joined(separator: ", "))]
                response_timeout: 10s
                \(upstreamSettings)
            limits:
              \(limits)
              drain_timeout: 2s
            policies: policies/
            logging: { level: info, access_log: \(accessLog) }

            """
    }

    /// Writes `config` and the policy into a fresh directory; returns the config path.
    static func writeConfiguration(_ config: String, policy: String = standardPolicy, in directory: String) throws
        -> String
    {
        try FileManager.default.createDirectory(atPath: directory + "/policies", withIntermediateDirectories: true)
        try policy.write(toFile: directory + "/policies/test.yaml", atomically: true, encoding: .utf8)
        let path = directory + "/gateway.yaml"
        try config.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// `auth-gateway check --config FILE`.
    static func check(_ configPath: String, directory: String) async throws -> CommandResult {
        try await Command.run(try path(), ["check", "--config", configPath], directory: directory, timeout: 30)
    }
}

/// `auth-gateway serve --config FILE` as a child process; its port is read from its log
/// (`listener.port=N` on stderr).
final class GatewayProcess: GatewayEndpoint, @unchecked Sendable {
    let directory: String
    let port: Int
    let child: ChildProcess

    /// The admin listener's port, when the configuration has one (`admin.port=N` in the log).
    var adminPort: Int? { Self.loggedPort("admin.port=", child.stderrText) }

    var caFile: String { E2EFixtures.shared.caFile }
    var pid: Int32 { child.pid }

    private init(directory: String, port: Int, child: ChildProcess) {
        self.directory = directory
        self.port = port
        self.child = child
    }

    /// Starts `auth-gateway serve`; its standard output goes to `standardOutput` when given (else a file),
    /// standard error always to a file (the harness reads the ports from it).
    static func start(configPath: String, directory: String, standardOutput: FileHandle? = nil) async throws -> GatewayProcess {
        let child = try ChildProcess(
            try GatewayBinary.path(), ["serve", "--config", configPath], label: "auth-gateway", directory: directory,
            standardOutput: standardOutput)
        do {
            try await child.wait(for: "a listening port", timeout: 30) { Self.listeningPort($0.stderrText) != nil }
        } catch {
            await child.stop(grace: 0.5)
            throw error
        }
        return GatewayProcess(directory: directory, port: Self.listeningPort(child.stderrText)!, child: child)
    }

    /// The first `listener.port=N` (N > 0) in the gateway's log.
    static func listeningPort(_ log: String) -> Int? {
        loggedPort("listener.port=", log)
    }

    /// `key=N` in a text record, `"key":"N"` in a JSON one (`logging.format: json`).
    private static func loggedPort(_ key: String, _ log: String) -> Int? {
        let json = "\"" + key.dropLast() + "\":\""
        for line in log.split(separator: "\n") {
            guard let range = line.range(of: key) ?? line.range(of: json) else { continue }
            let digits = line[range.upperBound...].prefix { $0.isNumber }
            if let port = Int(digits), port > 0 { return port }
        }
        return nil
    }

    /// Peak resident memory so far (kB).
    var peakResidentKilobytes: Int? { procStatus(pid, "VmHWM") }
    var residentKilobytes: Int? { procStatus(pid, "VmRSS") }

    /// Stops the process; while it still runs, first checks the availability invariant of
    /// ``GatewayHarness/expectUpstreamConnectionsReturned(timeout:sourceLocation:)`` through `/metrics`.
    func stop(sourceLocation: Testing.SourceLocation = #_sourceLocation) async {
        if child.isRunning, adminPort != nil {
            await expectUpstreamConnectionsReturned(sourceLocation: sourceLocation)
        }
        await child.stop(grace: 5)
    }

    /// The admin listener's `/metrics` text.
    func metricsText() async throws -> String {
        guard let adminPort else { throw HarnessError("no admin listener") }
        let result = try await Command.run(
            E2EPaths.curl, ["-sS", "--max-time", "5", "http://127.0.0.1:\(adminPort)/metrics"], directory: directory,
            timeout: 10, label: "curl-metrics")
        guard result.status == 0 else { throw HarnessError("GET /metrics: \(result)") }
        return result.stdoutText
    }

    /// The sum of every sample of metric `name` (all label sets); 0 when absent.
    func metric(_ name: String) async throws -> Double {
        try await metricsText().split(separator: "\n").reduce(0) { sum, line in
            guard line.hasPrefix(name + " ") || line.hasPrefix(name + "{"),
                let value = line.split(separator: " ").last.flatMap({ Double($0) })
            else { return sum }
            return sum + value
        }
    }

    /// No upstream connection in use, connecting or waited for, per `/metrics` (bounded wait).
    func expectUpstreamConnectionsReturned(timeout: Double = 10, sourceLocation: Testing.SourceLocation = #_sourceLocation) async {
        guard adminPort != nil else {
            Issue.record("no admin listener to read the upstream pool from", sourceLocation: sourceLocation)
            return
        }
        let deadline = Date().addingTimeInterval(timeout)
        var busy: [String] = []

        repeat {
            let text = try? await metricsText()
            busy = Self.busyPoolLines(text ?? "")
            if text != nil, busy.isEmpty { return }
            try? await Task.sleep(nanoseconds: 100_000_000)
        } while Date() < deadline
        Issue.record("upstream connections still in use \(timeout) s after the test: \(busy)", sourceLocation: sourceLocation)
    }

    /// The pool gauge lines of `/metrics` that are not zero: in-use or connecting connections, queued requests.
    static func busyPoolLines(_ metrics: String) -> [String] {
        metrics.split(separator: "\n").map(String.init).filter { line in
            let pool = line.hasPrefix("gateway_upstream_queued_requests{")
                || (line.hasPrefix("gateway_upstream_connections{") && !line.contains(#"state="idle""#))
            guard pool, let value = line.split(separator: " ").last.flatMap({ Double($0) }) else { return false }
            return value != 0
        }
    }
}

/// Runs `body`, then stops `gateway` and `upstream`, also when `body` throws: a failed expectation must not
/// leave the processes behind. What the gateway's stop finds wrong is reported at the caller's line.
func stopping(
    _ gateway: GatewayProcess, _ upstream: RecordingUpstream,
    sourceLocation: Testing.SourceLocation = #_sourceLocation, after body: () async throws -> Void
) async throws {
    do {
        try await body()
    } catch {
        await gateway.stop(sourceLocation: sourceLocation)
        await upstream.stop()
        throw error
    }
    await gateway.stop(sourceLocation: sourceLocation)
    await upstream.stop()
}
