import Foundation
import JOSE
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Tokens for gateways that are not a ``GatewayHarness`` (the binary), from the shared fixtures.
enum GatewayTokens {
    static func token(sub: String, scope: String) throws -> String {
        let now = Int64(Date().timeIntervalSince1970)
        return try JWTSigner.sign(
            claims: [
                "iss": .string(E2EFixtures.issuer), "aud": .string(E2EFixtures.audience), "sub": .string(sub),
                "scope": .string(scope), "iat": .int(now), "exp": .int(now + 600),
            ],
            key: E2EFixtures.shared.rsaKey)
    }
}

/// The `auth-gateway` executable: `check` and `serve`, as operators run them.
@Suite("End to end: the auth-gateway executable")
struct BinaryEndToEndTests {
    private static func scratchDirectory() throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gw-e2e-bin-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    /// 1-based number of the first line of `text` containing `needle`.
    private static func line(of needle: String, in text: String) -> Int? {
        text.components(separatedBy: "\n").firstIndex { $0.contains(needle) }.map { $0 + 1 }
    }

    @Test("check: a valid configuration exits 0")
    func checkValid() async throws {
        let directory = try Self.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = try GatewayBinary.writeConfiguration(
            GatewayBinary.configuration(upstream: ["http://127.0.0.1:9"]), in: directory)
        let result = try await GatewayBinary.check(config, directory: directory)
        #expect(result.status == 0, "output: \(result.stdoutText) \(result.stderrText)")
        #expect(result.stdoutText.contains("ok"))
    }

    @Test("check: an unknown configuration key exits 1 naming file:line")
    func checkBrokenConfiguration() async throws {
        let directory = try Self.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let text = GatewayBinary.configuration(upstream: ["http://127.0.0.1:9"])
            .replacingOccurrences(of: "    response_timeout: 10s", with: "    response_timeuot: 10s")
        let config = try GatewayBinary.writeConfiguration(text, in: directory)
        let line = try #require(Self.line(of: "response_timeuot", in: text))
        let result = try await GatewayBinary.check(config, directory: directory)
        let output = result.stdoutText + result.stderrText
        #expect(result.status == 1, "output: \(output)")
        #expect(output.contains("gateway.yaml:\(line):"), "expected gateway.yaml:\(line) in: \(output)")
        #expect(output.contains("response_timeuot"))
    }

    @Test("check: a broken policy file exits 1 naming file:line")
    func checkBrokenPolicy() async throws {
        let directory = try Self.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let policy = standardPolicy.replacingOccurrences(of: "roles: { any: [admin] }", with: "rolez: { any: [admin] }")
        let config = try GatewayBinary.writeConfiguration(
            GatewayBinary.configuration(upstream: ["http://127.0.0.1:9"]), policy: policy, in: directory)
        let line = try #require(Self.line(of: "rolez", in: policy))
        let result = try await GatewayBinary.check(config, directory: directory)
        let output = result.stdoutText + result.stderrText
        #expect(result.status == 1, "output: \(output)")
        #expect(output.contains("test.yaml:\(line):"), "expected test.yaml:\(line) in: \(output)")
    }

    @Test("serve: answers an allowed request, then drains and exits 0 on SIGTERM")
    func serveAndTerminate() async throws {
        let directory = try Self.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let upstream = try await RecordingUpstream.start(.init(name: "svc"), in: directory)
        let config = try GatewayBinary.writeConfiguration(
            GatewayBinary.configuration(upstream: [upstream.url]), in: directory)
        let gateway = try await GatewayProcess.start(configPath: config, directory: directory)
        let token = try GatewayTokens.token(sub: "erin", scope: "read:data")
        let response = try await Curl.request(
            gateway, "/api/data/x", headers: ["Authorization: Bearer \(token)", "X-User-Id: admin"])
        #expect(response.status == 200)
        let denied = try await Curl.request(gateway, "/api/data/x", http2: true)
        #expect(denied.status == 401)
        let requests = await upstream.waitForRequests(1)
        #expect(requests.count == 1)
        #expect(requests.first?.values("X-User-Id") == ["erin"])

        // The access log: one line per request, never the token (lines are batched for up to 100 ms).
        let logPath = directory + "/access.log"
        func logLines() -> [Substring] {
            ((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "").split(separator: "\n")
        }
        let deadline = Date().addingTimeInterval(3)
        while logLines().count < 2, Date() < deadline { try await Task.sleep(nanoseconds: 50_000_000) }
        #expect(logLines().count == 2, "access log: \(logLines())")
        #expect(logLines().contains { $0.contains(#""protocol":"HTTP/2""#) && $0.contains(#""status":401"#) })

        // A request answered just before SIGTERM is still logged: draining includes the log buffer.
        let last = try await Curl.request(gateway, "/nowhere", headers: ["Authorization: Bearer \(token)"])
        #expect(last.status == 404)
        gateway.child.signal(SIGTERM)
        let status = await gateway.child.waitForExit(timeout: 15)
        #expect(status == 0, "exit \(String(describing: status)); log: \(gateway.child.stderrText.suffix(2000))")
        let lines = logLines()
        #expect(lines.count == 3, "access log after SIGTERM lost the last request: \(lines)")
        #expect(!lines.contains { $0.contains(token) || $0.contains("eyJ") })
        await gateway.stop()
        await upstream.stop()
    }
}
