import Foundation
import JOSE
import Testing

/// Slow clients: a head that trickles in, a body that stops, an idle keep-alive connection. Raw bytes over
/// TLS (`openssl s_client`), with short limits so the tests stay fast.
@Suite("End to end: client timeouts", .serialized)
struct TimeoutEndToEndTests {
    static func options() -> GatewayHarness.Options {
        var options = GatewayHarness.Options()
        options.configure = { configuration in
            configuration.limits.headerReadTimeout = .seconds(1)
            configuration.limits.bodyReadTimeout = .seconds(1)
            configuration.limits.idleTimeout = .seconds(20)
        }
        return options
    }

    @Test("a request head that does not complete in time closes the connection; nothing goes upstream")
    func slowHead() async throws {
        try await GatewayHarness.with(Self.options()) { gateway in
            let started = Date()
            let response = try await RawTLSClient.exchange(gateway, Array("GET /api/data/x HTTP/1.1\r\nHost: local".utf8), timeout: 12)
            let elapsed = Date().timeIntervalSince(started)
            #expect(response.closedByServer)
            // Well below the 20 s idle timeout: only the head timeout can have closed it.
            #expect(elapsed < 10, "closed after \(elapsed)s, header_read_timeout is 1s")
            #expect(await gateway.upstream.waitForRequests(1, timeout: 0.5).isEmpty)
        }
    }

    @Test("an idle keep-alive connection is not cut by the head timeout")
    func idleConnectionSurvivesHeadTimeout() async throws {
        try await GatewayHarness.with(Self.options()) { gateway in
            let response = try await RawTLSClient.exchange(gateway, [], timeout: 2.5)
            #expect(!response.closedByServer, "a connection that sent nothing was closed before the idle timeout")
        }
    }

    @Test("a body that stops arriving is answered 408 and the connection closes")
    func slowBody() async throws {
        try await GatewayHarness.with(Self.options()) { gateway in
            let token = try gateway.token(scope: "write:data")
            let head = "POST /upload/x HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \(token)\r\nContent-Length: 100\r\n\r\n"
            let started = Date()
            let response = try await RawTLSClient.exchange(gateway, Array((head + "0123456789").utf8), timeout: 12)
            #expect(response.closedByServer)
            #expect(response.text.hasPrefix("HTTP/1.1 408"), "got: \(response.text.prefix(200))")
            #expect(Date().timeIntervalSince(started) < 10, "only the 1 s body timeout can answer before the 20 s idle timeout")
        }
    }
}

/// The data-rate limits that keep slow clients from holding the gateway: a body that keeps coming but too
/// slowly (`min_body_rate`), and an answer that the client stops taking (`send_timeout`).
@Suite("End to end: minimum rates", .serialized)
struct MinimumRateEndToEndTests {
    @Test("a body that never pauses long but averages below min_body_rate gets 408 body_too_slow; nothing reaches the upstream")
    func bodyTooSlow() async throws {
        var options = GatewayHarness.Options()
        options.configure = { configuration in
            configuration.limits.bodyReadTimeout = .seconds(3)
            configuration.limits.minBodyRate = 200
            configuration.limits.idleTimeout = .seconds(30)
        }
        try await GatewayHarness.with(options) { gateway in
            let token = try gateway.token(scope: "write:data")
            let connection = try await RawTLSConnection.open(gateway)
            defer { connection.close() }
            let mark = gateway.upstream.mark()
            try await connection.send(
                "POST /upload/slow HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \(token)\r\nContent-Length: 10000\r\n\r\n")
            // 20 bytes every 0.5 s: never near a 3 s pause, but 40 B/s against the 200 B/s required after the
            // first 3 s (so about 3.75 s in).
            let sent = await connection.trickle(Array(repeating: UInt8(ascii: "x"), count: 2000), pieceSize: 20, interval: 0.5, deadline: 15)
            let response = await connection.response(timeout: 5)
            #expect(response?.status == 408, "after \(sent) bytes: \(connection.receivedText.prefix(300))")
            #expect(response?.json?["code"] as? String == "body_too_slow")
            #expect(response?.saysClose == true)
            #expect(sent < 2000, "the gateway let the whole slow body in")
            #expect(await gateway.upstream.settledEvents(since: mark).isEmpty, "a buffered body that never completed reached the upstream")
        }
    }

    @Test("a client that stops reading a large answer is cut after send_timeout, and the upstream connection is freed")
    func sendTimeout() async throws {
        var options = GatewayHarness.Options()
        options.upstreams = ["svc": [.recording(.init(name: "big", responseBytes: 32 * 1024 * 1024))]]
        options.configure = { configuration in
            configuration.limits.sendTimeout = .seconds(1)
            configuration.limits.idleTimeout = .seconds(30)
        }
        try await GatewayHarness.with(options) { gateway in
            let connection = try await RawTLSConnection.open(gateway, receiveBufferLimit: 64 * 1024)
            defer { connection.close() }
            try await connection.send("GET /public/big HTTP/1.1\r\nHost: localhost\r\n\r\n")
            // The client reads nothing more after its small buffer: the gateway's writes back up, and once
            // they have waited send_timeout the exchange is cut (the client, not reading, cannot see the close;
            // the gateway's record and its pool can).
            let records = await gateway.observer.waitForRecords(1, timeout: 20)
            #expect(records.last?.reason == .gateway(.sendTimeout), "\(records.map { $0.reason?.code ?? "-" })")
            #expect(records.last?.status == 200, "the answer had started")
            #expect((records.last?.bytesOut ?? 0) < 32 * 1024 * 1024)
            await gateway.expectUpstreamConnectionsReturned()
        }
    }

    /// The body clock is the client's only while the gateway reads: an upstream that takes an upload slowly
    /// makes the gateway stop reading, and that time must not count against the client's `min_body_rate`.
    /// Here the client sends 12 MiB at once; the upstream reads about 1 MiB/s through small buffers, so what
    /// the kernel's buffers cannot hold (measured: 4–6 MiB of it) waits on the upstream. Counted against the
    /// client, 16 MiB/s would fail it (408) within 2.75 s, long before the upstream has taken 12 MiB.
    @Test("an upstream that takes an upload slowly is waited for: the client is not blamed (no 408 body_too_slow)")
    func slowUpstreamIsNotTheClientsFault() async throws {
        var options = GatewayHarness.Options()
        options.upstreams = ["svc": [.recording(.init(name: "slow-reader", readBytesPerSecond: 1 << 20))]]
        options.configure = { configuration in
            configuration.limits.bodyReadTimeout = .seconds(2)
            configuration.limits.minBodyRate = 16 << 20
            configuration.limits.maxBodyBytes = 64 << 20
            configuration.limits.idleTimeout = .seconds(30)
        }
        try await GatewayHarness.with(options) { gateway in
            let token = try gateway.token(scope: "write:data")
            let connection = try await RawTLSConnection.open(gateway)
            defer { connection.close() }
            let body = 12 << 20
            try await connection.send(
                "POST /upload/slow HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \(token)\r\nContent-Length: \(body)\r\n\r\n")
            try await connection.send(Array(repeating: UInt8(ascii: "x"), count: body))
            let response = await connection.response(timeout: 30)
            #expect(response?.status == 200, "\(connection.receivedText.prefix(300))")
            let requests = gateway.upstream.requests()
            #expect(requests.last?.bodyLength == body)
            await gateway.expectUpstreamConnectionsReturned()
        }
    }
}
