import Foundation
import TestSupport
import NIOCore
import NIOPosix
import Testing

import GatewayConfig

#if canImport(Glibc)
import Glibc
#endif

/// the attack catalogue "TLS", plus our own cases: `openssl s_client` for what a real client can be made to offer,
/// Tests/e2e/tls_probe.py for hand-built ClientHellos no library will send (SSLv3, compression, a
/// heartbeat extension, oversize hellos, odd SNI), and `sslscan` for the whole surface at once.
///
/// A refused handshake must never reach HTTP: the recording upstream and the canary see nothing.
@Suite("Attacks: TLS", .serialized, .attackGateway())
struct TLSAttackTests {
    // MARK: Protocol versions (the attack catalogue)

    @Test("TLS 1.0 and 1.1 offered by openssl s_client (security level 0, so the client really offers them) are refused",
          arguments: ["-tls1", "-tls1_1"])
    func oldVersionsRefused(_ option: String) async throws {
        let oracle = try AttackGateway.shared()
        let marks = oracle.begin()
        let result = try await OpenSSLClient.run(
            oracle.gateway, [option, "-cipher", "DEFAULT@SECLEVEL=0", "-alpn", "http/1.1"],
            input: "GET /public/x HTTP/1.1\r\nHost: localhost\r\n\r\n")
        let output = result.stdoutText + result.stderrText
        // The client must have tried: a local refusal would prove nothing about the server.
        #expect(!output.contains("no protocols available"), "openssl could not offer \(option): \(output)")
        #expect(output.contains("alert protocol version"), "the server did not refuse \(option): \(output)")
        #expect(result.status != 0)
        #expect(!output.contains("HTTP/1.1"), "\(output)")
        await oracle.expectUntouched(since: marks)
    }

    @Test("raw ClientHellos for SSLv3, TLS 1.0 and TLS 1.1 get a protocol_version alert, never a ServerHello",
          arguments: [("0x0300", "SSLv3"), ("0x0301", "TLS 1.0"), ("0x0302", "TLS 1.1")])
    func rawOldVersions(_ version: String, _ name: String) async throws {
        let oracle = try AttackGateway.shared()
        // OpenSSL 3 cannot offer SSLv3 at all, so this hello is built by hand (RFC 6101 record and hello).
        let result = try await TLSProbe.run(
            oracle.gateway,
            ["--version", version, "--record-version", version == "0x0300" ? "0x0300" : "0x0301",
             "--cipher", "0x002f", "--cipher", "0x0035", "--cipher", "0xc009", "--cipher", "0xc013"])
        #expect(result.outcome == "alert", "\(name): \(result)")
        #expect(result.alert?.description == TLSProbe.protocolVersion, "\(name): \(result)")
        #expect(result.serverHello == nil)
    }

    @Test("RFC 7507: TLS_FALLBACK_SCSV in a TLS 1.2 hello to a TLS 1.3 server is an inappropriate_fallback alert")
    func fallbackSCSV() async throws {
        let oracle = try AttackGateway.shared()
        let result = try await TLSProbe.run(
            oracle.gateway, ["--record-version", "0x0303", "--cipher", "0xc02b", "--cipher", "0x5600"])
        #expect(result.outcome == "alert", "\(result)")
        #expect(result.alert?.description == 86, "\(result)")
    }

    // MARK: Cipher suites (the attack catalogue)

    /// Suites the gateway must refuse on TLS 1.2: no forward secrecy, CBC (padding oracles), NULL.
    static let weakSuites = [
        "AES128-SHA", "AES256-GCM-SHA384", "ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA384",
        "ECDHE-RSA-AES128-SHA", "DHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-NULL-SHA",
    ]

    @Test("TLS 1.2 without ECDHE or without AEAD is refused", arguments: weakSuites)
    func weakSuiteRefused(_ suite: String) async throws {
        let oracle = try AttackGateway.shared()
        let result = try await OpenSSLClient.run(oracle.gateway, ["-tls1_2", "-cipher", "\(suite):@SECLEVEL=0"])
        let output = result.stdoutText + result.stderrText
        #expect(!output.contains("no cipher match"), "openssl could not offer \(suite): \(output)")
        #expect(output.contains("alert handshake failure"), "\(suite) was not refused: \(output)")
        #expect(output.contains("Cipher is (NONE)"), "\(output)")
    }

    @Test("ECDHE with AEAD is accepted on TLS 1.2 (the refusals above are not a broken listener)",
          arguments: ["ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305"])
    func strongSuiteAccepted(_ suite: String) async throws {
        let oracle = try AttackGateway.shared()
        let result = try await OpenSSLClient.run(oracle.gateway, ["-tls1_2", "-cipher", suite])
        let output = result.stdoutText + result.stderrText
        #expect(output.contains("Cipher is \(suite)"), "\(output)")
        #expect(output.contains("Verify return code: 0 (ok)"), "\(output)")
    }

    @Test("sslscan: no SSLv2/SSLv3/TLS 1.0/TLS 1.1, every accepted suite is TLS 1.3 or ECDHE+AEAD, no renegotiation, no heartbleed")
    func sslscan() async throws {
        let oracle = try AttackGateway.shared()
        let sslscan = "/usr/bin/sslscan"
        try #require(FileManager.default.isExecutableFile(atPath: sslscan), "sslscan is missing: run scripts/setup")
        let result = try await Command.run(
            sslscan, ["--no-colour", "127.0.0.1:\(oracle.gateway.port)"], directory: oracle.gateway.directory,
            timeout: 60, label: "sslscan")
        let output = result.stdoutText
        #expect(result.status == 0, "\(result.stderrText)")
        for line in ["SSLv2     disabled", "SSLv3     disabled", "TLSv1.0   disabled", "TLSv1.1   disabled",
                     "TLSv1.2   enabled", "TLSv1.3   enabled", "Session renegotiation not supported"] {
            #expect(output.contains(line), "sslscan: no `\(line)` in \(output)")
        }
        #expect(!output.contains("Insecure session renegotiation supported"))
        let heartbleed = output.split(separator: "\n").filter { $0.contains("heartbleed") }
        #expect(!heartbleed.isEmpty && heartbleed.allSatisfy { $0.contains("not vulnerable") }, "\(heartbleed)")
        let accepted = output.split(separator: "\n").filter { $0.hasPrefix("Accepted") || $0.hasPrefix("Preferred") }
        #expect(!accepted.isEmpty, "sslscan found no cipher suite: \(output)")
        for line in accepted {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 5 else { continue }
            let version = String(fields[1])
            let suite = String(fields[4])
            let good: Bool
            switch version {
            case "TLSv1.3": good = ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"].contains(suite)
            case "TLSv1.2": good = suite.hasPrefix("ECDHE-") && (suite.contains("-GCM-") || suite.hasSuffix("CHACHA20-POLY1305"))
            default: good = false
            }
            #expect(good, "weak suite offered: \(line)")
        }
    }

    // MARK: Renegotiation and plaintext (the attack catalogue)

    @Test("client-initiated renegotiation on TLS 1.2 is refused: the connection ends, the request after it is never served")
    func renegotiationRefused() async throws {
        let oracle = try AttackGateway.shared()
        let marks = oracle.begin()
        // `R` on its own line asks s_client to renegotiate; the request follows once that had its answer.
        let script = #"(printf 'R\n'; sleep 1; printf 'GET /public/x HTTP/1.1\r\nHost: localhost\r\n\r\n'; sleep 1) | "#
            + "\(E2EPaths.openssl) s_client -connect 127.0.0.1:\(oracle.gateway.port) -servername localhost "
            + "-CAfile \(oracle.gateway.caFile) -tls1_2 -alpn http/1.1"
        let result = try await Command.run("/bin/sh", ["-c", script], directory: oracle.gateway.directory, timeout: 20,
                                           label: "renegotiate")
        let output = result.stdoutText + result.stderrText
        #expect(output.contains("Verify return code: 0 (ok)"), "the first handshake failed: \(output)")
        #expect(output.contains("RENEGOTIATING"), "s_client did not try to renegotiate: \(output)")
        #expect(!output.contains("HTTP/1.1"), "the connection served a request after renegotiation: \(output)")
        await oracle.expectUntouched(since: marks)
    }

    @Test("plaintext HTTP/1.1 and the HTTP/2 preface on the TLS port are closed without an HTTP answer",
          arguments: ["GET /public/x HTTP/1.1\r\nHost: localhost\r\n\r\n", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"])
    func plaintextRefused(_ text: String) async throws {
        let oracle = try AttackGateway.shared()
        let marks = oracle.begin()
        let result = try await TLSProbe.run(oracle.gateway, ["--raw", text])
        #expect(["closed", "alert"].contains(result.outcome), "\(result)")
        #expect(result.serverHello == nil)
        await oracle.expectUntouched(since: marks)
    }

    // MARK: Own cases: hellos no library sends

    struct CompressionCase: Sendable, CustomTestStringConvertible {
        let name: String
        let arguments: [String]
        /// `true`: a ServerHello that selects no compression; `false`: an alert.
        let serverHello: Bool
        var testDescription: String { name }
    }

    static let compressionCases = [
        CompressionCase(name: "TLS 1.2, DEFLATE only: no common method", arguments: ["--cipher", "0xc02b", "--compression", "1"],
                        serverHello: false),
        CompressionCase(name: "TLS 1.2, DEFLATE then null: null is chosen", arguments: ["--cipher", "0xc02b", "--compression", "1",
                                                                                        "--compression", "0"], serverHello: true),
        CompressionCase(name: "TLS 1.3 with anything but null (RFC 8446 §4.1.2): illegal_parameter",
                        arguments: ["--cipher", "0x1301", "--compression", "1", "--compression", "0"], serverHello: false),
    ]

    @Test("CRIME (CVE-2012-4929): TLS compression is never negotiated", arguments: compressionCases)
    func compressionRefused(_ compression: CompressionCase) async throws {
        let oracle = try AttackGateway.shared()
        let result = try await TLSProbe.run(oracle.gateway, compression.arguments)
        if compression.serverHello {
            let hello = try #require(result.serverHello, "\(result)")
            #expect(hello.compression == 0, "\(result)")
        } else {
            #expect(result.outcome == "alert", "\(result)")
            #expect(result.serverHello == nil, "\(result)")
        }
    }

    @Test("RFC 6520 / CVE-2014-0160: a heartbeat extension is not echoed; the ServerHello never enables heartbeats")
    func heartbeatNotNegotiated() async throws {
        let oracle = try AttackGateway.shared()
        let result = try await TLSProbe.run(oracle.gateway, ["--cipher", "0xc02b", "--heartbeat"])
        let hello = try #require(result.serverHello, "\(result)")
        #expect(hello.version == "0x0303")
        #expect(hello.compression == 0)
        #expect(!hello.extensions.contains(0x000F), "heartbeat extension echoed: \(result)")
    }

    @Test("an oversize ClientHello (60 KB of padding over four records) is refused, and the listener serves the next client")
    func hugeClientHello() async throws {
        let oracle = try AttackGateway.shared()
        let marks = oracle.begin()
        let result = try await TLSProbe.run(oracle.gateway, ["--padding", "60000"])
        #expect(result.serverHello == nil, "\(result)")
        #expect(["alert", "closed"].contains(result.outcome), "\(result)")
        let next = try await Curl.request(oracle.gateway, "/probe/after-huge-hello")
        #expect(next.status == 404)
        await oracle.expectUntouched(since: marks)
    }

    struct SNICase: Sendable, CustomTestStringConvertible {
        let name: String
        let arguments: [String]
        /// `nil`: a ServerHello (the name is ignored: there is one certificate); else the alert.
        let alert: Int?
        var testDescription: String { name }
    }

    static let sniCases = [
        SNICase(name: "253-byte name", arguments: ["--sni", String(repeating: "a", count: 63) + "." + String(repeating: "b", count: 63)
                                                   + "." + String(repeating: "c", count: 63) + "." + String(repeating: "d", count: 61)], alert: nil),
        SNICase(name: "NUL inside the name (RFC 6066 §3)", arguments: ["--sni-hex", "6c6f63616c00686f7374"],
                alert: TLSProbe.unrecognizedName),
        SNICase(name: "empty name", arguments: ["--sni", ""], alert: TLSProbe.unrecognizedName),
        SNICase(name: "IP literal (not allowed by RFC 6066, tolerated)", arguments: ["--sni", "127.0.0.1"], alert: nil),
        SNICase(name: "the canary's address", arguments: ["--sni", "canary.invalid"], alert: nil),
        SNICase(name: "no SNI at all", arguments: ["--no-sni"], alert: nil),
    ]

    @Test("odd SNI names: refused or ignored, never a route or an upstream choice", arguments: sniCases)
    func oddSNI(_ sni: SNICase) async throws {
        let oracle = try AttackGateway.shared()
        let marks = oracle.begin()
        let result = try await TLSProbe.run(oracle.gateway, sni.arguments)
        if let alert = sni.alert {
            #expect(result.outcome == "alert", "\(result)")
            #expect(result.alert?.description == alert, "\(result)")
        } else {
            #expect(result.outcome == "server_hello", "\(result)")
        }
        await oracle.expectUntouched(since: marks)
    }

    @Test("ALPN offering only unknown protocols (h3, spdy/3) negotiates none and is served as HTTP/1.1")
    func unknownALPN() async throws {
        let oracle = try AttackGateway.shared()
        let probe = try await TLSProbe.run(oracle.gateway, ["--cipher", "0xc02b", "--alpn", "h3", "--alpn", "spdy/3"])
        let hello = try #require(probe.serverHello, "\(probe)")
        #expect(!hello.extensions.contains(0x0010), "an ALPN protocol was selected: \(probe)")
        let marks = oracle.begin()
        let response = try await RawTLSClient.exchange(
            oracle.gateway, Array("GET /public/alpn HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".utf8), alpn: "h3")
        #expect(response.statuses == [200], "\(response.text.prefix(300))")
        let requests = await oracle.forwarded(1, since: marks)
        if let request = requests.first { oracle.expectSanitized(request, target: "/public/alpn", subject: nil) }
    }

    @Test("0-RTT: the server's session tickets allow no early data (RFC 8446 §8 replay)")
    func noEarlyData() async throws {
        let oracle = try AttackGateway.shared()
        let session = oracle.gateway.directory + "/session-\(UUID().uuidString.prefix(6)).pem"
        defer { try? FileManager.default.removeItem(atPath: session) }
        let first = try await OpenSSLClient.run(
            oracle.gateway, ["-tls1_3", "-alpn", "http/1.1", "-sess_out", session, "-ign_eof"],
            input: "GET /probe/ticket HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        let output = first.stdoutText
        #expect(output.contains("HTTP/1.1 404"), "\(output)")
        #expect(output.contains("Max Early Data: 0"), "a ticket allows early data: \(output)")
        let earlyLines = output.split(separator: "\n").filter { $0.contains("Max Early Data:") }
        #expect(earlyLines.allSatisfy { $0.hasSuffix("Max Early Data: 0") }, "\(earlyLines)")
    }

    @Test("session resumption bypasses nothing: a resumed TLS 1.3 session still needs a token (401), and a valid one still works")
    func resumptionBypassesNothing() async throws {
        let oracle = try AttackGateway.shared()
        let marks = oracle.begin()
        let session = oracle.gateway.directory + "/session-\(UUID().uuidString.prefix(6)).pem"
        defer { try? FileManager.default.removeItem(atPath: session) }
        let token = try oracle.gateway.token(sub: "alice")
        let authorized = "GET /api/data/first HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \(token)\r\nConnection: close\r\n\r\n"
        let first = try await OpenSSLClient.run(
            oracle.gateway, ["-tls1_3", "-alpn", "http/1.1", "-sess_out", session, "-ign_eof", "-quiet"], input: authorized)
        #expect(first.stdoutText.contains("HTTP/1.1 200"), "\(first.stdoutText.prefix(300))")
        let resumed = try await OpenSSLClient.run(
            oracle.gateway, ["-tls1_3", "-alpn", "http/1.1", "-sess_in", session, "-ign_eof"],
            input: "GET /api/data/second HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        #expect(resumed.stdoutText.contains("Reused, TLSv1.3"), "the session was not resumed: \(resumed.stdoutText.prefix(2000))")
        #expect(resumed.stdoutText.contains("HTTP/1.1 401"), "\(resumed.stdoutText.suffix(600))")
        let requests = await oracle.forwarded(1, since: marks)
        #expect(requests.map(\.target) == ["/api/data/first"])
    }
}

/// Limits that need their own gateway: the TLS handshake timeout, the connection cap, certificate reload.
@Suite("Attacks: TLS limits")
struct TLSLimitAttackTests {
    /// Raw TCP connections that send `bytes` (maybe nothing) and then wait: half-open TLS handshakes.
    final class HalfOpen: @unchecked Sendable {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var channels: [Channel] = []
        /// Per connection: how long after its own connect the server closed it.
        private var closedAfter: [Double?] = []
        private let lock = NSLock()

        /// Opens `count` connections and sends `bytes` on each. On a busy machine the server may already
        /// close the first ones (their timer runs) while later ones open: a failed write is fine.
        func open(_ count: Int, port: Int, sending bytes: [UInt8]) async throws {
            for index in 0..<count {
                let connected = Date()
                let channel = try await ClientBootstrap(group: group).connect(host: "127.0.0.1", port: port).get()
                lock.withLock { closedAfter.append(nil) }
                channel.closeFuture.whenComplete { [self] _ in
                    lock.withLock { closedAfter[index] = Date().timeIntervalSince(connected) }
                }
                if !bytes.isEmpty {
                    var buffer = channel.allocator.buffer(capacity: bytes.count)
                    buffer.writeBytes(bytes)
                    try? await channel.writeAndFlush(buffer).get()
                }
                channels.append(channel)
            }
        }

        var closed: [Double] { lock.withLock { closedAfter.compactMap { $0 } } }

        /// Waits (bounded) until every connection was closed by the server.
        func waitAllClosed(timeout: Double) async -> Bool {
            let deadline = Date().addingTimeInterval(timeout)
            while closed.count < channels.count, Date() < deadline { try? await Task.sleep(nanoseconds: 50_000_000) }
            return closed.count == channels.count
        }

        func shutdown() async {
            for channel in channels { try? await channel.close() }
            try? await group.shutdownGracefully()
        }
    }

    /// The first bytes of a TLS 1.2 ClientHello record: a partial hello that never completes.
    static let partialHello: [UInt8] = [0x16, 0x03, 0x01, 0x00, 0xC8, 0x01, 0x00, 0x00, 0xC4, 0x03, 0x03]

    @Test("half-open handshakes (nothing sent, a partial ClientHello) are closed by the TLS handshake timeout, not the idle timeout, and others are served meanwhile",
          arguments: [("nothing", [UInt8]()), ("partial ClientHello", partialHello)])
    func halfOpenHandshakes(_ name: String, _ bytes: [UInt8]) async throws {
        var options = attackOptions { configuration in
            configuration.limits.tlsHandshakeTimeout = .seconds(1)
            configuration.limits.idleTimeout = .seconds(30)
        }
        options.upstreams = ["svc": [.recording(.init())]]
        try await GatewayHarness.with(options) { gateway in
            let halfOpen = HalfOpen()
            do {
                try await halfOpen.open(40, port: gateway.port, sending: bytes)
                // Others are served while 40 handshakes hang.
                let response = try await Curl.request(gateway, "/public/served", http2: true)
                #expect(response.status == 200)
                #expect(halfOpen.closed.isEmpty || halfOpen.closed.allSatisfy { $0 >= 0.9 })
                let allClosed = await halfOpen.waitAllClosed(timeout: 25)
                #expect(allClosed, "\(name): \(halfOpen.channels.count - halfOpen.closed.count) half-open connections still open")
                // Which timer fired: the handshake timeout (1 s), well before the idle timeout (30 s).
                #expect(halfOpen.closed.allSatisfy { $0 >= 0.9 && $0 < 20 }, "\(name): closed after \(halfOpen.closed)")
                #expect(gateway.server.openConnections <= 1)
            } catch {
                await halfOpen.shutdown()
                throw error
            }
            await halfOpen.shutdown()
        }
    }

    @Test("max_connections caps idle TLS connections: the next one is closed at once, and a slot frees when one goes")
    func connectionCap() async throws {
        let options = attackOptions { configuration in
            configuration.limits.maxConnections = 8
            configuration.limits.tlsHandshakeTimeout = .seconds(30)
        }
        try await GatewayHarness.with(options) { gateway in
            let halfOpen = HalfOpen()
            do {
                try await halfOpen.open(8, port: gateway.port, sending: [])
                // The ninth connection is accepted by the kernel and closed by the gateway before TLS.
                let probe = try await TLSProbe.run(gateway, [])
                #expect(probe.outcome == "closed", "\(probe)")
                #expect(probe.serverHello == nil)
                // One idle connection goes; its slot serves a real client.
                try await halfOpen.channels[0].close()
                let deadline = Date().addingTimeInterval(5)
                while gateway.server.openConnections >= 8, Date() < deadline { try await Task.sleep(nanoseconds: 20_000_000) }
                let response = try await Curl.request(gateway, "/public/after-cap")
                #expect(response.status == 200)
            } catch {
                await halfOpen.shutdown()
                throw error
            }
            await halfOpen.shutdown()
        }
    }

    @Test("the handshake timeout is configurable (limits.tls_handshake_timeout) and decoded from YAML")
    func handshakeTimeoutConfiguration() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gw-tls-limit-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = GatewayBinary.configuration(
            upstream: ["http://127.0.0.1:1"], limits: "tls_handshake_timeout: 750ms\n  max_connections: 50")
        let path = try GatewayBinary.writeConfiguration(config, in: directory)
        let configuration = try GatewayConfigurationLoader.load(file: path)
        #expect(configuration.limits.tlsHandshakeTimeout == .seconds(0.75))
        #expect(GatewayConfiguration.Limits().tlsHandshakeTimeout == .seconds(10))
    }

    // MARK: Certificate reload (the attack catalogue)

    /// A server certificate for localhost signed by the fixtures' CA, with its key, in `directory`.
    static func issueCertificate(named name: String, in directory: String) throws -> (certificate: String, key: String) {
        let fixtures = E2EFixtures.shared
        let key = directory + "/\(name).key"
        let certificate = directory + "/\(name).pem"
        let steps: [[String]] = [
            ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=localhost",
             "-keyout", key, "-out", directory + "/\(name).csr"],
            ["x509", "-req", "-in", directory + "/\(name).csr", "-CA", fixtures.caFile, "-CAkey", fixtures.directory + "/ca.key",
             "-set_serial", String(Int.random(in: 1000...999_999)), "-days", "2", "-extfile", fixtures.directory + "/server.ext",
             "-out", certificate],
        ]
        for step in steps {
            let result = try Command.runBlocking(E2EPaths.openssl, step, directory: directory)
            guard result.status == 0 else { throw HarnessError("openssl \(step[0]) failed: \(result.stderrText)") }
        }
        return (certificate, key)
    }

    /// The SHA-256 fingerprint of the certificate the gateway serves now.
    static func servedFingerprint(_ endpoint: GatewayEndpoint) async throws -> String {
        let handshake = try await OpenSSLClient.run(endpoint, ["-showcerts"], input: "")
        let text = handshake.stdoutText
        guard let start = text.range(of: "-----BEGIN CERTIFICATE-----"),
            let end = text.range(of: "-----END CERTIFICATE-----", range: start.upperBound..<text.endIndex)
        else { throw HarnessError("no certificate in s_client output: \(text.prefix(500))") }
        let pem = String(text[start.lowerBound..<end.upperBound]) + "\n"
        return try await fingerprint(pem: pem, directory: endpoint.directory)
    }

    static func fingerprint(pem: String, directory: String) async throws -> String {
        let result = try await Command.run(
            E2EPaths.openssl, ["x509", "-noout", "-fingerprint", "-sha256"], stdin: Data(pem.utf8), directory: directory)
        guard result.status == 0 else { throw HarnessError("x509 -fingerprint: \(result.stderrText)") }
        return result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test("certificate reload with a broken or mismatched key pair keeps the old certificate serving; a good pair replaces it",
          .timeLimit(.minutes(2)))
    func certificateReload() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gw-reload-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let original = try Self.issueCertificate(named: "original", in: directory)
        let other = try Self.issueCertificate(named: "other", in: directory)
        let replacement = try Self.issueCertificate(named: "replacement", in: directory)
        let liveCertificate = directory + "/live.pem"
        let liveKey = directory + "/live.key"
        try FileManager.default.copyItem(atPath: original.certificate, toPath: liveCertificate)
        try FileManager.default.copyItem(atPath: original.key, toPath: liveKey)
        let fixtures = E2EFixtures.shared
        let config = GatewayBinary.configuration(upstream: ["http://127.0.0.1:1"])
            .replacingOccurrences(of: fixtures.certificateFile, with: liveCertificate)
            .replacingOccurrences(of: fixtures.privateKeyFile, with: liveKey)
        let path = try GatewayBinary.writeConfiguration(config, in: directory)
        let gateway = try await GatewayProcess.start(configPath: path, directory: directory)
        do {
            let originalFingerprint = try await Self.fingerprint(
                pem: try String(contentsOfFile: original.certificate, encoding: .utf8), directory: directory)
            #expect(try await Self.servedFingerprint(gateway) == originalFingerprint)

            func replace(_ file: String, with source: String) throws {
                let staging = file + ".new"
                try? FileManager.default.removeItem(atPath: staging)
                try FileManager.default.copyItem(atPath: source, toPath: staging)
                _ = rename(staging, file)
            }
            func reloadFailures() -> Int { gateway.child.stderrText.components(separatedBy: "reload failed").count - 1 }
            func reloads() -> Int { gateway.child.stderrText.components(separatedBy: " reloaded").count - 1 }

            // 1. A key that does not belong to the certificate.
            var failures = reloadFailures()
            try replace(liveKey, with: other.key)
            gateway.child.signal(SIGHUP)
            try await gateway.child.wait(for: "a failed reload (mismatched key)", timeout: 20) { _ in reloadFailures() > failures }
            #expect(try await Self.servedFingerprint(gateway) == originalFingerprint)

            // 2. A certificate file that is not PEM at all.
            failures = reloadFailures()
            try replace(liveKey, with: original.key)
            try "not a certificate\n".write(toFile: liveCertificate + ".broken", atomically: true, encoding: .utf8)
            try replace(liveCertificate, with: liveCertificate + ".broken")
            gateway.child.signal(SIGHUP)
            try await gateway.child.wait(for: "a failed reload (broken PEM)", timeout: 20) { _ in reloadFailures() > failures }
            #expect(try await Self.servedFingerprint(gateway) == originalFingerprint)
            #expect(gateway.child.isRunning)

            // 3. A good pair: the new certificate serves (the test above is not vacuous).
            let before = reloads()
            try replace(liveKey, with: replacement.key)
            try replace(liveCertificate, with: replacement.certificate)
            gateway.child.signal(SIGHUP)
            try await gateway.child.wait(for: "a successful reload", timeout: 20) { _ in reloads() > before }
            let replacementFingerprint = try await Self.fingerprint(
                pem: try String(contentsOfFile: replacement.certificate, encoding: .utf8), directory: directory)
            #expect(try await Self.servedFingerprint(gateway) == replacementFingerprint)
            #expect(!gateway.child.stderrText.contains("BEGIN"), "the log shows key or certificate material")
        } catch {
            await gateway.stop()
            throw error
        }
        await gateway.stop()
    }
}
