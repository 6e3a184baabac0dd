import Foundation
import Logging
import TestSupport
import Testing


/// Logging never stops traffic: a log destination that stops reading (a stuck log shipper, a full pipe)
/// costs log lines, counted, never requests. Before, with `access_log: stdout` on a pipe nobody read, the
/// gateway served about 400 requests (until the pipe buffer was full) and then answered nothing.
@Suite("End to end: logs that nobody reads", .serialized)
struct LoggingEndToEndTests {
    @Test("access_log: stdout into a pipe that is never read: traffic goes on, lines are dropped and counted",
          .timeLimit(.minutes(2)))
    func stalledAccessLogReader() async throws {
        let directory = try TestTools.temporaryDirectory(prefix: "gw-log-stall")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let upstream = try await RecordingUpstream.start(.init(name: "svc"), in: directory)
        let config = try GatewayBinary.writeConfiguration(
            GatewayBinary.configuration(upstream: [upstream.url], accessLog: "stdout")
                .replacingOccurrences(of: "access_log: stdout }", with: "access_log: stdout, max_pending: 64KiB }"),
            in: directory)
        let neverRead = Pipe()
        let gateway = try await GatewayProcess.start(
            configPath: config, directory: directory, standardOutput: neverRead.fileHandleForWriting)
        try await stopping(gateway, upstream) {
            // Load until the pipe (64 KiB) and the writer's queue (64 KiB) are full and lines are dropped.
            let stop = directory + "/stop"
            let load = try LoadClient.run(gateway, token: nil, path: "/public/stalled", connections: 4, duration: 60, stopFile: stop)
            let deadline = Date().addingTimeInterval(45)
            var dropped = 0.0
            while dropped == 0, Date() < deadline, load.isRunning {
                try await Task.sleep(nanoseconds: 200_000_000)
                dropped = try await gateway.metric("gateway_access_log_dropped_total")
            }
            #expect(dropped > 0, "no access log line was dropped: the pipe never filled")
            // Now the destination is known to be stalled: every request from here on must still be served.
            let before = try await gateway.metric("gateway_requests_total")
            try await Task.sleep(nanoseconds: 1_000_000_000)
            _ = FileManager.default.createFile(atPath: stop, contents: nil)
            let result = try await LoadClient.result(of: load, timeout: 30)
            let after = try await gateway.metric("gateway_requests_total")
            #expect(result.failures.isEmpty, "failures: \(result.failures) \(result.examples)")
            #expect(Set(result.statuses.keys) == ["200"])
            #expect(after - before >= 20, "\(after - before) requests served after the log stalled")
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<8 {
                    group.addTask { try await Curl.request(gateway, "/public/after-\(index)").status }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses == Array(repeating: 200, count: 8))
            #expect(try await gateway.metric("gateway_access_log_dropped_total") >= dropped)
            let warnings = gateway.child.stderrText.components(separatedBy: "access log's destination is not keeping up").count - 1
            #expect(warnings == 1, "the drop is said once in the application log: \(gateway.child.stderrText.suffix(2000))")

            // SIGTERM still exits: the writer stuck on the pipe is given up on after a bounded wait.
            gateway.child.signal(SIGTERM)
            let status = await gateway.child.waitForExit(timeout: 20)
            #expect(status == 0, "exit \(String(describing: status)): \(gateway.child.stderrText.suffix(2000))")
        }
        try? neverRead.fileHandleForReading.close()
    }
}
