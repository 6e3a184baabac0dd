import AuthGateway
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
            configuration.limits.headerReadTimeout = 1
            configuration.limits.bodyReadTimeout = 1
            configuration.limits.idleTimeout = 20
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
