import Foundation
import TestSupport
import GatewayConfig

/// One event the recording upstream wrote (Tests/e2e/recording_upstream.py): a connection, a complete
/// request exactly as received, an incomplete one, or bytes a canary saw.
struct UpstreamEvent: Decodable, Sendable {
    let event: String
    let conn: Int
    let seq: Int?
    let peer: String?
    let requestLine: String?
    /// Every header line as sent: raw name and value, in order, duplicates kept.
    let headers: [[String]]?
    let bodyLength: Int?
    let bodySHA256: String?
    let chunked: Bool?
    /// The trailer fields of a chunked body, as sent (the gateway forwards none).
    let trailers: [[String]]?
    let reason: String?
    let data: String?

    enum CodingKeys: String, CodingKey {
        case event, conn, seq, peer, headers, chunked, trailers, reason, data
        case requestLine = "request_line"
        case bodyLength = "body_length"
        case bodySHA256 = "body_sha256"
    }

    var isRequest: Bool { event == "request" }
    var isConnection: Bool { event == "connection" }

    /// `GET`, `/path?query`, `HTTP/1.1` from the request line.
    var method: String { requestLine.map { String($0.split(separator: " ").first ?? "") } ?? "" }
    var target: String {
        guard let parts = requestLine?.split(separator: " ", omittingEmptySubsequences: false), parts.count == 3
        else { return "" }
        return String(parts[1])
    }
    var version: String { requestLine.map { String($0.split(separator: " ").last ?? "") } ?? "" }

    /// The values of every header line whose name equals `name`, ignoring case.
    func values(_ name: String) -> [String] {
        (headers ?? []).filter { $0.count == 2 && $0[0].lowercased() == name.lowercased() }.map { $0[1] }
    }

    /// Header names as sent.
    var headerNames: [String] { (headers ?? []).compactMap(\.first) }
}

/// The recording upstream as a real process on a loopback port; stopped by PID.
final class RecordingUpstream: @unchecked Sendable {
    /// Behaviour flags of recording_upstream.py.
    struct Behaviour: Sendable {
        var name = "upstream"
        var delayMilliseconds = 0
        var status = 200
        var responseBytes: Int?
        /// Record the connection and the first bytes, then close (nothing should ever come).
        var canary = false
        /// With `responseBytes`: answers to targets under `/public/cut` stop after this many body bytes and
        /// the connection is reset.
        var cutAfterBytes: Int?
        /// Read request bodies at about this many bytes per second, through a small receive buffer.
        var readBytesPerSecond: Int?

        var arguments: [String] {
            var result = ["--name", name, "--status", String(status)]
            if delayMilliseconds > 0 { result += ["--delay-ms", String(delayMilliseconds)] }
            if let responseBytes { result += ["--response-bytes", String(responseBytes)] }
            if canary { result.append("--canary") }
            if let cutAfterBytes { result += ["--cut-after-bytes", String(cutAfterBytes)] }
            if let readBytesPerSecond { result += ["--read-rate", String(readBytesPerSecond)] }
            return result
        }
    }

    let behaviour: Behaviour
    let port: Int
    let recordsPath: String
    private let child: ChildProcess

    private init(behaviour: Behaviour, port: Int, recordsPath: String, child: ChildProcess) {
        self.behaviour = behaviour
        self.port = port
        self.recordsPath = recordsPath
        self.child = child
    }

    /// Starts the process in `directory` and reads its port from the first stdout line (bounded wait).
    static func start(_ behaviour: Behaviour = Behaviour(), in directory: String) async throws -> RecordingUpstream {
        let recordsPath = directory + "/records-\(behaviour.name)-\(UUID().uuidString.prefix(8)).jsonl"
        _ = FileManager.default.createFile(atPath: recordsPath, contents: nil)
        let child = try ChildProcess.python(
            "recording_upstream.py", [recordsPath] + behaviour.arguments, directory: directory,
            label: "upstream-\(behaviour.name)")
        try await child.wait(for: "port line", timeout: 15) { $0.stdoutText.contains("\n") }
        guard let port = Int(child.stdoutText.split(separator: "\n").first ?? "") else {
            throw HarnessError("recording upstream printed no port: \(child.stdoutText)")
        }
        return RecordingUpstream(behaviour: behaviour, port: port, recordsPath: recordsPath, child: child)
    }

    var target: GatewayConfiguration.Target { GatewayConfiguration.Target(host: "127.0.0.1", port: port) }
    var url: String { "http://127.0.0.1:\(port)" }

    /// Every event so far (only complete lines).
    func events() -> [UpstreamEvent] {
        guard let data = FileManager.default.contents(atPath: recordsPath) else { return [] }
        let decoder = JSONDecoder()
        var result: [UpstreamEvent] = []
        var lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true)
        if data.last != UInt8(ascii: "\n"), !lines.isEmpty { lines.removeLast() }  // a line still being written
        for line in lines {
            if let event = try? decoder.decode(UpstreamEvent.self, from: Data(line)) { result.append(event) }
        }
        return result
    }

    /// How many events there are now; pass it to `events(since:)` to see only what came after.
    func mark() -> Int { events().count }

    func events(since mark: Int) -> [UpstreamEvent] { Array(events().dropFirst(mark)) }

    func requests(since mark: Int = 0) -> [UpstreamEvent] { events(since: mark).filter(\.isRequest) }

    /// Waits (bounded) until at least `count` requests arrived after `mark`.
    func waitForRequests(_ count: Int, since mark: Int = 0, timeout: Double = 10) async -> [UpstreamEvent] {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let found = requests(since: mark)
            if found.count >= count || Date() > deadline { return found }
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
    }

    /// Waits (bounded) until a request head whose request line starts with `prefix` arrived after `mark`: the
    /// gateway has begun to forward that request (its body may still be on the way). `nil` if none came.
    func waitForHead(_ prefix: String, since mark: Int = 0, timeout: Double = 10) async -> UpstreamEvent? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let head = events(since: mark).first(where: { $0.event == "head" && ($0.requestLine ?? "").hasPrefix(prefix) }) {
                return head
            }
            if Date() > deadline { return nil }
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
    }

    /// Events after `mark`, once nothing new has arrived for `settle` seconds: for "nothing came" checks,
    /// a short quiet period after the client already has its answer.
    func settledEvents(since mark: Int, settle: Double = 0.25) async -> [UpstreamEvent] {
        try? await Task.sleep(nanoseconds: UInt64(settle * 1e9))
        return events(since: mark)
    }

    var isRunning: Bool { child.isRunning }
    var stderrText: String { child.stderrText }

    func stop() async {
        await child.stop(grace: 1)
    }
}

/// A loopback port that must never be touched: any connection during a test is a failure. Use its port
/// as a bogus Host, an absolute-form target, a JWKS or `jku` URL.
final class Canary: @unchecked Sendable {
    let listener: RecordingUpstream

    private init(listener: RecordingUpstream) { self.listener = listener }

    static func start(in directory: String) async throws -> Canary {
        var behaviour = RecordingUpstream.Behaviour()
        behaviour.name = "canary"
        behaviour.canary = true
        return Canary(listener: try await RecordingUpstream.start(behaviour, in: directory))
    }

    var port: Int { listener.port }
    var hostPort: String { "127.0.0.1:\(listener.port)" }

    /// Every connection (and the bytes sent on it) so far; empty when nothing touched the canary.
    func touches(settle: Double = 0.2) async -> [UpstreamEvent] {
        await listener.settledEvents(since: 0, settle: settle)
    }

    func stop() async { await listener.stop() }
}
