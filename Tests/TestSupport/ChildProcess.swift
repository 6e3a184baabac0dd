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
/// Started with `posix_spawn` rather than Foundation's `Process`: on Linux, Swift 6.3's `Process.run()`
/// over-reads `/proc/self/fd` entries and crashes the test process now and then
/// (swiftlang/swift-corelibs-foundation#5472). The child gets the given standard streams, the working
/// directory, default signal handling and an empty signal mask, and no other descriptor of the test process.
///
/// Every wait is bounded; `deinit` kills a process that is still running, so a failed test leaves
/// nothing behind.
package final class ChildProcess: @unchecked Sendable {
    package let pid: Int32
    package let stdoutPath: String
    package let stderrPath: String
    package let label: String
    private let lock = NSLock()
    /// The raw `waitpid` status once the child has been reaped.
    private var reapedStatus: Int32?

    /// Starts `executable` in `workingDirectory` (or `directory`); stdin comes from `stdinPath` (or /dev/null).
    /// Standard output and error go to files in `directory` (``stdoutPath``, ``stderrPath``) unless `standardOutput` or `standardError` name another handle
    /// (a pipe the test reads, or never reads). A missing executable is an error that says how to install it.
    package init(
        _ executable: String, _ arguments: [String], label: String? = nil, stdinPath: String? = nil,
        directory: String, workingDirectory: String? = nil, environment: [String: String]? = nil,
        standardOutput: FileHandle? = nil, standardError: FileHandle? = nil
    ) throws {
        try TestTools.requireExecutable(executable)
        let id = UUID().uuidString.prefix(8)
        self.label = label ?? URL(fileURLWithPath: executable).lastPathComponent
        stdoutPath = directory + "/\(self.label)-\(id).out"
        stderrPath = directory + "/\(self.label)-\(id).err"
        var opened: [Int32] = []
        defer { for fd in opened { Glibc.close(fd) } }
        func open(_ path: String, _ flags: Int32) throws -> Int32 {
            let fd = Glibc.open(path, flags | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw HarnessError("cannot open \(path): errno \(errno)") }
            opened.append(fd)
            return fd
        }
        let input = try open(stdinPath ?? "/dev/null", O_RDONLY)
        let output = try standardOutput?.fileDescriptor ?? open(stdoutPath, O_WRONLY | O_CREAT | O_TRUNC)
        let error = try standardError?.fileDescriptor ?? open(stderrPath, O_WRONLY | O_CREAT | O_TRUNC)
        if standardOutput != nil { _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil) }
        if standardError != nil { _ = FileManager.default.createFile(atPath: stderrPath, contents: nil) }
        pid = try Spawn.run(
            executable, arguments: arguments, directory: workingDirectory ?? directory,
            environment: environment ?? ProcessInfo.processInfo.environment, streams: (input, output, error))
    }

    /// A Python script from Tests/e2e, run by the tests' Python (``TestTools/python``).
    package static func python(_ script: String, _ arguments: [String], directory: String, label: String? = nil) throws
        -> ChildProcess
    {
        try ChildProcess(
            TestTools.python, ["-u", TestTools.e2eScripts + "/" + script] + arguments,
            label: label ?? URL(fileURLWithPath: script).deletingPathExtension().lastPathComponent, directory: directory)
    }

    package var isRunning: Bool { reap() == nil }

    package var stdout: Data { FileManager.default.contents(atPath: stdoutPath) ?? Data() }
    package var stderr: Data { FileManager.default.contents(atPath: stderrPath) ?? Data() }
    package var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    package var stderrText: String { String(decoding: stderr, as: UTF8.self) }

    /// The child's `waitpid` status once it has exited (reaped here, once), `nil` while it runs.
    private func reap() -> Int32? {
        lock.lock()
        defer { lock.unlock() }
        if let reapedStatus { return reapedStatus }
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        guard result == pid else { return nil }
        reapedStatus = status
        return status
    }

    /// The exit status, `nil` if it did not exit within `timeout` seconds. A death by signal is `128 + signal`.
    @discardableResult
    package func waitForExit(timeout: Double) async -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while isRunning {
            if Date() > deadline { return nil }
            try? await Task.sleep(nanoseconds: 10_000_000)
        }
        return exitStatus
    }

    /// After exit: the status, or `128 + signal` for a death by signal.
    package var exitStatus: Int32? {
        guard let status = reap() else { return nil }
        let signal = status & 0x7F
        return signal == 0 ? (status >> 8) & 0xFF : 128 + signal
    }

    /// Waits until `condition` holds on the process (e.g. a line on stdout), or the time is up.
    package func wait(for what: String, timeout: Double, _ condition: (ChildProcess) -> Bool) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while !condition(self) {
            if !isRunning, !condition(self) {
                throw HarnessError("\(label) exited (\(exitStatus ?? -1)) before \(what); stderr: \(stderrText.suffix(2000))")
            }
            if Date() > deadline {
                throw HarnessError("\(label): no \(what) within \(timeout) s; stderr: \(stderrText.suffix(2000))")
            }
            try await Task.sleep(nanoseconds: 10_000_000)
        }
    }

    /// Sends `signal` to the child if it has not been reaped (its PID cannot belong to another process yet).
    package func signal(_ signal: Int32) {
        if isRunning { kill(pid, signal) }
    }

    /// SIGTERM, then SIGKILL if it has not gone after `grace` seconds.
    package func stop(grace: Double = 2) async {
        guard isRunning else { return }
        kill(pid, SIGTERM)
        if await waitForExit(timeout: grace) == nil {
            kill(pid, SIGKILL)
            await waitForExit(timeout: 2)
        }
    }

    deinit {
        if isRunning {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
    }
}

/// `posix_spawn` with what Foundation's `Process` gives a child: standard streams, a working directory, the
/// default disposition for signals the test process handles or ignores, an empty mask, nothing else inherited.
enum Spawn {
    private typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
    private typealias AddClosefrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32

    /// glibc's `_np` file actions (2.29 and 2.34), which Swift's Glibc module does not declare.
    private static let addChdir: AddChdir? = symbol("posix_spawn_file_actions_addchdir_np")
    private static let addClosefrom: AddClosefrom? = symbol("posix_spawn_file_actions_addclosefrom_np")

    private static func symbol<Function>(_ name: String) -> Function? {
        guard let address = dlsym(dlopen(nil, RTLD_NOW), name) else { return nil }
        return unsafeBitCast(address, to: Function.self)
    }

    static func run(
        _ executable: String, arguments: [String], directory: String, environment: [String: String],
        streams: (input: Int32, output: Int32, error: Int32)
    ) throws -> Int32 {
        guard let addChdir, let addClosefrom else {
            throw HarnessError("this C library has no posix_spawn_file_actions_addchdir_np/addclosefrom_np (glibc 2.34+)")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, streams.input, 0)
        posix_spawn_file_actions_adddup2(&actions, streams.output, 1)
        posix_spawn_file_actions_adddup2(&actions, streams.error, 2)
        _ = addClosefrom(&actions, 3)
        _ = addChdir(&actions, directory)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, SIGCHLD, SIGQUIT] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = ([executable] + arguments).map { strdup($0) }
        let envp = environment.map { strdup("\($0.key)=\($0.value)") }
        defer { for pointer in argv + envp { free(pointer) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv + [nil], envp + [nil])
        guard result == 0 else { throw HarnessError("cannot start \(executable): \(String(cString: strerror(result)))") }
        return pid
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
    /// Its input and output files are kept in `directory` (and removed after); it runs in `workingDirectory`,
    /// or in `directory` without one.
    package static func run(
        _ executable: String, _ arguments: [String], stdin: Data? = nil, directory: String,
        workingDirectory: String? = nil, timeout: Double = 30, label: String? = nil
    ) async throws -> CommandResult {
        var stdinPath: String?
        if let stdin {
            let path = directory + "/stdin-\(UUID().uuidString.prefix(8))"
            try stdin.write(to: URL(fileURLWithPath: path))
            stdinPath = path
        }
        let child = try ChildProcess(
            executable, arguments, label: label, stdinPath: stdinPath, directory: directory, workingDirectory: workingDirectory)
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
