import Foundation
import GatewayConfig
import GatewayObservability
import JOSE
import TestSupport
import Testing

/// Issuers found by OpenID Connect discovery, and key fetches through an egress proxy: a local HTTPS provider
/// (jwks_server.py with `--discovery`, the test CA) and a local CONNECT proxy (connect_proxy.py) that records
/// what it was asked. Every address is loopback; every wait is bounded.
@Suite("End to end: OpenID discovery and the key-fetch proxy", .serialized)
struct OIDCDiscoveryEndToEndTests {
    typealias Provider = RemoteKeysEndToEndTests.Provider

    static let issuerPath = "/realms/acme"

    /// A running connect_proxy.py and its log.
    struct Proxy {
        let child: ChildProcess
        let port: Int
        let log: String

        static func start(directory: String, requireAuth: String? = nil) async throws -> Proxy {
            let log = directory + "/proxy.log"
            var arguments = ["--log", log]
            if let requireAuth { arguments += ["--require-auth", requireAuth] }
            let child = try ChildProcess.python("connect_proxy.py", arguments, directory: directory)
            try await child.wait(for: "port line", timeout: 15) { $0.stdoutText.contains("\n") }
            guard let port = Int(child.stdoutText.split(separator: "\n").first ?? "") else {
                throw HarnessError("connect_proxy.py printed no port: \(child.stderrText)")
            }
            return Proxy(child: child, port: port, log: log)
        }

        /// What the proxy was asked, in order: method, target, `Proxy-Authorization`.
        var requests: [(method: String, target: String, authorization: String?)] {
            ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").compactMap { line in
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
                return (object["method"] as? String ?? "", object["target"] as? String ?? "", object["proxy_authorization"] as? String)
            }
        }

        func stop() { kill(child.pid, SIGTERM) }
    }

    static func issuer(_ provider: Provider) -> String { "https://127.0.0.1:\(provider.port)\(issuerPath)" }

    /// Discovery settings for `provider`'s issuer, fast enough for tests.
    static func discovery(_ provider: Provider, proxy: String? = nil) -> GatewayConfiguration.RemoteKeys {
        .init(
            url: GatewayConfiguration.openIDConfigurationURL(issuer: issuer(provider)), discovery: true, proxy: proxy,
            caFile: E2EFixtures.shared.caFile, minRefresh: .seconds(1), maxRefresh: .seconds(3600),
            unknownKeyCooldown: .seconds(0.3), fetchTimeout: .seconds(3))
    }

    static func options(issuer: String, _ remote: GatewayConfiguration.RemoteKeys, metrics: GatewayMetrics? = nil)
        -> GatewayHarness.Options
    {
        var options = GatewayHarness.Options()
        options.metrics = metrics
        options.configure = { configuration in
            configuration.issuers = [.init(issuer: issuer, audiences: [E2EFixtures.audience], keys: [], remoteKeys: remote)]
        }
        return options
    }

    static func startProvider(keys: [JWSKey], _ extra: [String] = [], maxAge: Int? = nil) async throws -> (Provider, String) {
        let directory = try RemoteKeysEndToEndTests.directory()
        let provider = try await Provider.start(
            keys: keys, directory: directory, maxAge: maxAge, extra: ["--discovery", "--issuer-path", issuerPath] + extra)
        return (provider, directory)
    }

    /// A denied request: `status`, the given `WWW-Authenticate` (or none), and nothing upstream.
    static func expectDenied(
        _ gateway: GatewayHarness, token: String, status: Int, code: String, challenge: String? = nil,
        sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) async throws {
        let mark = gateway.upstream.mark()
        let response = try await Curl.request(gateway, "/api/data/denied", headers: [gateway.bearer(token)])
        #expect(response.status == status, "body: \(response.bodyText)", sourceLocation: sourceLocation)
        #expect(response.json?["code"] as? String == code, "body: \(response.bodyText)", sourceLocation: sourceLocation)
        #expect(response.header("WWW-Authenticate") == challenge, sourceLocation: sourceLocation)
        #expect(await gateway.upstream.waitForRequests(1, since: mark, timeout: 0.5).isEmpty, "a denied request reached the upstream",
                sourceLocation: sourceLocation)
    }

    @Test("a discovered issuer verifies tokens; a new kid is fetched from the discovered JWKS; unadvertised algorithms are not used")
    func discoveredIssuerAndRotation() async throws {
        let first = try JWSKey.generate(algorithm: .RS256, keyID: "first")
        let second = try JWSKey.generate(algorithm: .RS256, keyID: "second")
        let unadvertised = try JWSKey.generate(algorithm: .ES256, keyID: "ec")
        let (provider, _) = try await Self.startProvider(keys: [first, unadvertised], ["--algs", "RS256,none"], maxAge: 3600)
        defer { provider.stop() }
        let issuer = Self.issuer(provider)
        try await GatewayHarness.with(Self.options(issuer: issuer, Self.discovery(provider))) { gateway in
            #expect(provider.fetchLines.map { $0.split(separator: " ")[0] } == [
                "\(Self.issuerPath)/.well-known/openid-configuration", "/jwks.json",
            ], "discovery (OpenID Connect Discovery 4.1: the issuer's path, then the well-known suffix), then its jwks_uri")
            let ok = try await Curl.request(gateway, "/api/data/1", headers: [gateway.bearer(try gateway.token(iss: issuer, key: first))])
            #expect(ok.status == 200, "body: \(ok.bodyText)")

            // Rotation: a second key appears at the discovered JWKS; its first token re-fetches the JWKS only.
            try provider.publish([first, second, unadvertised])
            let rotated = try await Curl.request(gateway, "/api/data/2", headers: [gateway.bearer(try gateway.token(iss: issuer, key: second))])
            #expect(rotated.status == 200, "body: \(rotated.bodyText)")
            #expect(provider.fetchLines.dropFirst(2).map { $0.split(separator: " ")[0] } == ["/jwks.json"])

            // The ES256 key is published, but the provider advertises RS256 only: discovery never widens.
            try await Self.expectDenied(
                gateway, token: try gateway.token(iss: issuer, key: unadvertised), status: 401, code: "token_invalid",
                challenge: #"Bearer realm="auth-gateway", error="invalid_token""#)
            let readiness = await gateway.server.readiness()
            #expect(readiness.ready && readiness.reason.contains("issuer \(issuer): keys available"), "\(readiness.reason)")
            let requests = await gateway.upstream.waitForRequests(2)
            #expect(requests.map(\.requestLine) == ["GET /api/data/1 HTTP/1.1", "GET /api/data/2 HTTP/1.1"])
        }
    }

    @Test("an HMAC secret published in a JWKS is never used, with remote_keys or discovery")
    func publishedSecretIgnored() async throws {
        let rsa = try JWSKey.generate(algorithm: .RS256, keyID: "rsa")
        let hmac = try JWSKey.generate(algorithm: .HS256, keyID: "hs")
        let (provider, _) = try await Self.startProvider(keys: [rsa])
        defer { provider.stop() }
        func publish(_ keys: [JWSKey]) throws {
            let document: JSONValue = .object(["keys": .array(try keys.map { try $0.jwk(includePrivate: $0.isSymmetric) })])
            try JSONSerializer.serialize(document).write(toFile: provider.jwksFile, atomically: true, encoding: .utf8)
        }
        try publish([rsa, hmac])
        let issuer = Self.issuer(provider)
        var direct = provider.remoteKeys(caFile: E2EFixtures.shared.caFile)
        direct.unknownKeyCooldown = .seconds(30)
        for remote in [Self.discovery(provider), direct] {
            try await GatewayHarness.with(Self.options(issuer: issuer, remote)) { gateway in
                let ok = try await Curl.request(gateway, "/api/data/1", headers: [gateway.bearer(try gateway.token(iss: issuer, key: rsa))])
                #expect(ok.status == 200, "body: \(ok.bodyText)")
                try await Self.expectDenied(
                    gateway, token: try gateway.token(iss: issuer, key: hmac), status: 401, code: "token_invalid",
                    challenge: #"Bearer realm="auth-gateway", error="invalid_token""#)
            }
        }
        // Only secrets: no keys at all, and the reason says why.
        try publish([hmac])
        try await GatewayHarness.with(Self.options(issuer: issuer, Self.discovery(provider))) { gateway in
            try await Self.expectDenied(gateway, token: try gateway.token(iss: issuer, key: hmac), status: 503, code: "keys_unavailable")
            let reason = await gateway.server.readiness().reason
            #expect(reason.contains("only symmetric (HMAC) keys, which are never taken from a URL"), "\(reason)")
        }
    }

    @Test("a document that names another issuer is refused: 503 keys_unavailable, its JWKS never fetched, readiness says why")
    func issuerMismatch() async throws {
        let key = try JWSKey.generate(algorithm: .RS256, keyID: "k")
        let (provider, _) = try await Self.startProvider(keys: [key], ["--advertised-issuer", "https://evil.example"])
        defer { provider.stop() }
        let issuer = Self.issuer(provider)
        let metrics = GatewayMetrics()
        try await GatewayHarness.with(Self.options(issuer: issuer, Self.discovery(provider), metrics: metrics)) { gateway in
            try await Self.expectDenied(gateway, token: try gateway.token(iss: issuer, key: key), status: 503, code: "keys_unavailable")
            #expect(!provider.fetchLines.contains { $0.hasPrefix("/jwks.json") }, "the JWKS of a refused document was fetched")
            let readiness = await gateway.server.readiness()
            #expect(!readiness.ready)
            #expect(readiness.reason.contains("names `https://evil.example`, not the configured issuer `\(issuer)`"), "\(readiness.reason)")
            metrics.recordIssuerKeys(gateway.server.issuerKeyStates())
            let exposition = String(decoding: metrics.exposition(), as: UTF8.self)
            #expect(exposition.contains(#"gateway_issuer_keys_available{issuer="\#(issuer)"} 0"#), "\(exposition)")
            let failures = exposition.split(separator: "\n").first { $0.hasPrefix("gateway_oidc_discovery_failures_total ") }
            #expect((failures?.split(separator: " ").last.flatMap { Double($0) } ?? 0) >= 1, "\(exposition)")
        }
    }

    @Test("a discovery URL that serves keys, and a JWKS URL that serves a discovery document, each say which")
    func wrongDocuments() async throws {
        let key = try JWSKey.generate(algorithm: .RS256, keyID: "k")
        let (swapped, _) = try await Self.startProvider(keys: [key], ["--swap"])
        defer { swapped.stop() }
        let issuer = Self.issuer(swapped)
        try await GatewayHarness.with(Self.options(issuer: issuer, Self.discovery(swapped))) { gateway in
            try await Self.expectDenied(gateway, token: try gateway.token(iss: issuer, key: key), status: 503, code: "keys_unavailable")
            let reason = await gateway.server.readiness().reason
            #expect(reason.contains("serves a JWK or JWKS, not an OpenID configuration document"), "\(reason)")
        }

        let (provider, _) = try await Self.startProvider(keys: [key])
        defer { provider.stop() }
        var remote = provider.remoteKeys(caFile: E2EFixtures.shared.caFile)
        remote.url = GatewayConfiguration.openIDConfigurationURL(issuer: Self.issuer(provider))
        try await GatewayHarness.with(Self.options(issuer: Self.issuer(provider), remote)) { gateway in
            try await Self.expectDenied(
                gateway, token: try gateway.token(iss: Self.issuer(provider), key: key), status: 503, code: "keys_unavailable")
            let reason = await gateway.server.readiness().reason
            #expect(reason.contains("this is an OpenID Connect discovery document, not a JWK or JWKS"), "\(reason)")
            #expect(reason.contains("write `discovery: true`"), "\(reason)")
        }
    }

    @Test("the configuration document is read again once it is older than max_refresh, and tokens keep verifying")
    func documentReadAgain() async throws {
        let key = try JWSKey.generate(algorithm: .RS256, keyID: "k")
        let (provider, _) = try await Self.startProvider(keys: [key])
        defer { provider.stop() }
        let issuer = Self.issuer(provider)
        var remote = Self.discovery(provider)
        remote.maxRefresh = .seconds(1)
        try await GatewayHarness.with(Self.options(issuer: issuer, remote)) { gateway in
            func documentFetches() -> Int { provider.fetchLines.filter { $0.hasPrefix("\(Self.issuerPath)/.well-known/") }.count }
            let deadline = Date().addingTimeInterval(8)
            while documentFetches() < 3, Date() < deadline { try await Task.sleep(nanoseconds: 100_000_000) }
            #expect(documentFetches() >= 3, "\(provider.fetchLines)")
            let ok = try await Curl.request(gateway, "/api/data/1", headers: [gateway.bearer(try gateway.token(iss: issuer, key: key))])
            #expect(ok.status == 200, "body: \(ok.bodyText)")
        }
    }

    @Test("discovery that fails at start is retried with backoff and recovers without a restart")
    func rediscoveryAfterOutage() async throws {
        let key = try JWSKey.generate(algorithm: .RS256, keyID: "k")
        let (provider, _) = try await Self.startProvider(keys: [key])
        defer { provider.stop() }
        provider.setDown(true)
        let issuer = Self.issuer(provider)
        try await GatewayHarness.with(Self.options(issuer: issuer, Self.discovery(provider))) { gateway in
            try await Self.expectDenied(gateway, token: try gateway.token(iss: issuer, key: key), status: 503, code: "keys_unavailable")
            #expect(await gateway.server.readiness().reason.contains("OpenID discovery at"))
            provider.setDown(false)
            let deadline = Date().addingTimeInterval(10)
            var status = 0
            while status != 200, Date() < deadline {
                try await Task.sleep(nanoseconds: 200_000_000)
                status = try await Curl.request(
                    gateway, "/api/data/back", headers: [gateway.bearer(try gateway.token(iss: issuer, key: key))]).status
            }
            #expect(status == 200, "no recovery within 10 s")
        }
    }

    @Test("the proxy carries every key fetch (the provider accepts only the proxy's address), with its credentials")
    func proxyUsed() async throws {
        let key = try JWSKey.generate(algorithm: .RS256, keyID: "k")
        let (provider, directory) = try await Self.startProvider(keys: [key], ["--only-from", "127.0.0.2"])
        defer { provider.stop() }
        let proxy = try await Proxy.start(directory: directory, requireAuth: "Basic " + Data("gw:s3cret/!".utf8).base64EncodedString())
        defer { proxy.stop() }
        let issuer = Self.issuer(provider)
        let remote = Self.discovery(provider, proxy: "http://gw:s3cret%2F%21@127.0.0.1:\(proxy.port)")
        try await GatewayHarness.with(Self.options(issuer: issuer, remote)) { gateway in
            let response = try await Curl.request(gateway, "/api/data/1", headers: [gateway.bearer(try gateway.token(iss: issuer, key: key))])
            #expect(response.status == 200, "body: \(response.bodyText)")
            let asked = proxy.requests
            #expect(asked.count == 2, "one tunnel for the document, one for the JWKS: \(asked)")
            #expect(asked.allSatisfy { $0.method == "CONNECT" && $0.target == "127.0.0.1:\(provider.port)" })
            #expect(asked.allSatisfy { $0.authorization == "Basic " + Data("gw:s3cret/!".utf8).base64EncodedString() })
            #expect(provider.fetchLines.count == 2 && provider.fetchLines.allSatisfy { $0.hasSuffix(" 127.0.0.2") }, "\(provider.fetchLines)")
            #expect(await gateway.upstream.waitForRequests(1).count == 1)
        }

        // Wrong credentials: the proxy refuses the tunnel; the answer names the refusal, never the password.
        let refused = Self.discovery(provider, proxy: "http://gw:wrong-secret@127.0.0.1:\(proxy.port)")
        try await GatewayHarness.with(Self.options(issuer: issuer, refused)) { gateway in
            try await Self.expectDenied(gateway, token: try gateway.token(iss: issuer, key: key), status: 503, code: "keys_unavailable")
            let reason = await gateway.server.readiness().reason
            #expect(reason.contains("proxy http://***@127.0.0.1:\(proxy.port): the proxy refused the tunnel: HTTP 407"), "\(reason)")
            #expect(!reason.contains("wrong-secret"))
        }
    }

    @Test("with the proxy down there are no keys (503, fail closed), and the provider is never reached directly")
    func proxyDown() async throws {
        let key = try JWSKey.generate(algorithm: .RS256, keyID: "k")
        let (provider, _) = try await Self.startProvider(keys: [key])
        defer { provider.stop() }
        let closed = try ClosedLoopbackPort()
        defer { closed.close() }
        let issuer = Self.issuer(provider)
        let remote = Self.discovery(provider, proxy: "http://gw:s3cret@127.0.0.1:\(closed.port)")
        try await GatewayHarness.with(Self.options(issuer: issuer, remote)) { gateway in
            try await Self.expectDenied(gateway, token: try gateway.token(iss: issuer, key: key), status: 503, code: "keys_unavailable")
            let reason = await gateway.server.readiness().reason
            #expect(reason.contains("cannot connect to the proxy http://***@127.0.0.1:\(closed.port)"), "\(reason)")
            #expect(!reason.contains("s3cret"))
            #expect(provider.fetchLines.isEmpty, "the provider was reached without the proxy: \(provider.fetchLines)")
        }
    }

    @Test("serve: discovery and key_fetch.proxy from YAML; a refused document is logged with the reason, never the proxy password")
    func binaryLogsDiscoveryFailureWithoutSecrets() async throws {
        let key = try JWSKey.generate(algorithm: .RS256, keyID: "k")
        let (provider, directory) = try await Self.startProvider(
            keys: [key], ["--advertised-issuer", "https://evil.example", "--only-from", "127.0.0.2"])
        defer { provider.stop() }
        let proxy = try await Proxy.start(directory: directory, requireAuth: "Basic " + Data("gw:pr0xy-pa55".utf8).base64EncodedString())
        defer { proxy.stop() }
        let upstream = try await RecordingUpstream.start(in: directory)
        let issuer = Self.issuer(provider)
        var config = GatewayBinary.configuration(upstream: [upstream.url])
        let issuers = try #require(config.range(of: "issuers:\n"))
        let upstreams = try #require(config.range(of: "upstreams:\n"))
        config.replaceSubrange(issuers.lowerBound..<upstreams.lowerBound, with: """
            issuers:
              - issuer: "\(issuer)"
                audiences: [\(E2EFixtures.audience)]
                discovery: { ca_file: \(E2EFixtures.shared.caFile), min_refresh: 1s }
            key_fetch: { proxy: "http://gw:pr0xy-pa55@127.0.0.1:\(proxy.port)" }

            """)
        let gateway = try await GatewayProcess.start(
            configPath: try GatewayBinary.writeConfiguration(config, in: directory), directory: directory)
        let mark = upstream.mark()
        let token = try JWTSigner.sign(
            claims: ["iss": .string(issuer), "aud": .string(E2EFixtures.audience), "sub": .string("alice"),
                     "scope": .string("read:data"), "exp": .int(Int64(Date().timeIntervalSince1970) + 600)],
            key: key)
        let response = try await Curl.request(gateway, "/api/data/x", headers: ["Authorization: Bearer \(token)"])
        #expect(response.status == 503 && response.json?["code"] as? String == "keys_unavailable", "\(response.bodyText)")
        #expect(response.header("WWW-Authenticate") == nil)
        // The refresher retries with backoff and says so each time; wait (bounded) for one of its lines.
        try await gateway.child.wait(for: "the discovery failure in the log", timeout: 10) {
            $0.stderrText.contains("OpenID discovery failed")
        }
        #expect(upstream.requests(since: mark).isEmpty)
        await gateway.stop()
        await upstream.stop()
        let log = gateway.child.stderrText
        #expect(log.contains("names `https://evil.example`, not the configured issuer `\(issuer)`"), "\(log.suffix(3000))")
        #expect(!log.contains("pr0xy-pa55") && !log.contains(token), "a secret reached the log")
        #expect(!gateway.child.stdoutText.contains(token), "the token reached the access log")
        #expect(proxy.requests.first?.method == "CONNECT", "the document was not fetched through the proxy")
    }
}
