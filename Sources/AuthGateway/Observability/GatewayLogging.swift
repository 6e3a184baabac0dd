import JOSE
import Foundation
import Logging
import NIOConcurrencyHelpers
import GatewayConfig

/// The application log (separate from the access log): structured records to standard error, as text or
/// as one JSON object per line (`logging.format`), written by a ``LogWriter`` so that a stalled reader of
/// standard error never blocks the thread that logs.
package enum GatewayLogging {
    package typealias Format = GatewayConfiguration.LogFormat

    /// Where the records go, and in which format; one per process for standard error.
    package final class Sink: Sendable {
        package let writer: LogWriter
        private let formatBox: NIOLockedValueBox<Format>

        init(writer: LogWriter, format: Format = .text) {
            self.writer = writer
            self.formatBox = NIOLockedValueBox(format)
            writer.setDropHandler { [writer, formatBox] dropped in
                // Said in the stream itself, whatever the queue holds, so that the gap is visible where it is.
                let notice = GatewayLogHandler.line(
                    format: formatBox.withLockedValue { $0 }, label: "auth-gateway", level: .warning, source: "AuthGateway",
                    message: "the application log's destination is not keeping up; records are dropped and counted "
                        + "in gateway_application_log_dropped_total",
                    metadata: ["log.dropped": "\(dropped)"])
                writer.append(Array(notice.utf8), force: true)
            }
        }

        /// The format of records from now on (the configuration is read after the first records).
        package var format: Format {
            get { formatBox.withLockedValue { $0 } }
            set { formatBox.withLockedValue { $0 = newValue } }
        }
    }

    /// Standard error, for the process.
    package static let standardError = Sink(writer: try! LogWriter(.standardError))

    package static func logger(label: String = "auth-gateway", level: Logger.Level = .info, sink: Sink = standardError) -> Logger {
        var logger = Logger(label: label) { GatewayLogHandler(label: $0, sink: sink) }
        logger.logLevel = level
        return logger
    }
}

/// Formats swift-log records for a ``GatewayLogging/Sink``.
struct GatewayLogHandler: LogHandler {
    let label: String
    let sink: GatewayLogging.Sink
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    init(label: String, sink: GatewayLogging.Sink) {
        self.label = label
        self.sink = sink
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let explicit = event.metadata { merged.merge(explicit) { _, new in new } }
        let line = Self.line(
            format: sink.format, label: label, level: event.level, source: event.source,
            message: event.message.description, metadata: merged)
        sink.writer.append(Array(line.utf8))
    }

    /// One record as a line in `format`, stamped now.
    static func line(
        format: GatewayLogging.Format, label: String, level: Logger.Level, source: String, message: String,
        metadata: Logger.Metadata
    ) -> String {
        let time = AccessLog.timestamp(Date().timeIntervalSince1970)
        switch format {
        case .text:
            let pretty = metadata.sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }.joined()
            return "\(time) \(level) \(label):\(pretty) [\(source)] \(message)\n"
        case .json:
            return json(time: time, level: level, label: label, source: source, message: message, metadata: metadata)
        }
    }

    /// The record as one JSON line; metadata keys that would shadow a record field get a `metadata.` prefix.
    static func json(
        time: String, level: Logger.Level, label: String, source: String, message: String, metadata: Logger.Metadata
    ) -> String {
        let reserved: Set<String> = ["time", "level", "label", "source", "message"]
        var fields = [
            ("time", JSONSerializer.quote(time)), ("level", JSONSerializer.quote(level.rawValue)), ("label", JSONSerializer.quote(label)),
            ("source", JSONSerializer.quote(source)), ("message", JSONSerializer.quote(message)),
        ]
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
            fields.append((reserved.contains(key) ? "metadata." + key : key, json(value)))
        }
        return "{" + fields.map { JSONSerializer.quote($0.0) + ":" + $0.1 }.joined(separator: ",") + "}\n"
    }

    private static func json(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let text): return JSONSerializer.quote(text)
        case .stringConvertible(let convertible): return JSONSerializer.quote(convertible.description)
        case .array(let values): return "[" + values.map(json).joined(separator: ",") + "]"
        case .dictionary(let values):
            return "{" + values.sorted { $0.key < $1.key }.map { JSONSerializer.quote($0.key) + ":" + json($0.value) }
                .joined(separator: ",") + "}"
        }
    }
}
