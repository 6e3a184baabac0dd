import Foundation
import TestSupport

/// Tests/e2e/load.py: keep-alive HTTPS connections sending one request over and over for a bounded time.
enum LoadClient {
    struct Result {
        let statuses: [String: Int]
        let failures: [String: Int]
        let examples: [String]
        var total: Int { statuses.values.reduce(0, +) }
    }

    /// Starts load.py: `connections` keep-alive connections sending GET `path` for `duration` seconds.
    static func run(
        _ gateway: GatewayEndpoint, token: String?, path: String = "/api/data/load", connections: Int, duration: Double,
        stopFile: String? = nil
    ) throws -> ChildProcess {
        var arguments = [
            String(gateway.port), path, "--cafile", gateway.caFile, "--connections", String(connections),
            "--duration", String(duration),
        ]
        if let token { arguments += ["--authorization", "Bearer \(token)"] }
        if let stopFile { arguments += ["--stop-file", stopFile] }
        return try ChildProcess.python("load.py", arguments, directory: gateway.directory)
    }

    static func result(of load: ChildProcess, timeout: Double) async throws -> Result {
        guard await load.waitForExit(timeout: timeout) == 0 else {
            throw HarnessError("load.py did not finish: \(load.stderrText)")
        }
        guard let line = load.stdoutText.split(separator: "\n").last,
            let json = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        else { throw HarnessError("load.py printed no result: \(load.stdoutText) \(load.stderrText)") }
        return Result(
            statuses: json["statuses"] as? [String: Int] ?? [:], failures: json["failures"] as? [String: Int] ?? [:],
            examples: json["examples"] as? [String] ?? [])
    }
}
