import Foundation
import Testing
import GatewayPolicy
import GatewayConfig

/// The HTTP/2 limits of `limits` (docs/CONFIGURATION.md), each exercised on both sides of its value with a
/// gateway configured low: just under the limit the connection serves on, just over it the client gets
/// GOAWAY and the connection is closed. The upstream and the canary see nothing.
@Suite("Attacks: HTTP/2 limits")
struct HTTP2LimitAttackTests {
    /// A gateway with `configure` applied, a canary, and the oracle's marks taken.
    private func withGateway(
        _ configure: @escaping @Sendable (inout GatewayConfiguration) -> Void,
        _ body: (GatewayHarness, Canary) async throws -> Void
    ) async throws {
        try await GatewayHarness.with(attackOptions(configure)) { gateway in
            let canary = try await Canary.start(in: gateway.directory)
            do {
                try await body(gateway, canary)
                let events = await gateway.upstream.settledEvents(since: 0, settle: 0.15)
                #expect(events.isEmpty, "the upstream saw \(events.map { $0.requestLine ?? $0.event })")
                #expect(await canary.touches(settle: 0).isEmpty)
            } catch {
                await canary.stop()
                throw error
            }
            await canary.stop()
        }
    }

    private func expectServedOn(_ result: H2AttackResult, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        #expect(result.goaway == nil, "\(result)", sourceLocation: sourceLocation)
        #expect(!result.closedByServer, "\(result)", sourceLocation: sourceLocation)
        #expect(result.followUp?.status == 404, "the connection did not serve the next request: \(result)",
                sourceLocation: sourceLocation)
    }

    private func expectGoAway(_ result: H2AttackResult, _ code: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        #expect(result.goaway?.error == code, "\(result)", sourceLocation: sourceLocation)
        #expect(result.closedByServer, "the connection stayed open after GOAWAY: \(result)", sourceLocation: sourceLocation)
    }

    @Test("http2_max_concurrent_streams: advertised in SETTINGS; one stream more is a connection error (RFC 9113 §5.1.2)")
    func maxConcurrentStreams() async throws {
        try await withGateway({ $0.limits.http2MaxConcurrentStreams = 4 }) { gateway, _ in
            let within = try await H2AttackClient.run(gateway, "max_concurrent_streams", count: 4)
            #expect(within.settings["MAX_CONCURRENT_STREAMS"] == 4, "\(within)")
            #expect((1...4).allSatisfy { within.stream(2 * $0 - 1)?.status == 401 }, "\(within)")
            expectServedOn(within)

            let over = try await H2AttackClient.run(gateway, "max_concurrent_streams", count: 5)
            expectGoAway(over, "PROTOCOL_ERROR")
            #expect(over.stream(9)?.status == nil, "the fifth stream was served: \(over)")
        }
    }

    @Test("http2_max_resets: rapid reset under the limit is tolerated, over it the connection goes (CVE-2023-44487)")
    func resetLimit() async throws {
        try await withGateway({ $0.limits.http2MaxResets = 20 }) { gateway, _ in
            let within = try await H2AttackClient.run(gateway, "rapid_reset", count: 15)
            expectServedOn(within)
            let over = try await H2AttackClient.run(gateway, "rapid_reset", count: 40)
            expectGoAway(over, "ENHANCE_YOUR_CALM")
        }
    }

    @Test("http2_max_stream_errors: malformed requests answered by RST_STREAM, until the burst is a connection error")
    func streamErrorLimit() async throws {
        try await withGateway({ $0.limits.http2MaxStreamErrors = 10 }) { gateway, _ in
            let within = try await H2AttackClient.run(gateway, "stream_error_burst", count: 8)
            #expect(within.streams.values.allSatisfy { $0.reset == "PROTOCOL_ERROR" }, "\(within)")
            expectServedOn(within)
            let over = try await H2AttackClient.run(gateway, "stream_error_burst", count: 20)
            expectGoAway(over, "ENHANCE_YOUR_CALM")
        }
    }

    @Test("http2_max_control_frames: PING and SETTINGS floods (CVE-2019-9512, CVE-2019-9515)", arguments: ["ping_flood", "settings_flood"])
    func controlFrameLimit(_ scenario: String) async throws {
        try await withGateway({ $0.limits.http2MaxControlFrames = 20 }) { gateway, _ in
            let within = try await H2AttackClient.run(gateway, scenario, count: 10)
            expectServedOn(within)
            let over = try await H2AttackClient.run(gateway, scenario, count: 40)
            expectGoAway(over, "ENHANCE_YOUR_CALM")
        }
    }

    @Test("http2_max_continuation_frames: a header block in HEADERS + N CONTINUATION frames is served up to N, refused beyond")
    func continuationLimit() async throws {
        try await withGateway({ $0.limits.http2MaxContinuationFrames = 2 }) { gateway, _ in
            let within = try await H2AttackClient.run(gateway, "split_headers", count: 2)
            #expect(within.stream(1)?.status == 404, "\(within)")
            expectServedOn(within)
            let over = try await H2AttackClient.run(gateway, "split_headers", count: 3)
            expectGoAway(over, "ENHANCE_YOUR_CALM")
        }
    }

    @Test("max_header_bytes is HTTP/2's SETTINGS_MAX_HEADER_LIST_SIZE, and a larger header block is refused")
    func headerListLimit() async throws {
        try await withGateway({ $0.limits.maxHeaderBytes = 4096 }) { gateway, _ in
            let over = try await H2AttackClient.run(gateway, "header_list_too_large", count: 6000)
            #expect(over.settings["MAX_HEADER_LIST_SIZE"] == 4096, "\(over)")
            expectGoAway(over, "PROTOCOL_ERROR")
        }
    }

    @Test("body_read_timeout bounds an answered HTTP/2 stream the client never ends: it is reset, the connection serves on")
    func answeredStreamLeftOpen() async throws {
        try await withGateway({ $0.limits.bodyReadTimeout = .seconds(1) }) { gateway, _ in
            let started = Date()
            let result = try await H2AttackClient.run(gateway, "answered_stream_left_open", timeout: 20)
            let elapsed = Date().timeIntervalSince(started)
            let stream = try #require(result.stream(1), "\(result)")
            #expect(stream.status == 401, "\(result)")
            #expect(stream.reset == "CANCEL", "\(result)")
            // The body timer (1 s), not the idle timeout (60 s) nor the client's patience (20 s).
            #expect(elapsed >= 0.9 && elapsed < 15, "reset after \(elapsed) s")
            expectServedOn(result)
        }
    }

    @Test("idle_timeout on HTTP/2 counts streams, not bytes: PINGs do not keep an idle connection (and its slot) alive")
    func pingsDoNotKeepIdleConnections() async throws {
        try await withGateway({ $0.limits.idleTimeout = .seconds(1) }) { gateway, _ in
            let result = try await H2AttackClient.run(gateway, "ping_keepalive", timeout: 12)
            #expect(result.closedByServer, "\(result)")
            let milliseconds = try #require(result.counts["ms_until_closed"])
            // Closed by the stream-idle timer (1 s) while PINGs kept arriving every 0.3 s, long before the
            // client would have stopped (12 s).
            #expect(milliseconds >= 900 && milliseconds < 10_000, "closed after \(milliseconds) ms")
            #expect(result.counts["ping_acks_received", default: 0] >= 2, "\(result)")
            #expect(gateway.observer.records.isEmpty)
        }
    }

    @Test("the HTTP/2 limits have safe defaults and are read from YAML")
    func configuration() throws {
        let defaults = GatewayConfiguration.Limits()
        #expect(defaults.http2MaxConcurrentStreams == 100)
        #expect(defaults.http2MaxResets == 200)
        #expect(defaults.http2MaxStreamErrors == 200)
        #expect(defaults.http2MaxControlFrames == 200)
        #expect(defaults.http2RateWindow == .seconds(30))
        #expect(defaults.http2MaxContinuationFrames == 5)
        #expect(defaults.tlsHandshakeTimeout == .seconds(10))
        let yaml = GatewayBinary.configuration(
            upstream: ["http://127.0.0.1:1"],
            limits: """
                http2_max_concurrent_streams: 8
                  http2_max_resets: 50
                  http2_max_stream_errors: 40
                  http2_max_control_frames: 30
                  http2_rate_window: 10s
                  http2_max_continuation_frames: 2
                  tls_handshake_timeout: 3s
                """)
        let limits = try GatewayConfigurationLoader.load(text: yaml, path: "/tmp/gateway.yaml").limits
        #expect(limits.http2MaxConcurrentStreams == 8)
        #expect(limits.http2MaxResets == 50)
        #expect(limits.http2MaxStreamErrors == 40)
        #expect(limits.http2MaxControlFrames == 30)
        #expect(limits.http2RateWindow == .seconds(10))
        #expect(limits.http2MaxContinuationFrames == 2)
        #expect(limits.tlsHandshakeTimeout == .seconds(3))
        let bad = GatewayBinary.configuration(upstream: ["http://127.0.0.1:1"], limits: "http2_max_resets: 0")
        #expect(throws: GatewayConfigurationLoadError.self) {
            _ = try GatewayConfigurationLoader.load(text: bad, path: "/tmp/gateway.yaml")
        }
    }

    @Test("floods against the real binary: rapid reset, CONTINUATION, PING and SETTINGS floods leave its memory flat",
          .timeLimit(.minutes(2)))
    func floodsKeepMemoryFlat() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gw-h2-floods-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let upstream = try await RecordingUpstream.start(in: directory)
        let path = try GatewayBinary.writeConfiguration(
            GatewayBinary.configuration(upstream: [upstream.url], accessLog: "off"), in: directory)
        let gateway = try await GatewayProcess.start(configPath: path, directory: directory)
        try await stopping(gateway, upstream) {
            let floods = ["rapid_reset", "continuation_flood", "ping_flood", "settings_flood"]
            func round() async throws {
                for flood in floods {
                    // 20 s per wait: with the whole suite running, a starved gateway can take longer than the
                    // default 8 s to get through 4,000 frames and close (result.counts["ms_goaway_to_close"]).
                    let result = try await H2AttackClient.run(gateway, flood, count: 2000, timeout: 20)
                    #expect(result.goaway?.error == "ENHANCE_YOUR_CALM", "\(result)")
                    #expect(result.closedByServer, "\(result); gateway log: \(gateway.child.stderrText.suffix(3000))")
                }
            }
            try await round()  // warm-up: allocator pools, lazily built state
            let before = try #require(gateway.residentKilobytes)
            for _ in 0..<4 { try await round() }
            let after = try #require(gateway.residentKilobytes)
            // Loose on purpose (a debug build, a shared machine): a leak per stream or per frame would be
            // tens of megabytes over 32,000 floods' frames; the bound only catches that.
            #expect(after - before < 24 * 1024, "RSS grew from \(before) kB to \(after) kB")
            let response = try await Curl.request(gateway, "/public/after-floods", http2: true)
            #expect(response.status == 200)
            #expect(upstream.requests().map(\.target) == ["/public/after-floods"])
        }
    }
}
