import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A real `redis-server` (Debian's, installed by `scripts/setup`) for one test: loopback only, on a free
/// port, no persistence, in the test's directory; stopped by its PID. ``kill()`` and ``restart()`` take it away
/// and bring it back on the same port, ``pause()``/``resume()`` freeze it (SIGSTOP/SIGCONT) to make it slow.
package final class RedisServer: @unchecked Sendable {
    package static let executable = "/usr/bin/redis-server"
    package static let cli = "/usr/bin/redis-cli"

    package let port: Int
    package let directory: String
    package let password: String?
    private let lock = NSLock()
    private var process: ChildProcess

    private init(port: Int, directory: String, password: String?, process: ChildProcess) {
        self.port = port
        self.directory = directory
        self.password = password
        self.process = process
    }

    /// Starts a server on a free loopback port (trying a few, since the port is picked before Redis binds it).
    package static func start(in directory: String, password: String? = nil) async throws -> RedisServer {
        var lastError: Error?
        for _ in 0..<5 {
            let port = try freePort()
            do {
                let process = try await launch(port: port, directory: directory, password: password)
                return RedisServer(port: port, directory: directory, password: password, process: process)
            } catch {
                lastError = error
            }
        }
        throw lastError ?? HarnessError("redis-server did not start")
    }

    private static func launch(port: Int, directory: String, password: String?) async throws -> ChildProcess {
        var arguments = [
            "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", directory,
            "--daemonize", "no", "--logfile", "", "--loglevel", "notice",
        ]
        if let password { arguments += ["--requirepass", password] }
        let process = try ChildProcess(executable, arguments, label: "redis-\(port)", directory: directory)
        try await process.wait(for: "Redis ready", timeout: 10) { $0.stdoutText.contains("Ready to accept connections") }
        return process
    }

    /// A loopback port free right now.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard ok else { throw HarnessError("bind() failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    private var current: ChildProcess { lock.withLock { process } }

    /// SIGKILL: Redis is gone at once, connections reset.
    package func kill() async {
        current.signal(SIGKILL)
        _ = await current.waitForExit(timeout: 5)
    }

    /// Starts Redis again on the same port (empty: no persistence).
    package func restart() async throws {
        let process = try await Self.launch(port: port, directory: directory, password: password)
        lock.withLock { self.process = process }
    }

    package func pause() { current.signal(SIGSTOP) }
    package func resume() { current.signal(SIGCONT) }

    /// `redis-cli` with `arguments` against this server; its standard output.
    package func cli(_ arguments: [String]) throws -> String {
        let auth = password.map { ["-a", $0, "--no-auth-warning"] } ?? []
        let result = try Command.runBlocking(Self.cli, ["-h", "127.0.0.1", "-p", String(port)] + auth + arguments, directory: directory)
        return result.stdoutText
    }

    package func stop() async {
        resume()
        await current.stop()
    }
}
