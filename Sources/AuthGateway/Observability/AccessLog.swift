import JOSE
import Foundation
import NIOCore

/// The JSON access log: one line per request, batched by each event loop and written by a ``LogWriter``.
///
/// Lines are batched per loop and handed to the writer every 100 ms (or at ``LogWriter/batchBytes``), so a request costs an
/// append to a loop-local buffer, never a lock or a system call; the writer's own thread does the writing,
/// so a destination that stops reading drops lines (counted) instead of stopping traffic. Fields: time,
/// request id, client, method, canonical path, route, decision, reason, subject, status, upstream,
/// duration, bytes, and the mode (`proxy`, or `decision` for a decision-mode answer). Never a token.
package struct AccessLog: GatewayObserver {
    package let writer: LogWriter

    /// `stdout`, or a file path (appended, created 0640).
    package init(destination: String, bufferBytes: Int = 4 * 1024 * 1024) throws {
        writer = try LogWriter(destination == "stdout" ? .standardOutput : .file(destination), capacity: bufferBytes)
    }

    package func makeLoopObserver(for eventLoop: EventLoop) -> LoopObserver {
        Buffer(writer: writer, eventLoop: eventLoop)
    }

    final class Buffer: LoopObserver {
        private let writer: LogWriter
        private let eventLoop: EventLoop
        private let batchBytes: Int
        private var bytes: [UInt8] = []
        private var flushScheduled = false

        init(writer: LogWriter, eventLoop: EventLoop) {
            self.writer = writer
            self.eventLoop = eventLoop
            batchBytes = writer.batchBytes
            bytes.reserveCapacity(batchBytes)
        }

        func requestFinished(_ record: RequestRecord) {
            bytes += AccessLog.line(for: record).utf8
            if bytes.count >= batchBytes {
                flush()
            } else if !flushScheduled {
                flushScheduled = true
                eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(100)) { [weak self] in self?.flush() }
            }
        }

        /// Hands the batch to the writer (which never blocks).
        func flush() {
            flushScheduled = false
            guard !bytes.isEmpty else { return }
            writer.append(bytes)
            bytes.removeAll(keepingCapacity: true)
        }
    }

    /// The JSON line for one request.
    static func line(for record: RequestRecord) -> String {
        let quote = JSONSerializer.quote
        func text(_ value: String?) -> String { value.map(quote) ?? "null" }
        let fields: [(String, String)] = [
            ("time", quote(timestamp(record.startedAt))), ("request_id", quote(record.requestID)),
            ("client", quote(record.clientAddress)), ("protocol", quote(record.protocolName)),
            ("method", quote(record.method)), ("host", text(record.host)), ("path", quote(record.path)),
            ("route", text(record.route)), ("decision", quote(record.verdict.rawValue)),
            ("reason", text(record.reason?.code)), ("denied_by", text(record.deniedBy)), ("subject", text(record.subject)), ("issuer", text(record.issuer)),
            ("status", String(record.status)), ("upstream", text(record.upstream)),
            ("upstream_target", text(record.upstreamTarget)),
            ("duration_ms", String(format: "%.3f", record.duration * 1000)),
            ("upstream_ms", record.upstreamDuration.map { String(format: "%.3f", $0 * 1000) } ?? "null"),
            ("bytes_in", String(record.bytesIn)), ("bytes_out", String(record.bytesOut)),
            ("user_agent", text(record.userAgent.map { String($0.prefix(256)) })),
            ("mode", quote(record.mode.rawValue)),
        ]
        return "{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}\n"
    }

    /// RFC 3339 UTC with milliseconds.
    static func timestamp(_ seconds: Double) -> String {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        let millis = Int((seconds - Double(time)) * 1000)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
            parts.tm_hour, parts.tm_min, parts.tm_sec, millis)
    }
}
