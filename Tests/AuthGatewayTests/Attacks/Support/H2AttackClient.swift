import Foundation
import TestSupport

/// What Tests/e2e/h2_attack.py saw on one HTTP/2 connection after sending a named scenario.
struct H2AttackResult: Decodable, Sendable, CustomStringConvertible {
    struct Stream: Decodable, Sendable {
        let status: Int?
        let headers: [[String]]
        let body: String
        let ended: Bool
        /// The RST_STREAM error code the server sent (`PROTOCOL_ERROR`, ...), if any.
        let reset: String?

        func values(_ name: String) -> [String] {
            headers.filter { $0.count == 2 && $0[0].lowercased() == name.lowercased() }.map { $0[1] }
        }

        var json: [String: Any]? {
            (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any]
        }
    }

    struct GoAway: Decodable, Sendable {
        let error: String
        let lastStreamID: Int

        enum CodingKeys: String, CodingKey {
            case error
            case lastStreamID = "last_stream_id"
        }
    }

    let scenario: String
    let alpn: String?
    let streams: [String: Stream]
    let goaway: GoAway?
    let closedByServer: Bool
    let counts: [String: Int]
    /// The server's SETTINGS by name (`MAX_CONCURRENT_STREAMS`, `MAX_HEADER_LIST_SIZE`, ...).
    let settings: [String: Int]
    /// A normal request sent afterwards on the same connection (absent when it was closed or went away).
    let followUp: Stream?
    /// HTTP/1.1 scenarios: the bytes received.
    let raw: String?

    enum CodingKeys: String, CodingKey {
        case scenario, alpn, streams, goaway, counts, raw, settings
        case closedByServer = "closed_by_server"
        case followUp = "follow_up"
    }

    func stream(_ id: Int) -> Stream? { streams[String(id)] }

    var description: String {
        let shown = streams.sorted { Int($0.key)! < Int($1.key)! }.prefix(3).map { id, stream in
            "\(id): status \(stream.status.map(String.init) ?? "-") reset \(stream.reset ?? "-")"
        }
        return "\(scenario): streams [\(shown.joined(separator: "; "))\(streams.count > 3 ? "; +\(streams.count - 3)" : "")], "
            + "goaway \(goaway.map { "\($0.error) last \($0.lastStreamID)" } ?? "none"), closed \(closedByServer), "
            + "follow-up \(followUp?.status.map(String.init) ?? "none"), counts \(counts)"
            + (raw.map { ", raw \($0.prefix(200))" } ?? "")
    }
}

/// Runs Tests/e2e/h2_attack.py (Python's `h2` package, whose absence fails the test loudly: scripts/setup
/// installs it). The token travels in a file that is removed afterwards, never on the command line.
enum H2AttackClient {
    static func run(
        _ endpoint: GatewayEndpoint, _ scenario: String, token: String? = nil, count: Int? = nil, evil: String? = nil,
        followUp: Bool = true, timeout: Double = 8, upstreamRecords: String? = nil
    ) async throws -> H2AttackResult {
        var arguments = [
            "-u", E2EPaths.scripts + "/h2_attack.py", scenario, "--port", String(endpoint.port), "--cafile",
            endpoint.caFile, "--timeout", String(timeout),
        ]
        var tokenFile: String?
        if let token {
            let path = endpoint.directory + "/token-\(UUID().uuidString.prefix(8))"
            try token.write(toFile: path, atomically: true, encoding: .ascii)
            tokenFile = path
            arguments += ["--token-file", path]
        }
        defer { if let tokenFile { try? FileManager.default.removeItem(atPath: tokenFile) } }
        if let count { arguments += ["--count", String(count)] }
        if let evil { arguments += ["--evil", evil] }
        if !followUp { arguments.append("--no-follow-up") }
        if let upstreamRecords { arguments += ["--upstream-records", upstreamRecords] }
        let executable = TestTools.python
        let result = try await Command.run(
            executable, arguments, directory: endpoint.directory, timeout: timeout * 3 + 10, label: "h2-attack")
        guard result.status == 0 else {
            throw HarnessError("h2_attack.py \(scenario) exited \(result.status): \(result.stderrText)")
        }
        do {
            return try JSONDecoder().decode(H2AttackResult.self, from: result.stdout)
        } catch {
            throw HarnessError("h2_attack.py \(scenario) printed \(result.stdoutText.prefix(500)): \(error)")
        }
    }
}

/// What Tests/e2e/tls_probe.py saw after sending one hand-built ClientHello.
struct TLSProbeResult: Decodable, Sendable, CustomStringConvertible {
    struct Alert: Decodable, Sendable {
        let level: Int
        let description: Int
    }

    struct ServerHello: Decodable, Sendable {
        let version: String
        let cipher: String
        let compression: Int
        let extensions: [Int]
        let supportedVersion: String?

        enum CodingKeys: String, CodingKey {
            case version, cipher, compression, extensions
            case supportedVersion = "supported_version"
        }
    }

    /// `server_hello`, `alert`, `closed`, `timeout` or `other`.
    let outcome: String
    let alert: Alert?
    let serverHello: ServerHello?
    let seconds: Double
    let sent: Int

    enum CodingKeys: String, CodingKey {
        case outcome, alert, seconds, sent
        case serverHello = "server_hello"
    }

    var description: String {
        "\(outcome) alert \(alert.map { "\($0.level)/\($0.description)" } ?? "-") hello "
            + "\(serverHello.map { "\($0.version) \($0.cipher) comp \($0.compression) ext \($0.extensions)" } ?? "-") after \(seconds) s"
    }
}

enum TLSProbe {
    /// TLS alert descriptions (RFC 8446 §6).
    static let handshakeFailure = 40
    static let illegalParameter = 47
    static let protocolVersion = 70
    static let unrecognizedName = 112

    static func run(_ endpoint: GatewayEndpoint, _ arguments: [String], timeout: Double = 5) async throws -> TLSProbeResult {
        let executable = TestTools.python
        let result = try await Command.run(
            executable,
            ["-u", E2EPaths.scripts + "/tls_probe.py", "--port", String(endpoint.port), "--timeout", String(timeout)]
                + arguments,
            directory: endpoint.directory, timeout: timeout + 10, label: "tls-probe")
        guard result.status == 0 else { throw HarnessError("tls_probe.py exited \(result.status): \(result.stderrText)") }
        do {
            return try JSONDecoder().decode(TLSProbeResult.self, from: result.stdout)
        } catch {
            throw HarnessError("tls_probe.py printed \(result.stdoutText.prefix(500)): \(error)")
        }
    }
}

/// `openssl s_client` for one handshake (and optional input): its whole output, to read what was
/// negotiated or why it failed.
enum OpenSSLClient {
    static func run(
        _ endpoint: GatewayEndpoint, _ options: [String], input: String = "", timeout: Double = 10
    ) async throws -> CommandResult {
        try await Command.run(
            E2EPaths.openssl,
            ["s_client", "-connect", "127.0.0.1:\(endpoint.port)", "-servername", "localhost", "-CAfile", endpoint.caFile]
                + options,
            stdin: Data(input.utf8), directory: endpoint.directory, timeout: timeout, label: "s_client")
    }
}
