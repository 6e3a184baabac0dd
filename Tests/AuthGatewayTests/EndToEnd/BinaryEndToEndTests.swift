import Foundation
import JOSE
import GatewayPolicy
import TestSupport
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

    @Test("--version names the version, the commit, the Swift compiler and the OpenSSL the binary runs with")
    func version() async throws {
        let directory = try Self.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = try await Command.run(try GatewayBinary.path(), ["--version"], directory: directory)
        #expect(result.status == 0)
        #expect(result.stdoutText.hasPrefix("auth-gateway \(BuildInfo.version) (commit \(BuildInfo.commit), Swift "), "\(result)")
        #expect(result.stdoutText.contains("OpenSSL 3."), "\(result)")
    }

    @Test("serve: before any request, /metrics has every series OPERATIONS.md documents whose labels the build or the configuration fixes")
    func documentedSeriesFromStartUp() async throws {
        let directory = try Self.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = try GatewayBinary.writeConfiguration(
            GatewayBinary.configuration(upstream: ["http://127.0.0.1:9", "http://127.0.0.1:10"]), in: directory)
        let gateway = try await GatewayProcess.start(configPath: config, directory: directory)
        let exposition: String
        do { exposition = try await gateway.metricsText() } catch {
            await gateway.stop()
            throw error
        }
        await gateway.stop()
        let samples = exposition.split(separator: "\n").filter { !$0.hasPrefix("#") }
        // The metric table: | `name` | type | labels | meaning |. Labels that traffic brings (route, status,
        // kind, reason, alg, ...) have no value before the first request; these have one from the start.
        let fixed: Set<String> = ["version", "commit", "swift", "openssl", "issuer", "upstream", "target", "state"]
        let guide = try String(contentsOfFile: TestTools.repositoryRoot + "/docs/OPERATIONS.md", encoding: .utf8)
        var expected: [String] = []
        for row in guide.split(separator: "\n") where row.hasPrefix("| `gateway_") {
            let cells = row.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 3 else { continue }
            let labels = cells[2].split(separator: ",").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "` ")) }
            if labels.allSatisfy({ $0.isEmpty || fixed.contains($0) }) {
                expected.append(cells[0].trimmingCharacters(in: CharacterSet(charactersIn: "`")))
            }
        }
        #expect(expected.count >= 18, "the table parse found only \(expected)")
        for name in expected {
            #expect(samples.contains { $0.hasPrefix(name + " ") || $0.hasPrefix(name + "{") }, "\(name) is missing at start-up")
        }
        // Both configured targets of the upstream, though neither was ever asked for a connection.
        for target in ["http://127.0.0.1:9", "http://127.0.0.1:10"] {
            #expect(samples.contains { $0.hasPrefix(#"gateway_upstream_queued_requests{upstream="svc",target="\#(target)"} 0"#) },
                    "\(samples.filter { $0.hasPrefix("gateway_upstream") })")
        }
    }

    @Test("serve: a port another socket holds is named by its configuration key, address and port; exit non-zero")
    func bindFailureNamed() async throws {
        let directory = try Self.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let held = try ClosedLoopbackPort()
        defer { held.close() }
        let config = try GatewayBinary.writeConfiguration(
            GatewayBinary.configuration(upstream: ["http://127.0.0.1:9"])
                .replacingOccurrences(of: "port: 0\n    tls", with: "port: \(held.port)\n    tls"),
            in: directory)
        let result = try await Command.run(try GatewayBinary.path(), ["serve", "--config", config], directory: directory)
        #expect(result.status != 0, "\(result)")
        #expect(result.stderrText.contains("listeners[0]: cannot listen on 127.0.0.1:\(held.port)"), "\(result)")
    }

    @Test("check: an issuer key file holding a private key loads, with a warning naming the file and the fix")
    func privateKeyWarning() async throws {
        let directory = try Self.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let key = try JWSKey.generate(algorithm: .RS256, keyID: "k1")
        let pem = directory + "/private.pem"
        try key.privateKeyPEM().write(toFile: pem, atomically: true, encoding: .utf8)
        let config = try GatewayBinary.writeConfiguration(
            GatewayBinary.configuration(upstream: ["http://127.0.0.1:9"])
                .replacingOccurrences(of: "    keys:\n", with: "    keys:\n      - { file: \(pem), alg: RS256 }\n"),
            in: directory)
        let result = try await GatewayBinary.check(config, directory: directory)
        #expect(result.status == 0, "\(result)")
        #expect(result.stdoutText.contains("warning: \(pem): holds a private key"), "\(result)")
        #expect(result.stdoutText.contains("keytool jwks --alg RS256"), "\(result)")
    }

    @Test("check: a missing key file and a TLS key that does not match its certificate are named at their lines")
    func filesAtTheirLines() async throws {
        let directory = try Self.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let otherKey = directory + "/other.key"
        try JWSKey.generate(algorithm: .RS256, keyID: "k").privateKeyPEM().write(toFile: otherKey, atomically: true, encoding: .utf8)
        let missing = GatewayBinary.configuration(upstream: ["http://127.0.0.1:9"])
            .replacingOccurrences(of: "    keys:\n", with: "    keys:\n      - { file: \(directory)/missing.jwk }\n")
        let config = try GatewayBinary.writeConfiguration(missing, in: directory)
        let first = try await GatewayBinary.check(config, directory: directory)
        #expect(first.status == 1)
        #expect(first.stdoutText.contains("gateway.yaml:13:17: \(directory)/missing.jwk: cannot read the key file"), "\(first)")
        let mismatched = GatewayBinary.configuration(upstream: ["http://127.0.0.1:9"])
            .replacingOccurrences(of: "private_key: \(E2EFixtures.shared.privateKeyFile)", with: "private_key: \(otherKey)")
        try mismatched.write(toFile: config, atomically: true, encoding: .utf8)
        let second = try await GatewayBinary.check(config, directory: directory)
        #expect(second.status == 1)
        #expect(second.stdoutText.contains("gateway.yaml:6:20: "), "\(second)")
        #expect(second.stdoutText.contains("\(otherKey): this private key does not match the certificate"), "\(second)")
    }

    @Test("check: a PEM issuer key without alg names the configuration key to set, not a keytool flag")
    func pemWithoutAlgorithm() async throws {
        let directory = try Self.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let pem = directory + "/public.pem"
        try JWSKey.generate(algorithm: .RS256, keyID: "k1").publicKeyPEM().write(toFile: pem, atomically: true, encoding: .utf8)
        let config = try GatewayBinary.writeConfiguration(
            GatewayBinary.configuration(upstream: ["http://127.0.0.1:9"])
                .replacingOccurrences(of: "    keys:\n", with: "    keys:\n      - { file: \(pem) }\n"),
            in: directory)
        let result = try await GatewayBinary.check(config, directory: directory)
        #expect(result.status == 1, "\(result)")
        #expect(result.stdoutText.contains("gateway.yaml:13:9: error: the PEM key") && result.stdoutText.contains("needs `alg`"), "\(result)")
        #expect(!result.stdoutText.contains("--alg"), "\(result)")
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
    @Test("reload: SIGHUP and the file watcher apply a change once, refuse a broken one once, and name restart-only settings",
          .timeLimit(.minutes(2)))
    func reloadOncePerChange() async throws {
        let directory = try Self.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let upstream = try await RecordingUpstream.start(.init(name: "svc"), in: directory)
        let configText = GatewayBinary.configuration(upstream: [upstream.url])
        let config = try GatewayBinary.writeConfiguration(configText, in: directory)
        let gateway = try await GatewayProcess.start(configPath: config, directory: directory)
        func count(_ text: String) -> Int { gateway.child.stderrText.components(separatedBy: text).count - 1 }
        /// SIGHUP right after the edit, then longer than two watcher periods (2 s): both have seen the change.
        func editThenSIGHUP(_ edit: () throws -> Void) async throws {
            try edit()
            gateway.child.signal(SIGHUP)
            try await Task.sleep(nanoseconds: 5_000_000_000)
        }
        let policy = directory + "/policies/test.yaml"
        let route = "\n  - name: extra\n    match: { methods: [GET], path: /extra/** }\n    upstream: svc\n    auth: public\n"
        try await editThenSIGHUP { try (standardPolicy + route).write(toFile: policy, atomically: true, encoding: .utf8) }
        try #require(count("reloaded") == 1, "\(gateway.child.stderrText.suffix(3000))")
        #expect(try await Curl.request(gateway, "/extra/x").status == 200)

        try await editThenSIGHUP { try (standardPolicy + "\n  - name: broken\n").write(toFile: policy, atomically: true, encoding: .utf8) }
        #expect(count("reload failed") == 1, "\(gateway.child.stderrText.suffix(3000))")
        #expect(try await Curl.request(gateway, "/extra/x").status == 200, "the last good policy keeps serving")

        // A SIGHUP with nothing changed reloads nothing; a new listener port is named as needing a restart.
        gateway.child.signal(SIGHUP)
        try await Task.sleep(nanoseconds: 500_000_000)
        #expect(count("nothing changed since the last reload") == 1)
        try await editThenSIGHUP {
            try (standardPolicy + route).write(toFile: policy, atomically: true, encoding: .utf8)
            try configText.replacingOccurrences(of: "port: 0\n    tls", with: "port: 1\n    tls")
                .write(toFile: config, atomically: true, encoding: .utf8)
        }
        #expect(count("reloaded") == 2, "\(gateway.child.stderrText.suffix(3000))")
        #expect(count("apply only after a restart") == 1)
        #expect(gateway.child.stderrText.contains("listeners[0].port"))
        #expect(try await Curl.request(gateway, "/extra/x").status == 200, "still serving on the port it started with")
        await gateway.stop()
        await upstream.stop()
    }
}
