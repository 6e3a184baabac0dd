import Foundation
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// A real edge proxy (Debian's nginx or Caddy) in front of the recording upstream, asking the gateway's
/// decision listener about every request. Its configuration is the shipped snippet in `deploy/`, read verbatim
/// with only its documented placeholder values (ports, file paths, names) replaced. Runs as its own process
/// with its own configuration and state directory, on loopback ports, and is stopped by its PID.
final class EdgeProxy: GatewayEndpoint, @unchecked Sendable {
    enum Kind: String, Sendable, CaseIterable, CustomStringConvertible {
        case nginx, caddy
        var description: String { rawValue }

        var executable: String { self == .nginx ? "/usr/sbin/nginx" : "/usr/bin/caddy" }

        /// The shipped snippet, relative to the repository root.
        var snippet: String { self == .nginx ? "deploy/nginx/auth-gateway-decision.conf" : "deploy/caddy/Caddyfile" }
    }

    /// Where the proxy sends decision requests and requests that may pass.
    struct Wiring: Sendable {
        var decisionPort: Int
        var upstreamPort: Int
    }

    let kind: Kind
    let port: Int
    let directory: String
    let caFile: String
    private let child: ChildProcess

    private init(kind: Kind, port: Int, directory: String, caFile: String, child: ChildProcess) {
        self.kind = kind
        self.port = port
        self.directory = directory
        self.caFile = caFile
        self.child = child
    }

    /// The snippet with its placeholder values replaced; every placeholder must still be in it (a changed
    /// snippet fails here, loudly, rather than testing something else).
    static func configuration(_ kind: Kind, port: Int, wiring: Wiring) throws -> String {
        let fixtures = E2EFixtures.shared
        var text = try String(contentsOfFile: TestTools.repositoryRoot + "/" + kind.snippet, encoding: .utf8)
        let common: [(String, String)] = [
            ("127.0.0.1:9443", "127.0.0.1:\(wiring.decisionPort)"),
            ("127.0.0.1:8080", "127.0.0.1:\(wiring.upstreamPort)"),
            ("auth-gateway.internal", "localhost"),
        ]
        let specific: [(String, String)]
        switch kind {
        case .nginx:
            specific = [
                ("listen 443 ssl;", "listen 127.0.0.1:\(port) ssl;"),
                ("/etc/nginx/tls/site.pem", fixtures.certificateFile),
                ("/etc/nginx/tls/site.key", fixtures.privateKeyFile),
                ("/etc/nginx/tls/auth-gateway-ca.pem", fixtures.caFile),
            ]
        case .caddy:
            specific = [
                ("api.example.com {", "https://127.0.0.1:\(port) {"),
                ("/etc/caddy/tls/site.pem", fixtures.certificateFile),
                ("/etc/caddy/tls/site.key", fixtures.privateKeyFile),
                ("/etc/caddy/tls/auth-gateway-ca.pem", fixtures.caFile),
            ]
        }
        for (placeholder, value) in common + specific {
            guard text.contains(placeholder) else {
                throw HarnessError("\(kind.snippet) no longer contains `\(placeholder)`; update the test's template")
            }
            text = text.replacingOccurrences(of: placeholder, with: value)
        }
        return text
    }

    /// Starts the proxy on a fresh loopback port and waits (bounded) until it accepts connections.
    static func start(_ kind: Kind, wiring: Wiring) async throws -> EdgeProxy {
        try TestTools.requireExecutable(kind.executable)
        var lastError: Error?
        // A port is chosen by binding port 0 and closing it; should another process take it in between, retry.
        for _ in 0..<3 {
            let directory = try TestTools.temporaryDirectory(prefix: "edge-\(kind)")
            let port = try freeLoopbackPort()
            do {
                return try await launch(kind, port: port, wiring: wiring, directory: directory)
            } catch {
                lastError = error
            }
        }
        throw lastError ?? HarnessError("\(kind) did not start")
    }

    private static func launch(_ kind: Kind, port: Int, wiring: Wiring, directory: String) async throws -> EdgeProxy {
        let site = try configuration(kind, port: port, wiring: wiring)
        let child: ChildProcess
        switch kind {
        case .nginx:
            try site.write(toFile: directory + "/auth-gateway-decision.conf", atomically: true, encoding: .utf8)
            try nginxMain(directory).write(toFile: directory + "/nginx.conf", atomically: true, encoding: .utf8)
            child = try ChildProcess(
                kind.executable, ["-p", directory + "/", "-c", directory + "/nginx.conf", "-e", directory + "/error.log"],
                label: "nginx", directory: directory)
        case .caddy:
            try (caddyGlobalOptions(directory) + site).write(toFile: directory + "/Caddyfile", atomically: true, encoding: .utf8)
            child = try ChildProcess(
                kind.executable, ["run", "--config", directory + "/Caddyfile", "--adapter", "caddyfile"],
                label: "caddy", directory: directory,
                environment: ["HOME": directory, "XDG_DATA_HOME": directory + "/data", "XDG_CONFIG_HOME": directory + "/config",
                              "PATH": "/usr/bin:/bin"])
        }
        let proxy = EdgeProxy(kind: kind, port: port, directory: directory, caFile: E2EFixtures.shared.caFile, child: child)
        do {
            try await proxy.waitUntilAccepting(timeout: 15)
        } catch {
            await proxy.stop()
            throw error
        }
        return proxy
    }

    /// nginx's main configuration around the snippet: one foreground process, everything in `directory`.
    private static func nginxMain(_ directory: String) -> String {
        """
        daemon off;
        master_process off;
        worker_processes 1;
        pid \(directory)/nginx.pid;
        error_log \(directory)/error.log info;
        events { worker_connections 128; }
        http {
            access_log \(directory)/access.log;
            client_body_temp_path \(directory)/client_body;
            proxy_temp_path \(directory)/proxy;
            fastcgi_temp_path \(directory)/fastcgi;
            uwsgi_temp_path \(directory)/uwsgi;
            scgi_temp_path \(directory)/scgi;
            include \(directory)/auth-gateway-decision.conf;
        }

        """
    }

    /// Caddy's global options for a test: no admin endpoint (no fixed port 2019), loopback only, no ACME, no
    /// trust store changes, state in `directory`.
    private static func caddyGlobalOptions(_ directory: String) -> String {
        """
        {
        \tadmin off
        \tdefault_bind 127.0.0.1
        \tauto_https off
        \tskip_install_trust
        \tstorage file_system \(directory)/storage
        }

        """
    }

    private func waitUntilAccepting(timeout: Double) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            guard child.isRunning else {
                throw HarnessError("\(kind) exited: \(child.stderrText) \(errorLog)")
            }
            if Self.accepts(port) { return }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        throw HarnessError("\(kind) did not accept connections on \(port) within \(timeout) s: \(child.stderrText) \(errorLog)")
    }

    /// nginx's error log (its reasons for a 500), or Caddy's standard error.
    var errorLog: String {
        switch kind {
        case .nginx: return (try? String(contentsOfFile: directory + "/error.log", encoding: .utf8)) ?? ""
        case .caddy: return child.stderrText
        }
    }

    var isRunning: Bool { child.isRunning }

    func stop() async {
        await child.stop(grace: 5)
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Whether a TCP connection to 127.0.0.1:`port` is accepted.
    private static func accepts(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return result == 0
    }

    /// A loopback port nothing listens on right now.
    private static func freeLoopbackPort() throws -> Int {
        let held = try ClosedLoopbackPort()
        defer { held.close() }
        return held.port
    }
}
