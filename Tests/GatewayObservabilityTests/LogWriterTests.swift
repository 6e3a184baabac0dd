import Foundation
@testable import GatewayObservability
import Logging
import NIOEmbedded
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The log writers on their own: a destination that stops reading never blocks the thread that logs, the
/// gap is said once in the log's own format, every batch fits the smallest queue, and a moved file is
/// reopened. (Tests/AuthGatewayTests/EndToEnd/LoggingEndToEndTests.swift runs the binary into a pipe that is
/// never read.)
@Suite("Log writers")
struct LogWriterTests {
    /// The control for the end-to-end stalled-pipe test, which runs at the smallest `max_pending`: there, a
    /// destination that keeps up must drop nothing, so the drops come from the stall and not from the bound.
    /// A loop hands its lines over in batches; every batch must fit the queue of an idle writer.
    @Test("at the smallest max_pending, an idle access log writer takes every batch a loop hands over")
    func smallestQueueTakesEveryBatch() throws {
        let directory = try TestTools.temporaryDirectory(prefix: "gw-log-keeps-up")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/access.log"
        let log = try AccessLog(destination: path, bufferBytes: 64 * 1024)
        let loop = EmbeddedEventLoop()
        let buffer = log.makeLoopObserver(for: loop)
        let record = RequestRecord(
            requestID: "r", clientAddress: "192.0.2.1", method: "GET", path: "/" + String(repeating: "p", count: 700),
            route: "route", verdict: .allow, reason: nil, subject: "alice", issuer: "https://idp.example", status: 200,
            upstream: "svc", upstreamTarget: "127.0.0.1:1", startedAt: 0, duration: 0.001, upstreamDuration: 0.001,
            bytesIn: 0, bytesOut: 0, protocolName: "HTTP/1.1", host: "example.com", userAgent: "test")
        // Quickly, without the 100 ms flush: only full batches are handed over; the writer drains between them.
        for _ in 0..<400 {
            buffer.requestFinished(record)
            #expect(log.writer.flush(timeout: 5))
        }
        #expect(log.writer.droppedLines == 0)
        log.writer.close(timeout: 5)
        let written = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").count
        #expect(written > 300, "only \(written) of 400 lines were handed over in full batches")
        try loop.syncShutdownGracefully()
    }

    /// A FIFO whose reader is open but never reads: a destination that takes 64 KiB and then nothing.
    static func stalledFIFO(in directory: String) throws -> (path: String, reader: Int32) {
        let path = directory + "/stalled.fifo"
        guard mkfifo(path, 0o600) == 0 else { throw HarnessError("mkfifo failed") }
        let reader = open(path, O_RDONLY | O_NONBLOCK)
        guard reader >= 0 else { throw HarnessError("cannot open the FIFO for reading") }
        return (path, reader)
    }

    /// Everything the FIFO holds now.
    static func drain(_ reader: Int32) -> String {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(reader, &buffer, buffer.count)
            guard count > 0 else { break }
            bytes += buffer[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test("the application log into a destination that stops reading: logging returns, records are dropped, the gap is said in the log's format",
          arguments: [GatewayLogging.Format.text, .json])
    func stalledApplicationLog(format: GatewayLogging.Format) async throws {
        let directory = try TestTools.temporaryDirectory(prefix: "gw-applog-stall")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let fifo = try Self.stalledFIFO(in: directory)
        defer { close(fifo.reader) }
        let sink = GatewayLogging.Sink(writer: try LogWriter(.file(fifo.path), capacity: 64 * 1024), format: format)
        let logger = GatewayLogging.logger(label: "stall-test", sink: sink)
        // 4,000 records of ~300 bytes: far more than the FIFO (64 KiB) and the queue (64 KiB) hold. A
        // blocking write would never return; this must, on its own thread, within the time limit.
        let finished = await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                for index in 0..<4000 {
                    logger.info("record \(index) \(String(repeating: "x", count: 240))", metadata: ["test.index": "\(index)"])
                }
                continuation.resume(returning: true)
            }
        }
        #expect(finished)
        #expect(sink.writer.droppedLines > 0)
        // Read what is waiting, let the writer catch up, read again: the notice of the gap is in the stream.
        var text = Self.drain(fifo.reader)
        for _ in 0..<20 where !sink.writer.flush(timeout: 0.25) {
            text += Self.drain(fifo.reader)
        }
        text += Self.drain(fifo.reader)
        let notices = text.split(separator: "\n").filter { $0.contains("log.dropped") }
        #expect(notices.count == 1, "the gap is said once, in the log itself")
        if format == .json {
            // In the stream's own format: every line, the notice too, is one JSON object.
            for line in text.split(separator: "\n") {
                #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) is [String: Any], "not JSON: \(line.prefix(200))")
            }
            #expect(notices.first?.hasPrefix("{") == true)
        }
        sink.writer.close(timeout: 1)
    }

    @Test("logging.format: json writes one JSON object per record, also for a message with line breaks")
    func jsonRecords() throws {
        let directory = try TestTools.temporaryDirectory(prefix: "gw-applog-json")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/app.log"
        let sink = GatewayLogging.Sink(writer: try LogWriter(.file(path)), format: .json)
        var logger = GatewayLogging.logger(label: "json-test", sink: sink)
        logger[metadataKey: "message"] = "shadowed"
        logger.error("reload failed\nline two\n\tline \"three\"", metadata: ["error.file": "policies/a.yaml:3:7", "attempt": "2"])
        logger.info("ready", metadata: ["ports": .array(["8443", "9901"]), "listener": .dictionary(["port": "8443"])])
        sink.writer.close(timeout: 5)
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2)
        let first = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(first["message"] as? String == "reload failed\nline two\n\tline \"three\"")
        #expect(first["level"] as? String == "error")
        #expect(first["label"] as? String == "json-test")
        #expect(first["error.file"] as? String == "policies/a.yaml:3:7")
        #expect(first["metadata.message"] as? String == "shadowed")
        #expect((first["time"] as? String)?.hasSuffix("Z") == true)
        let second = try #require(try JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [String: Any])
        #expect(second["ports"] as? [String] == ["8443", "9901"])
        #expect((second["listener"] as? [String: String]) == ["port": "8443"])
    }

    /// A writer to `directory/access.log` that wrote "before\n", whose file logrotate then moved to `.1`.
    static func rotatedWriter(in directory: String) throws -> (writer: LogWriter, path: String) {
        let path = directory + "/access.log"
        let writer = try LogWriter(.file(path))
        writer.append(Array("before\n".utf8))
        #expect(writer.flush(timeout: 5))
        try FileManager.default.moveItem(atPath: path, toPath: path + ".1")
        return (writer, path)
    }

    @Test("reopen() writes to a new file at the path after the old one was moved away (logrotate)")
    func reopenAfterRotation() throws {
        let directory = try TestTools.temporaryDirectory(prefix: "gw-log-rotate")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (writer, path) = try Self.rotatedWriter(in: directory)
        writer.append(Array("still the old file\n".utf8))
        #expect(writer.flush(timeout: 5))
        try writer.reopen()
        writer.append(Array("after\n".utf8))
        writer.close(timeout: 5)
        #expect(try String(contentsOfFile: path + ".1", encoding: .utf8) == "before\nstill the old file\n")
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "after\n")
        #expect(writer.droppedLines == 0)
    }

    @Test("reopen() at a path it cannot open throws, naming the path and why; lines go on into the file it has")
    func reopenFailureKeepsTheOldFile() throws {
        let directory = try TestTools.temporaryDirectory(prefix: "gw-log-rotate-fail")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (writer, path) = try Self.rotatedWriter(in: directory)
        // A directory where the file belongs: open(2) fails for anyone, root included.
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        let error = #expect(throws: LogWriter.ReopenError.self) { try writer.reopen() }
        #expect(error?.description.contains(path) == true && error?.description.contains("directory") == true,
                "\(String(describing: error))")
        writer.append(Array("after\n".utf8))
        writer.close(timeout: 5)
        #expect(try String(contentsOfFile: path + ".1", encoding: .utf8) == "before\nafter\n")
        #expect(writer.droppedLines == 0)
    }
}
