import Foundation
import TestSupport

/// An HTTP response as a client saw it.
struct ClientResponse: Sendable {
    let status: Int
    /// `1.1` or `2` (curl's `%{http_version}`), empty when unknown.
    let httpVersion: String
    /// Header lines in order; names as received.
    let headers: [(name: String, value: String)]
    let body: Data

    var bodyText: String { String(decoding: body, as: UTF8.self) }

    func values(_ name: String) -> [String] {
        headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }

    func header(_ name: String) -> String? { values(name).first }

    /// The body as a JSON object (the upstream's echo, or a problem document).
    var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] }
}

/// curl as an independent HTTP/1.1 and HTTP/2 client: verifies the test CA, never normalizes the path.
enum Curl {
    struct Failure: Error, CustomStringConvertible {
        let exitCode: Int32
        let stderr: String
        var description: String { "curl exited \(exitCode): \(stderr)" }
    }

    /// One request. `headers` are `Name: value` lines sent as given; `dataFile` is uploaded with
    /// `--data-binary @file`; the response body is saved to `outputFile` when given (and then not loaded).
    static func request(
        _ harness: GatewayEndpoint, _ path: String, method: String? = nil, headers: [String] = [],
        http2: Bool = false, dataFile: String? = nil, outputFile: String? = nil, extra: [String] = [],
        timeout: Double = 20
    ) async throws -> ClientResponse {
        let id = UUID().uuidString.prefix(8)
        let headerFile = harness.directory + "/curl-\(id).headers"
        let bodyFile = outputFile ?? harness.directory + "/curl-\(id).body"
        defer {
            try? FileManager.default.removeItem(atPath: headerFile)
            if outputFile == nil { try? FileManager.default.removeItem(atPath: bodyFile) }
        }
        var arguments = [
            "-sS", "--path-as-is", "--cacert", harness.caFile, "--max-time", String(Int(timeout)),
            http2 ? "--http2" : "--http1.1", "-D", headerFile, "-o", bodyFile,
            "-w", "%{http_code} %{http_version}",
        ]
        if let method { arguments += ["-X", method] }
        for header in headers { arguments += ["-H", header] }
        if let dataFile { arguments += ["--data-binary", "@" + dataFile] }
        arguments += extra
        arguments.append("https://127.0.0.1:\(harness.port)\(path)")
        let result = try await Command.run(
            E2EPaths.curl, arguments, directory: harness.directory, timeout: timeout + 5, label: "curl")
        guard result.status == 0 else { throw Failure(exitCode: result.status, stderr: result.stderrText) }
        let summary = result.stdoutText.split(separator: " ")
        let status = Int(summary.first ?? "") ?? 0
        let version = summary.count > 1 ? String(summary[1]) : ""
        let headerText = (try? String(contentsOfFile: headerFile, encoding: .isoLatin1)) ?? ""
        let body = outputFile == nil ? (FileManager.default.contents(atPath: bodyFile) ?? Data()) : Data()
        return ClientResponse(
            status: status, httpVersion: version, headers: Self.finalHeaders(headerText), body: body)
    }

    /// The header lines of the last response in a `-D` dump (skips `100 Continue`).
    static func finalHeaders(_ text: String) -> [(name: String, value: String)] {
        let blocks = text.replacingOccurrences(of: "\r\n", with: "\n").components(separatedBy: "\n\n")
            .filter { !$0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }
        guard let last = blocks.last else { return [] }
        return last.split(separator: "\n").dropFirst().compactMap { line in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
    }
}

/// Tests/e2e/client.py: Python's ssl + http.client as a second, independent HTTP/1.1 client.
enum PythonClient {
    static func request(
        _ harness: GatewayEndpoint, _ path: String, method: String = "GET", headers: [String] = [],
        repeat count: Int = 1, timeout: Double = 20
    ) async throws -> [ClientResponse] {
        var arguments = [
            "-u", E2EPaths.scripts + "/client.py", "--port", String(harness.port), "--cafile", harness.caFile,
            "--method", method, "--path", path, "--repeat", String(count), "--timeout", String(Int(timeout)),
        ]
        for header in headers { arguments += ["-H", header] }
        let executable = TestTools.python
        let result = try await Command.run(
            executable, arguments, directory: harness.directory, timeout: timeout + 5, label: "client-py")
        guard result.status == 0 else { throw HarnessError("client.py exited \(result.status): \(result.stderrText)") }
        return try result.stdoutText.split(separator: "\n").map { line in
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let status = object["status"] as? Int, let headers = object["headers"] as? [[String]],
                let body = object["body"] as? String
            else { throw HarnessError("client.py printed \(line)") }
            return ClientResponse(
                status: status, httpVersion: "1.1", headers: headers.map { ($0[0], $0[1]) },
                body: Data(body.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) }))
        }
    }
}

/// Exact bytes over TLS with `openssl s_client -quiet` (curl and http.client normalize away the inputs
/// that matter): what came back, and whether the server closed the connection.
enum RawTLSClient {
    struct Response: Sendable {
        let bytes: Data
        /// The server ended the connection (s_client exited by itself) rather than the test giving up.
        let closedByServer: Bool
        var text: String { String(decoding: bytes, as: UTF8.self) }

        /// Status codes of the responses in the byte stream, in order. A status line may follow the
        /// previous body directly (bodies need not end in CRLF), so it is found anywhere, as
        /// `HTTP/1.x NNN ` — a pattern the echoed request data (`... HTTP/1.1"`) never has.
        var statuses: [Int] {
            let bytes = Array(text.utf8)
            let prefix = Array("HTTP/1.".utf8)
            var found: [Int] = []
            var index = 0
            while index + prefix.count + 6 <= bytes.count {
                defer { index += 1 }
                guard bytes[index..<(index + prefix.count)].elementsEqual(prefix) else { continue }
                let rest = bytes[(index + prefix.count)..<(index + prefix.count + 6)]
                let minor = rest[rest.startIndex]
                let digits = rest.dropFirst(2).prefix(3)
                guard minor == UInt8(ascii: "0") || minor == UInt8(ascii: "1"), rest.dropFirst().first == UInt8(ascii: " "),
                    digits.allSatisfy({ (0x30...0x39).contains($0) }), rest.last == UInt8(ascii: " ")
                else { continue }
                found.append(Int(String(decoding: digits, as: UTF8.self)) ?? 0)
            }
            return found
        }
    }

    /// Sends `bytes` and reads until the server closes, or until `complete` holds for what arrived (then
    /// waits `grace` seconds to see whether the server closes), or `timeout`.
    static func exchange(
        _ harness: GatewayEndpoint, _ bytes: [UInt8], alpn: String = "http/1.1", timeout: Double = 10,
        grace: Double = 0.3, complete: (@Sendable (String) -> Bool)? = nil
    ) async throws -> Response {
        let input = harness.directory + "/raw-\(UUID().uuidString.prefix(8)).in"
        try Data(bytes).write(to: URL(fileURLWithPath: input))
        defer { try? FileManager.default.removeItem(atPath: input) }
        let child = try ChildProcess(
            E2EPaths.openssl,
            [
                "s_client", "-quiet", "-connect", "127.0.0.1:\(harness.port)", "-servername", "localhost",
                "-CAfile", harness.caFile, "-verify_return_error", "-alpn", alpn,
            ],
            label: "s_client", stdinPath: input, directory: harness.directory)
        defer {
            try? FileManager.default.removeItem(atPath: child.stdoutPath)
            try? FileManager.default.removeItem(atPath: child.stderrPath)
        }
        let deadline = Date().addingTimeInterval(timeout)
        var closed = false
        while Date() < deadline {
            if !child.isRunning {
                closed = true
                break
            }
            if let complete, complete(child.stdoutText) {
                closed = await child.waitForExit(timeout: grace) != nil
                break
            }
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        if !closed { await child.stop(grace: 0.5) }
        if closed, child.stdout.isEmpty, child.exitStatus != 0 {
            throw HarnessError("s_client failed: \(child.stderrText)")
        }
        return Response(bytes: child.stdout, closedByServer: closed)
    }
}
