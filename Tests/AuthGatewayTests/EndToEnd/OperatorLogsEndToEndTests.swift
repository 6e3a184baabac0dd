import Foundation
import JOSE
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The executable's logs as an operator's tools see them: logrotate's SIGUSR1, and `logging.format: json` read
/// by a log shipper that splits records at line ends.
@Suite("End to end: log rotation and JSON application logs")
struct OperatorLogsEndToEndTests {
    /// The lines of a file (none when it does not exist yet).
    static func lines(_ path: String) -> [Substring] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n")
    }

    /// Waits (bounded) until `condition` holds; access-log lines are handed over every 100 ms.
    static func eventually(_ what: String, timeout: Double = 10, _ condition: () -> Bool) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while !condition() {
            guard Date() < deadline else { throw HarnessError("not within \(timeout) s: \(what)") }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
    }

    @Test("SIGUSR1 reopens the access log at its path after logrotate moved it; a path it cannot open is said, and lines go on into the moved file",
          .timeLimit(.minutes(2)))
    func accessLogRotation() async throws {
        let directory = try TestTools.temporaryDirectory(prefix: "gw-log-rotate")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let upstream = try await RecordingUpstream.start(.init(name: "svc"), in: directory)
        let config = try GatewayBinary.writeConfiguration(
            GatewayBinary.configuration(upstream: [upstream.url], accessLog: "access.log"), in: directory)
        let gateway = try await GatewayProcess.start(configPath: config, directory: directory)
        let log = directory + "/access.log"
        let rotated = log + ".1"
        func logged(_ path: String, _ request: String) -> Bool {
            Self.lines(path).contains { $0.contains(#""path":"/public/\#(request)""#) }
        }
        try await stopping(gateway, upstream) {
            #expect(try await Curl.request(gateway, "/public/one").status == 200)
            try await Self.eventually("the first line in access.log") { logged(log, "one") }

            // logrotate moves the file; until the signal the gateway writes on into the moved file.
            try FileManager.default.moveItem(atPath: log, toPath: rotated)
            #expect(try await Curl.request(gateway, "/public/two").status == 200)
            try await Self.eventually("the second line in the moved file") { logged(rotated, "two") }
            gateway.child.signal(SIGUSR1)
            try await Self.eventually("the reopen logged") { gateway.child.stderrText.contains("access log reopened") }
            #expect(try await Curl.request(gateway, "/public/three").status == 200)
            try await Self.eventually("the third line in a new access.log") { logged(log, "three") }
            #expect(Self.lines(rotated).count == 2 && logged(rotated, "one"), "\(Self.lines(rotated))")
            #expect(Self.lines(log).count == 1, "\(Self.lines(log))")

            // A path the gateway cannot open (a directory stands there): said in the log, and no line is lost.
            try FileManager.default.moveItem(atPath: log, toPath: log + ".2")
            try FileManager.default.createDirectory(atPath: log, withIntermediateDirectories: false)
            gateway.child.signal(SIGUSR1)
            try await Self.eventually("the failed reopen logged") {
                gateway.child.stderrText.contains("access log not reopened")
            }
            let failure = gateway.child.stderrText.split(separator: "\n").first { $0.contains("access log not reopened") }
            #expect(failure?.contains("error") == true && failure?.contains(log) == true, "\(failure ?? "")")
            #expect(try await Curl.request(gateway, "/public/four").status == 200)
            try await Self.eventually("the fourth line in the file it had open") { logged(log + ".2", "four") }
            #expect(gateway.child.isRunning)
        }
    }

    @Test("logging.format: json: every line on standard error is one JSON object, a start-up warning's and a failed reload's included",
          .timeLimit(.minutes(2)))
    func jsonApplicationLog() async throws {
        let directory = try TestTools.temporaryDirectory(prefix: "gw-json-log")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let upstream = try await RecordingUpstream.start(.init(name: "svc"), in: directory)
        // An issuer key given as a private key: a configuration warning, logged before anything listens.
        let privateKey = directory + "/private.pem"
        try JWSKey.generate(algorithm: .RS256, keyID: "k1").privateKeyPEM()
            .write(toFile: privateKey, atomically: true, encoding: .utf8)
        let text = GatewayBinary.configuration(upstream: [upstream.url])
            .replacingOccurrences(of: "    keys:\n", with: "    keys:\n      - { file: \(privateKey), alg: RS256 }\n")
        let json = text.replacingOccurrences(of: "logging: { level: info,", with: "logging: { format: json, level: info,")
        try #require(json != text && text.contains(privateKey))
        let config = try GatewayBinary.writeConfiguration(json, in: directory)
        let gateway = try await GatewayProcess.start(configPath: config, directory: directory)
        try await stopping(gateway, upstream) {
            // A policy with two problems: the failed reload names both, in one record.
            let broken = "version: 1\nroutes:\n  - name: broken\n    nonsense: 1\n"
            try broken.write(toFile: directory + "/policies/test.yaml", atomically: true, encoding: .utf8)
            gateway.child.signal(SIGHUP)
            try await Self.eventually("the failed reload logged") { gateway.child.stderrText.contains("reload failed") }
            #expect(try await gateway.metric("gateway_reload_failures_total") == 1)
            #expect(try await Curl.request(gateway, "/public/still").status == 200, "the last good policy serves")
        }

        let lines = gateway.child.stderrText.split(separator: "\n")
        #expect(lines.count >= 4, "\(lines)")
        var records: [[String: Any]] = []
        for line in lines {
            let record = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(record != nil, "not one JSON object: \(line.prefix(300))")
            if let record { records.append(record) }
        }
        for record in records {
            #expect(record["time"] is String && record["level"] is String && record["message"] is String, "\(record)")
        }
        let warnings = records.filter { ($0["warning"] as? String)?.contains("holds a private key") == true }
        #expect(warnings.count == 1 && warnings.first?["level"] as? String == "warning", "\(records)")
        let failures = records.filter { ($0["message"] as? String)?.contains("reload failed") == true }
        #expect(failures.count == 1, "\(failures)")
        let failure = failures.first.map { String(describing: $0) } ?? ""
        #expect(failure.contains("test.yaml:4"), "the record names the file and line: \(failure)")
        #expect(failures.first?["level"] as? String == "error")
    }
}
