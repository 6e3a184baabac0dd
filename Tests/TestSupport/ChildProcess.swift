import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Errors of the harness itself (not of the gateway under test).
package struct HarnessError: Error, CustomStringConvertible {
    package let description: String
    package init(_ description: String) { self.description = description }
}

/// A child process whose output goes to files (no pipes to fill up), stopped by its own PID.
///
/// Every wait is bounded; `deinit` kills a process that is still running, so a failed test leaves
/// nothing behind.
package final class ChildProcess: @unchecked Sendable {
    package let process: Process
    package let stdoutPath: String
    package let stderrPath: String
    package let label: String

    /// Starts `executable`; stdin comes from `stdinPath` (or /dev/null). Standard output and error go to
    /// files (``stdoutPath``, ``stderrPath``) unless `standardOutput` or `standardError` name another handle
    /// (a pipe the test reads, or never reads). A missing executable is an error that says how to install it.
    package init(
        _ executable: String, _ arguments: [String], label: String? = nil, stdinPath: String? = nil,
        directory: String, environment: [String: String]? = nil, standardOutput: FileHandle? = nil,
        standardError: FileHandle? = nil
    ) throws {
        try TestTools.requireExecutable(executable)
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
        process.standardOutput = try standardOutput ?? FileHandle(forWritingTo: URL(fileURLWithPath: stdoutPath))
        process.standardError = try standardError ?? FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        if let stdinPath {
            process.standardInput = FileHandle(forReadingAtPath: stdinPath)
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        try process.run()
    }

    /// A Python script from Tests/e2e, run by the tests' Python (``TestTools/python``).
    package static func python(_ script: String, _ arguments: [String], directory: String, label: String? = nil) throws
        -> ChildProcess
    {
        try ChildProcess(
            TestTools.python, ["-u", TestTools.e2eScripts + "/" + script] + arguments,
            label: label ?? URL(fileURLWithPath: script).deletingPathExtension().lastPathComponent, directory: directory)
    }

    package var pid: Int32 { process.processIdentifier }
    package var isRunning: Bool { process.isRunning }

    package var stdout: Data { FileManager.default.contents(atPath: stdoutPath) ?? Data() }
    package var stderr: Data { FileManager.default.contents(atPath: stderrPath) ?? Data() }
    package var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    package var stderrText: String { String(decoding: stderr, as: UTF8.self) }

    /// The exit status, `nil` if it did not exit within `timeout` seconds. A death by signal is `128 + signal`.
    @discardableResult
    package func waitForExit(timeout: Double) async -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning {
            if Date() > deadline { return nil }
            try? await Task.sleep(nanoseconds: 10_000_000)
        }
        return exitStatus
    }

    /// After exit: the status, or `128 + signal` for a death by signal.
    package var exitStatus: Int32? {
        guard !process.isRunning else { return nil }
        return process.terminationReason == .exit ? process.terminationStatus : 128 + process.terminationStatus
    }

    /// Waits until `condition` holds on the process (e.g. a line on stdout), or the time is up.
    package func wait(for what: String, timeout: Double, _ condition: (ChildProcess) -> Bool) async throws {
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

    package func signal(_ signal: Int32) {
        if process.isRunning { kill(pid, signal) }
    }

    /// SIGTERM, then SIGKILL if it has not gone after `grace` seconds.
    package func stop(grace: Double = 2) async {
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
package struct CommandResult: Sendable, CustomStringConvertible {
    package let status: Int32
    package let stdout: Data
    package let stderr: Data
    package var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    package var stderrText: String { String(decoding: stderr, as: UTF8.self) }
    package var description: String { "exit \(status)\nstdout: \(stdoutText.prefix(4000))\nstderr: \(stderrText.prefix(4000))" }
}

/// Short-lived commands run to completion, output in files (no pipe to fill up), every wait bounded.
package enum Command {
    /// Runs a command to completion (killed after `timeout` seconds, which is an error).
    package static func run(
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
    package static func runBlocking(_ executable: String, _ arguments: [String], directory: String) throws -> CommandResult {
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
package final class ClosedLoopbackPort: @unchecked Sendable {
    package let port: Int
    private var fd: Int32

    package init() throws {
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

    package func close() {
        guard fd >= 0 else { return }
        Glibc.close(fd)
        fd = -1
    }

    deinit { close() }
}

/// Resident memory of a process from /proc (kB): `VmRSS` now, `VmHWM` the peak.
package func procStatus(_ pid: Int32, _ field: String) -> Int? {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
    for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
        // "VmHWM:\t   12345 kB"
        return Int(line.dropFirst(field.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "")
    }
    return nil
}
