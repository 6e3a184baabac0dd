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
package final class LogWriter: Sendable {
    /// Where the lines go.
    package enum Destination: Sendable, Equatable {
        case standardOutput
        case standardError
        /// A file, appended to and created 0640; reopened by ``reopen()`` (log rotation).
        case file(String)
    }

    private struct State {
        var capacity: Int
        var queue: [[UInt8]] = []
        var queuedBytes = 0
        var droppedLines = 0
        var dropReported = false
        /// A descriptor ``reopen()`` opened, for the writer thread to switch to before its next write.
        var reopened: Int32?
        var stopping = false
        /// A write is under way on the writer thread (for ``flush(timeout:)``).
        var writing = false
    }

    package let destination: Destination
    private let state: NIOLockedValueBox<State>
    private let condition = ConditionLock(value: 0)
    private let descriptor: NIOLockedValueBox<Int32>
    private let onFirstDrop: NIOLockedValueBox<(@Sendable (Int) -> Void)?>

    /// Opens the destination (a file is created if missing) and starts the writer thread.
    package init(_ destination: Destination, capacity: Int = 4 * 1024 * 1024) throws {
        self.destination = destination
        self.state = NIOLockedValueBox(State(capacity: capacity))
        self.descriptor = NIOLockedValueBox(try Self.open(destination))
        self.onFirstDrop = NIOLockedValueBox(nil)
        let thread = Thread { [self] in self.run() }
        thread.name = "auth-gateway log writer"
        thread.start()
    }

    /// Called once, with the number of lines dropped so far, the first time lines are dropped.
    package func setDropHandler(_ handler: @escaping @Sendable (Int) -> Void) {
        onFirstDrop.withLockedValue { $0 = handler }
    }

    /// The most bytes waiting to be written; lines beyond it are dropped (`logging.max_pending`).
    package var capacity: Int {
        get { state.withLockedValue { $0.capacity } }
        set { state.withLockedValue { $0.capacity = newValue } }
    }

    /// How many bytes a producer should gather before handing them over: small enough that a batch always
    /// fits an empty queue, whatever the capacity.
    package var batchBytes: Int { min(64 * 1024, capacity / 4) }

    /// Lines dropped because the queue was full (or the destination failed).
    package var droppedLines: Int { state.withLockedValue { $0.droppedLines } }

    /// Queues `bytes` (one or more complete lines); never blocks on the destination. Returns whether they
    /// were queued (false: dropped and counted). `force` queues them beyond the capacity (the one notice
    /// that lines were dropped).
    @discardableResult
    package func append(_ bytes: [UInt8], force: Bool = false) -> Bool {
        guard !bytes.isEmpty else { return true }
        let accepted = state.withLockedValue { state in
            guard !state.stopping, force || state.queuedBytes + bytes.count <= state.capacity else { return false }
            state.queue.append(bytes)
            state.queuedBytes += bytes.count
            return true
        }
        if accepted {
            condition.lock()
            condition.unlock(withValue: 1)
        } else {
            dropped(Self.lineCount(bytes))
        }
        return accepted
    }

    /// Counts lost lines (a full queue, or a destination that failed) and says so once.
    private func dropped(_ lines: Int) {
        let firstDrop = state.withLockedValue { state -> Int? in
            state.droppedLines += lines
            guard !state.dropReported else { return nil }
            state.dropReported = true
            return state.droppedLines
        }
        if let firstDrop, let handler = onFirstDrop.withLockedValue({ $0 }) {
            handler(firstDrop)
        }
    }

    /// Why ``reopen()`` could not open the file again.
    package struct ReopenError: Error, CustomStringConvertible {
        package let description: String
    }

    /// Opens a file destination again at its path (after logrotate moved the file away) and has the writer
    /// thread switch to it before its next write; the old file keeps what was written to it. Opened on the
    /// caller's thread, so that a failure can be said: then the writer keeps the file it has (the moved one),
    /// and nothing is lost. Standard output and standard error have nothing to reopen.
    package func reopen() throws {
        guard case .file = destination else { return }
        let fresh: Int32
        do {
            fresh = try Self.open(destination)
        } catch let error as GatewayConfigurationError {
            throw ReopenError(description: error.problems.joined(separator: "; "))
        }
        let unused = state.withLockedValue { state -> Int32? in
            // Stopping: the writer closes what it has and takes nothing new.
            guard !state.stopping else { return fresh }
            defer { state.reopened = fresh }
            return state.reopened
        }
        if let unused { Foundation.close(unused) }
        condition.lock()
        condition.unlock(withValue: 1)
    }

    /// Waits until everything queued so far is written, at most `timeout` seconds. Returns whether the
    /// queue drained (a destination that takes nothing is given up on, never waited for forever).
    @discardableResult
    package func flush(timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while !isDrained, Date() < deadline { usleep(2_000) }
        return isDrained
    }

    /// ``flush(timeout:)`` for async code: it sleeps between looks instead of holding a thread.
    @discardableResult
    package func waitUntilWritten(timeout: Double) async -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while !isDrained, Date() < deadline { try? await Task.sleep(for: .milliseconds(2)) }
        return isDrained
    }

    private var isDrained: Bool { state.withLockedValue { $0.queue.isEmpty && !$0.writing } }

    /// Writes what is queued (waiting at most `timeout` seconds), then stops the writer thread and closes a
    /// file destination. Lines appended afterwards are dropped.
    package func close(timeout: Double) {
        flush(timeout: timeout)
        stop()
    }

    /// ``close(timeout:)`` for async code.
    package func shutdown(timeout: Double) async {
        await waitUntilWritten(timeout: timeout)
        stop()
    }

    private func stop() {
        state.withLockedValue { $0.stopping = true }
        condition.lock()
        condition.unlock(withValue: 1)
    }

    // MARK: The writer thread

    private func run() {
        // A write that failed midway left a line without its end: the next write ends it first, so that the
        // next line is not glued onto it (a JSON consumer then loses one line, not two).
        var partialLine = false
        while true {
            condition.lock(whenValue: 1)
            condition.unlock(withValue: 0)
            let (batch, reopened, stop) = state.withLockedValue { state -> ([[UInt8]], Int32?, Bool) in
                let batch = state.queue
                state.queue.removeAll(keepingCapacity: true)
                state.writing = !batch.isEmpty
                defer { state.reopened = nil }
                return (batch, state.reopened, state.stopping)
            }
            if let reopened {
                let old = descriptor.withLockedValue { descriptor in
                    defer { descriptor = reopened }
                    return descriptor
                }
                Foundation.close(old)
                // A line cut short belongs to the old file; the new one starts clean.
                partialLine = false
            }
            let fd = descriptor.withLockedValue { $0 }
            var failedLines = 0
            for bytes in batch {
                switch Self.writeAll(fd, bytes, afterPartialLine: &partialLine) {
                case .written: break
                case .failed(lines: let unwritten): failedLines += unwritten
                }
            }
            state.withLockedValue { state in
                state.queuedBytes -= batch.reduce(0) { $0 + $1.count }
                state.writing = false
            }
            if failedLines > 0 { dropped(failedLines) }
            if stop {
                if case .file = destination { Foundation.close(descriptor.withLockedValue { $0 }) }
                return
            }
        }
    }

    private enum WriteResult {
        case written
        /// The destination failed; this many lines (whole or cut) were lost.
        case failed(lines: Int)
    }

    /// Writes every byte, retrying short writes and interrupts, and waiting for a destination left
    /// non-blocking (`EAGAIN`: a supervisor's pipe) to take more instead of dropping.
    private static func writeAll(_ fd: Int32, _ bytes: [UInt8], afterPartialLine partial: inout Bool) -> WriteResult {
        if partial {
            guard writeBytes(fd, [UInt8(ascii: "\n")]) == 1 else { return .failed(lines: lineCount(bytes)) }
            partial = false
        }
        let written = writeBytes(fd, bytes)
        guard written < bytes.count else { return .written }
        partial = written > 0 && bytes[written - 1] != UInt8(ascii: "\n")
        return .failed(lines: lineCount(Array(bytes[written...])))
    }

    /// How many bytes of `bytes` reached the destination before it failed (all of them when it did not).
    private static func writeBytes(_ fd: Int32, _ bytes: [UInt8]) -> Int {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written > 0 {
                offset += written
            } else if written < 0, errno == EINTR {
                continue
            } else if written < 0, errno == EAGAIN || errno == EWOULDBLOCK {
                var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = poll(&poller, 1, 1000)
            } else {
                break
            }
        }
        return offset
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
