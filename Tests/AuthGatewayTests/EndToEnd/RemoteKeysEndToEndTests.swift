import GatewayTooling
import Foundation
import TestSupport
import JOSE
import GatewayObservability
import Testing
import GatewayConfig
import AuthGateway
import GatewayDemo

/// Keys from an identity provider's JWKS URL: a local HTTPS JWKS server (a real process, the test CA)
/// plays the provider; tests rotate keys by rewriting its file and cause outages with a marker file.
@Suite("End to end: remote JWKS", .serialized)
struct RemoteKeysEndToEndTests {
    /// A running jwks_server.py and the files that steer it.
    struct Provider {
        let child: ChildProcess
        let port: Int
        let jwksFile: String
        let downFile: String
        let fetchLog: String

        /// `extra`: more options of jwks_server.py (`--discovery`, `--only-from`, ...).
        static func start(
            keys: [JWSKey], directory: String, maxAge: Int? = nil, delayMilliseconds: Int = 0, extra: [String] = []
        ) async throws -> Provider {
            let jwksFile = directory + "/provider-jwks.json"
            let downFile = directory + "/provider-down"
            let fetchLog = directory + "/provider-fetches.log"
            try publish(keys, to: jwksFile)
            let fixtures = E2EFixtures.shared
            var arguments = [
                jwksFile, "--cert", fixtures.certificateFile, "--key", fixtures.privateKeyFile,
                "--down-file", downFile, "--fetch-log", fetchLog,
            ]
            if let maxAge { arguments += ["--max-age", String(maxAge)] }
            if delayMilliseconds > 0 { arguments += ["--delay-ms", String(delayMilliseconds)] }
            arguments += extra
            let child = try ChildProcess.python("jwks_server.py", arguments, directory: directory)
            try await child.wait(for: "port line", timeout: 15) { $0.stdoutText.contains("\n") }
            guard let port = Int(child.stdoutText.split(separator: "\n").first ?? "") else {
                throw HarnessError("jwks_server.py printed no port: \(child.stderrText)")
            }
            return Provider(child: child, port: port, jwksFile: jwksFile, downFile: downFile, fetchLog: fetchLog)
        }

        static func publish(_ keys: [JWSKey], to file: String) throws {
            let document = try JWKSet(keys).publicJWKS()
            try Data(JSONSerializer.serialize(document).utf8).write(to: URL(fileURLWithPath: file), options: .atomic)
        }

        func publish(_ keys: [JWSKey]) throws { try Self.publish(keys, to: jwksFile) }

        func setDown(_ down: Bool) {
            if down {
                _ = FileManager.default.createFile(atPath: downFile, contents: Data())
            } else {
                try? FileManager.default.removeItem(atPath: downFile)
            }
        }

        /// The fetch log: one line per request (`path client-address`), or `refused address`.
        var fetchLines: [String] {
            ((try? String(contentsOfFile: fetchLog, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }

        var fetches: Int {
            (try? String(contentsOfFile: fetchLog, encoding: .utf8))?.split(separator: "\n").count ?? 0
        }

        func remoteKeys(
            caFile: String, maxStale: Duration = .seconds(3600), refresh: Duration = .seconds(3600),
            fetchTimeout: Duration = .seconds(3)
        ) -> GatewayConfiguration.RemoteKeys {
            .init(
                url: "https://127.0.0.1:\(port)/jwks.json", caFile: caFile, minRefresh: min(refresh, .seconds(1)),
                maxRefresh: refresh, maxStale: maxStale, unknownKeyCooldown: .seconds(0.3), fetchTimeout: fetchTimeout)
        }

        func stop() {
            kill(child.pid, SIGTERM)
        }
    }

    static func options(_ remote: GatewayConfiguration.RemoteKeys) -> GatewayHarness.Options {
        var options = GatewayHarness.Options()
        options.configure = { configuration in
            configuration.issuers = [
                .init(issuer: E2EFixtures.issuer, audiences: [E2EFixtures.audience], keys: [], remoteKeys: remote)
            ]
        }
        return options
    }

    static func directory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("jwks-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test("a new key works within one request; a removed key stops working, cached or not")
    func rotation() async throws {
        let directory = try Self.directory()
        let first = try JWSKey.generate(algorithm: .RS256, keyID: "first")
        let second = try JWSKey.generate(algorithm: .RS256, keyID: "second")
        let unpublished = try JWSKey.generate(algorithm: .RS256, keyID: "unpublished")
        let provider = try await Provider.start(keys: [first], directory: directory, maxAge: 3600)
        defer { provider.stop() }
        try await GatewayHarness.with(Self.options(provider.remoteKeys(caFile: E2EFixtures.shared.caFile))) { gateway in
            let firstToken = try gateway.token(key: first)
            #expect(try await Curl.request(gateway, "/api/data/1", headers: [gateway.bearer(firstToken)]).status == 200)
            let fetchesBefore = provider.fetches

            // The provider publishes a second key: its first token is accepted in the same request.
            try provider.publish([first, second])
            let secondToken = try gateway.token(key: second)
            let rotated = try await Curl.request(gateway, "/api/data/2", headers: [gateway.bearer(secondToken)])
            #expect(rotated.status == 200, "body: \(rotated.bodyText)")
            #expect(provider.fetches == fetchesBefore + 1, "an unknown kid re-fetches exactly once")

            // The provider drops the first key; the next re-fetch (caused here by an unknown kid) learns it.
            try provider.publish([second])
            try await Task.sleep(nanoseconds: 400_000_000)
            let unknown = try await Curl.request(gateway, "/api/data/3", headers: [gateway.bearer(try gateway.token(key: unpublished))])
            #expect(unknown.status == 401)
            #expect(unknown.header("WWW-Authenticate") == #"Bearer realm="auth-gateway", error="invalid_token""#)
            try await Task.sleep(nanoseconds: 200_000_000)
            // The very token that was verified (and cached) before no longer passes.
            let removed = try await Curl.request(gateway, "/api/data/4", headers: [gateway.bearer(firstToken)])
            #expect(removed.status == 401, "a cached verification outlived its key")

            let requests = await gateway.upstream.waitForRequests(2)
            #expect(requests.map(\.requestLine) == ["GET /api/data/1 HTTP/1.1", "GET /api/data/2 HTTP/1.1"])
        }
    }

    @Test("clients that leave while their request waits for a key re-fetch leave nothing behind, and reach nothing")
    func leaveWhileAwaitingKeys() async throws {
        let directory = try Self.directory()
        let first = try JWSKey.generate(algorithm: .RS256, keyID: "first")
        let second = try JWSKey.generate(algorithm: .RS256, keyID: "second")
        let provider = try await Provider.start(keys: [first], directory: directory, delayMilliseconds: 5000)
        defer { provider.stop() }
        let remote = provider.remoteKeys(caFile: E2EFixtures.shared.caFile, fetchTimeout: .seconds(10))
        try await GatewayHarness.with(Self.options(remote)) { gateway in
            try provider.publish([first, second])
            let mark = gateway.upstream.mark()
            // Each request names the new key: admission waits for the (slow) re-fetch, the client leaves first:
            // an HTTP/2 stream reset, and an HTTP/1.1 TCP reset. (An HTTP/1.1 FIN is seen only once the answer is
            // written: NIO's pipelining handler reads nothing while a request waits; see docs/SECURITY.md.)
            let token = try gateway.token(key: second)
            let started = Date()
            for mode in ["h2_rst_after_headers", "h1_rst"] {
                let left = try await EarlyExitClient.run(
                    gateway, mode: mode, count: 8, path: "/api/data/waiting", token: token, afterMilliseconds: 100)
                #expect(left.answered == 0, "\(mode): an answer came before the keys did")
            }
            #expect(Date().timeIntervalSince(started) < 5, "the clients took longer than the re-fetch: the test proves nothing")
            // The re-fetch (5 s) completes; nothing of what waited may move.
            try await Task.sleep(nanoseconds: UInt64(max(0, 6.5 - Date().timeIntervalSince(started)) * 1e9))
            #expect(gateway.upstream.requests(since: mark).isEmpty, "a request whose client left before admission was forwarded")
            let response = try await Curl.request(gateway, "/api/data/after", headers: [gateway.bearer(token)])
            #expect(response.status == 200, "body: \(response.bodyText)")
        }
    }

    @Test("an unknown kid re-fetches at most once per cooldown")
    func unknownKeyRateLimit() async throws {
        let directory = try Self.directory()
        let published = try JWSKey.generate(algorithm: .RS256, keyID: "published")
        let provider = try await Provider.start(keys: [published], directory: directory)
        defer { provider.stop() }
        var remote = provider.remoteKeys(caFile: E2EFixtures.shared.caFile)
        remote.unknownKeyCooldown = .seconds(30)
        try await GatewayHarness.with(Self.options(remote)) { gateway in
            let before = provider.fetches
            for index in 0..<5 {
                let stranger = try JWSKey.generate(algorithm: .RS256, keyID: "stranger-\(index)")
                let response = try await Curl.request(gateway, "/api/data/x", headers: [gateway.bearer(try gateway.token(key: stranger))])
                #expect(response.status == 401)
            }
            #expect(provider.fetches - before == 1, "five unknown kids, one re-fetch")
            #expect(await gateway.upstream.waitForRequests(1, timeout: 0.5).isEmpty)
        }
    }

    @Test("the last good keys serve through an outage up to the stale limit, then 503; recovery restores them")
    func outage() async throws {
        let directory = try Self.directory()
        let key = try JWSKey.generate(algorithm: .RS256, keyID: "k")
        let provider = try await Provider.start(keys: [key], directory: directory)
        defer { provider.stop() }
        let remote = provider.remoteKeys(caFile: E2EFixtures.shared.caFile, maxStale: .seconds(2.5), refresh: .seconds(1))
        try await GatewayHarness.with(Self.options(remote)) { gateway in
            // Each token differs (jti), so the verified-token cache never answers for the keys.
            func fresh() throws -> String { try gateway.token(key: key, extra: ["jti": .string(UUID().uuidString)]) }
            #expect(try await Curl.request(gateway, "/api/data/a", headers: [gateway.bearer(try fresh())]).status == 200)
            provider.setDown(true)
            try await Task.sleep(nanoseconds: 1_300_000_000)
            let during = try await Curl.request(gateway, "/api/data/b", headers: [gateway.bearer(try fresh())])
            #expect(during.status == 200, "the last good key set keeps serving within the stale limit")
            try await Task.sleep(nanoseconds: 2_000_000_000)
            let stale = try await Curl.request(gateway, "/api/data/c", headers: [gateway.bearer(try fresh())])
            #expect(stale.status == 503, "no usable keys is 503, not 401: \(stale.bodyText)")
            #expect(stale.json?["code"] as? String == "keys_unavailable")
            #expect(stale.header("WWW-Authenticate") == nil)
            #expect(await gateway.server.readiness().ready == false)

            provider.setDown(false)
            try await Task.sleep(nanoseconds: 2_500_000_000)
            #expect(try await Curl.request(gateway, "/api/data/d", headers: [gateway.bearer(try fresh())]).status == 200)
            #expect(await gateway.server.readiness().ready)
            let requests = await gateway.upstream.waitForRequests(3)
            #expect(requests.map(\.requestLine) == ["GET /api/data/a HTTP/1.1", "GET /api/data/b HTTP/1.1", "GET /api/data/d HTTP/1.1"])
        }
    }

    @Test("a provider whose certificate does not verify gives no keys: 503, and nothing upstream")
    func untrustedProvider() async throws {
        let directory = try Self.directory()
        let key = try JWSKey.generate(algorithm: .RS256, keyID: "k")
        let provider = try await Provider.start(keys: [key], directory: directory)
        defer { provider.stop() }
        let otherCA = try DevelopmentPKI.ensure(in: directory + "/other-ca")
        try await GatewayHarness.with(Self.options(provider.remoteKeys(caFile: otherCA.caCertificate))) { gateway in
            let response = try await Curl.request(gateway, "/api/data/x", headers: [gateway.bearer(try gateway.token(key: key))])
            #expect(response.status == 503)
            #expect(await gateway.upstream.waitForRequests(1, timeout: 0.5).isEmpty)
            let readiness = await gateway.server.readiness()
            #expect(!readiness.ready)
            #expect(readiness.reason.contains(E2EFixtures.issuer))
        }
    }

    @Test("an issuer without keys leaves the gateway ready while another issuer serves; /readyz and the metrics name it")
    func perIssuerReadiness() async throws {
        let closed = try ClosedLoopbackPort()
        defer { closed.close() }
        var options = GatewayHarness.Options()
        options.configure = { configuration in
            configuration.issuers.append(.init(
                issuer: "https://down.example", keys: [], remoteKeys: .init(url: "https://127.0.0.1:\(closed.port)/jwks.json")))
        }
        try await GatewayHarness.with(options) { gateway in
            let readiness = await gateway.server.readiness()
            #expect(readiness.ready, "\(readiness.reason)")
            #expect(readiness.reason.contains("issuer https://down.example: no keys"), "\(readiness.reason)")
            #expect(readiness.reason.contains("issuer \(E2EFixtures.issuer): keys available"), "\(readiness.reason)")
            let response = try await Curl.request(gateway, "/api/data/x", headers: [gateway.bearer(try gateway.token())])
            #expect(response.status == 200)
            let metrics = GatewayMetrics()
            metrics.recordIssuerKeys(gateway.server.issuerKeyStates())
            let exposition = String(decoding: metrics.exposition(), as: UTF8.self)
            #expect(exposition.contains(#"gateway_issuer_keys_available{issuer="https://down.example"} 0"#), "\(exposition)")
            #expect(exposition.contains(#"gateway_issuer_keys_available{issuer="\#(E2EFixtures.issuer)"} 1"#), "\(exposition)")
        }
    }

    @Test("plain http needs the insecure flag")
    func plainHTTPRefused() throws {
        var configuration = GatewayConfiguration(
            listeners: [], issuers: [
                .init(issuer: "https://idp", keys: [], remoteKeys: .init(url: "http://127.0.0.1:1/jwks.json"))
            ], upstreams: [:], policyDirectory: "/nonexistent")
        #expect(throws: GatewayConfigurationError.self) {
            _ = try GatewaySnapshot.load(configuration: configuration, keyGeneration: 1)
        }
        configuration.issuers[0].remoteKeys?.allowInsecure = true
        do {
            _ = try GatewaySnapshot.load(configuration: configuration, keyGeneration: 1)
        } catch let error as GatewayConfigurationError {
            #expect(!error.description.contains("jwks_url"), "\(error)")
        }
    }
}
