import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the end-to-end tests find their tools: the Python helpers, the built gateway, the CLIs.
enum E2EPaths {
    /// The repository root, from this file's path (Tests/AuthGatewayTests/EndToEnd/Support/ChildProcess.swift).
    static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<5 { url.deleteLastPathComponent() }
        return url.path
    }()

    static let scripts = repositoryRoot + "/Tests/e2e"

    /// The system Python (a pyenv shim costs a second per start on a busy machine).
    static let python: (executable: String, prefix: [String]) = {
        FileManager.default.isExecutableFile(atPath: "/usr/bin/python3")
            ? ("/usr/bin/python3", []) : ("/usr/bin/env", ["python3"])
    }()

    static let curl = "/usr/bin/curl"
    static let openssl = "/usr/bin/openssl"

    /// The `auth-gateway` executable of the build that runs these tests: next to the test bundle, or
    /// `AUTH_GATEWAY_BINARY`, or `.build-e2e/debug/auth-gateway`.
    static var gatewayBinary: String? {
        var candidates: [String] = []
        if let explicit = ProcessInfo.processInfo.environment["AUTH_GATEWAY_BINARY"] { candidates.append(explicit) }
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        candidates.append(bundle.appendingPathComponent("auth-gateway").path)
        candidates.append(bundle.deletingLastPathComponent().appendingPathComponent("auth-gateway").path)
        candidates.append(repositoryRoot + "/.build-e2e/debug/auth-gateway")
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}

/// Errors of the harness itself (not of the gateway under test).
struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A child process whose output goes to files (no pipes to fill up), stopped by its own PID.
///
/// Every wait is bounded; `deinit` kills a process that is still running, so a failed test leaves
/// nothing behind.
final class ChildProcess: @unchecked Sendable {
    let process: Process
    let stdoutPath: String
    let stderrPath: String
    let label: String

    /// Starts `executable`; stdin comes from `stdinPath` (or /dev/null).
    init(
        _ executable: String, _ arguments: [String], label: String? = nil, stdinPath: String? = nil,
        directory: String, environment: [String: String]? = nil
    ) throws {
        let id = UUID().uuidString.prefix(8)
        self.label = label ?? URL(fileURLWithPath: executable).lastPathComponent
        stdoutPath = directory + "/\(self.label)-\(id).out"
        stderrPath = directory + "/\(self.label)-\(id).err"
        _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        if let environment { process.environment = environment }
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: stdoutPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        if let stdinPath {
            process.standardInput = FileHandle(forReadingAtPath: stdinPath)
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        try process.run()
    }

    /// A Python script from Tests/e2e.
    static func python(_ script: String, _ arguments: [String], directory: String, label: String? = nil) throws
        -> ChildProcess
    {
        let (executable, prefix) = E2EPaths.python
        return try ChildProcess(
            executable, prefix + ["-u", E2EPaths.scripts + "/" + script] + arguments,
            label: label ?? URL(fileURLWithPath: script).deletingPathExtension().lastPathComponent, directory: directory)
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    var stdout: Data { FileManager.default.contents(atPath: stdoutPath) ?? Data() }
    var stderr: Data { FileManager.default.contents(atPath: stderrPath) ?? Data() }
    var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    var stderrText: String { String(decoding: stderr, as: UTF8.self) }

    /// The exit status, `nil` if it did not exit within `timeout` seconds. A death by signal is `128 + signal`.
    @discardableResult
    func waitForExit(timeout: Double) async -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning {
            if Date() > deadline { return nil }
            try? await Task.sleep(nanoseconds: 10_000_000)
        }
        return exitStatus
    }

    /// After exit: the status, or `128 + signal` for a death by signal.
    var exitStatus: Int32? {
        guard !process.isRunning else { return nil }
        return process.terminationReason == .exit ? process.terminationStatus : 128 + process.terminationStatus
    }

    /// Waits until `condition` holds on the process (e.g. a line on stdout), or the time is up.
    func wait(for what: String, timeout: Double, _ condition: (ChildProcess) -> Bool) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while !condition(self) {
            if !process.isRunning, !condition(self) {
                throw HarnessError("\(label) exited (\(exitStatus ?? -1)) before \(what); stderr: \(stderrText.suffix(2000))")
            }
            if Date() > deadline {
                throw HarnessError("\(label): no \(what) within \(timeout) s; stderr: \(stderrText.suffix(2000))")
            }
            try await Task.sleep(nanoseconds: 10_000_000)
        }
    }

    func signal(_ signal: Int32) {
        if process.isRunning { kill(pid, signal) }
    }

    /// SIGTERM, then SIGKILL if it has not gone after `grace` seconds.
    func stop(grace: Double = 2) async {
        guard process.isRunning else { return }
        kill(pid, SIGTERM)
        if await waitForExit(timeout: grace) == nil {
            kill(pid, SIGKILL)
            await waitForExit(timeout: 2)
        }
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

/// The result of a short-lived command.
struct CommandResult: Sendable {
    let status: Int32
    let stdout: Data
    let stderr: Data
    var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    var stderrText: String { String(decoding: stderr, as: UTF8.self) }
}

enum Command {
    /// Runs a command to completion (killed after `timeout` seconds, which is an error).
    static func run(
        _ executable: String, _ arguments: [String], stdin: Data? = nil, directory: String, timeout: Double = 30,
        label: String? = nil
    ) async throws -> CommandResult {
        var stdinPath: String?
        if let stdin {
            let path = directory + "/stdin-\(UUID().uuidString.prefix(8))"
            try stdin.write(to: URL(fileURLWithPath: path))
            stdinPath = path
        }
        let child = try ChildProcess(executable, arguments, label: label, stdinPath: stdinPath, directory: directory)
        defer {
            for path in [child.stdoutPath, child.stderrPath] + (stdinPath.map { [$0] } ?? []) {
                try? FileManager.default.removeItem(atPath: path)
            }
        }
        guard let status = await child.waitForExit(timeout: timeout) else {
            await child.stop(grace: 0.5)
            throw HarnessError("\(child.label) \(arguments.joined(separator: " ")) did not finish within \(timeout) s")
        }
        return CommandResult(status: status, stdout: child.stdout, stderr: child.stderr)
    }

    /// `run` without the `async`, for one-time fixtures built in a static initializer.
    static func runBlocking(_ executable: String, _ arguments: [String], directory: String) throws -> CommandResult {
        let child = try ChildProcess(executable, arguments, directory: directory)
        let deadline = Date().addingTimeInterval(60)
        while child.isRunning {
            if Date() > deadline {
                child.signal(SIGKILL)
                throw HarnessError("\(executable) did not finish")
            }
            usleep(5_000)
        }
        defer {
            try? FileManager.default.removeItem(atPath: child.stdoutPath)
            try? FileManager.default.removeItem(atPath: child.stderrPath)
        }
        return CommandResult(status: child.exitStatus ?? -1, stdout: child.stdout, stderr: child.stderr)
    }
}

/// A loopback port nothing listens on: connecting to it is refused. The socket stays bound (never listening)
/// until ``close()``, so the kernel cannot hand the port to another test's server meanwhile (a bound-then-
/// closed port could become another test's upstream and receive this test's traffic).
final class ClosedLoopbackPort: @unchecked Sendable {
    let port: Int
    private var fd: Int32

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket() failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard bound == 0, named == 0 else {
            Glibc.close(fd)
            throw HarnessError("bind() or getsockname() failed")
        }
        self.fd = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() {
        guard fd >= 0 else { return }
        Glibc.close(fd)
        fd = -1
    }

    deinit { close() }
}

/// Resident memory of a process from /proc (kB): `VmRSS` now, `VmHWM` the peak.
func procStatus(_ pid: Int32, _ field: String) -> Int? {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
    for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
        // "VmHWM:\t   12345 kB"
        return Int(line.dropFirst(field.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "")
    }
    return nil
}
