import Foundation
import NIOConcurrencyHelpers
import GatewayConfig

/// Writes log lines to a file descriptor from a thread of its own, so that a destination that stops
/// taking bytes (a log shipper that stalls, a full pipe, a slow disk) never blocks an event loop.
///
/// Producers hand over whole lines (an event loop's batch of access-log lines, one application-log
/// record) into a bounded in-memory queue and return at once. When the queue is full the new lines are
/// dropped and counted, and ``onFirstDrop`` runs once (outside the lock) so that the drop is said once in
/// the application log. Measured: the gateway served every request while its stdout pipe had no reader
/// (Tests/AuthGatewayTests/EndToEnd/LoggingEndToEndTests.swift); before, it stopped answering once the
/// 64 KiB pipe buffer was full.
public final class LogWriter: Sendable {
    /// Where the lines go.
    public enum Destination: Sendable, Equatable {
        case standardOutput
        case standardError
        /// A file, appended to and created 0640; reopened by ``reopen()`` (log rotation).
        case file(String)
    }

    private struct State {
        var queue: [[UInt8]] = []
        var queuedBytes = 0
        var droppedLines = 0
        var dropReported = false
        var reopenRequested = false
        var stopping = false
        /// A write is under way on the writer thread (for ``flush(timeout:)``).
        var writing = false
    }

    public let destination: Destination
    /// The most bytes waiting to be written; lines beyond it are dropped.
    public let capacity: Int
    private let state: NIOLockedValueBox<State>
    private let condition = ConditionLock(value: 0)
    private let descriptor: NIOLockedValueBox<Int32>
    private let onFirstDrop: NIOLockedValueBox<(@Sendable (Int) -> Void)?>

    /// Opens the destination (a file is created if missing) and starts the writer thread.
    public init(_ destination: Destination, capacity: Int = 4 * 1024 * 1024) throws {
        self.destination = destination
        self.capacity = capacity
        self.state = NIOLockedValueBox(State())
        self.descriptor = NIOLockedValueBox(try Self.open(destination))
        self.onFirstDrop = NIOLockedValueBox(nil)
        let thread = Thread { [self] in self.run() }
        thread.name = "auth-gateway log writer"
        thread.start()
    }

    /// Called once, with the number of lines dropped so far, the first time lines are dropped.
    public func setDropHandler(_ handler: @escaping @Sendable (Int) -> Void) {
        onFirstDrop.withLockedValue { $0 = handler }
    }

    /// Lines dropped because the queue was full (or the destination failed).
    public var droppedLines: Int { state.withLockedValue { $0.droppedLines } }

    /// Queues `bytes` (one or more complete lines); never blocks on the destination. Returns whether they
    /// were queued (false: dropped and counted). `force` queues them beyond the capacity (the one notice
    /// that lines were dropped).
    @discardableResult
    public func append(_ bytes: [UInt8], force: Bool = false) -> Bool {
        guard !bytes.isEmpty else { return true }
        let (accepted, firstDrop) = state.withLockedValue { state -> (Bool, Int?) in
            guard !state.stopping, force || state.queuedBytes + bytes.count <= capacity else {
                state.droppedLines += Self.lineCount(bytes)
                guard !state.dropReported else { return (false, nil) }
                state.dropReported = true
                return (false, state.droppedLines)
            }
            state.queue.append(bytes)
            state.queuedBytes += bytes.count
            return (true, nil)
        }
        if accepted {
            condition.lock()
            condition.unlock(withValue: 1)
        } else if let firstDrop, let handler = onFirstDrop.withLockedValue({ $0 }) {
            handler(firstDrop)
        }
        return accepted
    }

    /// Closes and reopens a file destination on the writer thread (after logrotate moved the file).
    public func reopen() {
        state.withLockedValue { $0.reopenRequested = true }
        condition.lock()
        condition.unlock(withValue: 1)
    }

    /// Waits until everything queued so far is written, at most `timeout` seconds. Returns whether the
    /// queue drained (a destination that takes nothing is given up on, never waited for forever).
    @discardableResult
    public func flush(timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if state.withLockedValue({ $0.queue.isEmpty && !$0.writing }) { return true }
            usleep(2_000)
        }
        return state.withLockedValue { $0.queue.isEmpty && !$0.writing }
    }

    /// Writes what is queued (waiting at most `timeout` seconds), then stops the writer thread and closes a
    /// file destination. Lines appended afterwards are dropped.
    public func close(timeout: Double) {
        flush(timeout: timeout)
        state.withLockedValue { $0.stopping = true }
        condition.lock()
        condition.unlock(withValue: 1)
    }

    // MARK: The writer thread

    private func run() {
        while true {
            condition.lock(whenValue: 1)
            condition.unlock(withValue: 0)
            let (batch, reopen, stop) = state.withLockedValue { state -> ([[UInt8]], Bool, Bool) in
                let batch = state.queue
                state.queue.removeAll(keepingCapacity: true)
                state.writing = !batch.isEmpty
                defer { state.reopenRequested = false }
                return (batch, state.reopenRequested, state.stopping)
            }
            if reopen { reopenFile() }
            let fd = descriptor.withLockedValue { $0 }
            var failedLines = 0
            for bytes in batch where !Self.writeAll(fd, bytes) {
                failedLines += Self.lineCount(bytes)
            }
            state.withLockedValue { state in
                state.queuedBytes -= batch.reduce(0) { $0 + $1.count }
                state.droppedLines += failedLines
                state.writing = false
            }
            if stop {
                if case .file = destination { Foundation.close(descriptor.withLockedValue { $0 }) }
                return
            }
        }
    }

    private func reopenFile() {
        guard case .file = destination, let fresh = try? Self.open(destination) else { return }
        let old = descriptor.withLockedValue { descriptor in
            defer { descriptor = fresh }
            return descriptor
        }
        Foundation.close(old)
    }

    /// Writes every byte (retrying short writes and interrupts); false when the destination failed.
    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written < 0, errno == EINTR { continue }
            guard written > 0 else { return false }
            offset += written
        }
        return true
    }

    private static func lineCount(_ bytes: [UInt8]) -> Int {
        max(1, bytes.reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) })
    }

    private static func open(_ destination: Destination) throws -> Int32 {
        switch destination {
        case .standardOutput: return STDOUT_FILENO
        case .standardError: return STDERR_FILENO
        case .file(let path):
            let fd = Foundation.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
            guard fd >= 0 else {
                throw GatewayConfigurationError(problems: ["\(path): cannot open the log for appending (\(String(cString: strerror(errno))))"])
            }
            return fd
        }
    }
}
