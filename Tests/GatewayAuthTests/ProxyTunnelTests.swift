import NIOCore
import NIOEmbedded
import Testing

@testable import GatewayAuth

/// The CONNECT exchange as values, and the thin handler that performs it.
@Suite("Proxy tunnel")
struct ProxyTunnelTests {
    @Test func theRequestNamesTheTargetAndCarriesCredentialsOnlyWhenGiven() {
        #expect(ProxyTunnel.request(host: "idp.example.com", port: 443, credentials: nil)
            == "CONNECT idp.example.com:443 HTTP/1.1\r\nHost: idp.example.com:443\r\nUser-Agent: auth-gateway\r\n\r\n")
        let authenticated = ProxyTunnel.request(host: "::1", port: 8443, credentials: "Aladdin:open sesame")
        #expect(authenticated.hasPrefix("CONNECT [::1]:8443 HTTP/1.1\r\n"))
        #expect(authenticated.contains("\r\nProxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n"))
    }

    @Test(arguments: [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")])
    func base64MatchesRFC4648(_ input: String, _ output: String) {
        #expect(ProxyTunnel.base64(Array(input.utf8)) == output)
    }

    @Test func theAnswerIsReadAcrossReadsAndKeepsWhatFollowsIt() {
        var parser = ProxyTunnel.ResponseParser()
        #expect(parser.parse(Array("HTTP/1.1 200 Connection est".utf8)) == .needMore)
        #expect(parser.parse(Array("ablished\r\nVia: squid\r\n\r".utf8)) == .needMore)
        #expect(parser.parse(Array("\n\u{16}\u{03}".utf8)) == .established(leftover: [0x16, 0x03]))
    }

    @Test(arguments: [
        ("HTTP/1.1 407 Proxy Authentication Required\r\n\r\n", ProxyTunnel.Outcome.refused(status: 407)),
        ("HTTP/1.0 403 Forbidden\r\n\r\n", .refused(status: 403)),
        ("HTTP/1.1 502\r\n\r\n", .refused(status: 502)),
        ("HTTP/1.0 200 OK\r\n\r\n", .established(leftover: [])),
        ("SSH-2.0-OpenSSH\r\n\r\n", .malformed("the proxy did not answer in HTTP/1.x")),
        ("HTTP/1.1 20 OK\r\n\r\n", .malformed("the proxy did not answer in HTTP/1.x")),
    ])
    func statusDecides(_ answer: String, _ outcome: ProxyTunnel.Outcome) {
        var parser = ProxyTunnel.ResponseParser()
        #expect(parser.parse(Array(answer.utf8)) == outcome)
    }

    @Test func anEndlessHeadIsRefused() {
        var parser = ProxyTunnel.ResponseParser()
        #expect(parser.parse(Array("HTTP/1.1 200 OK\r\n".utf8)) == .needMore)
        let outcome = parser.parse([UInt8](repeating: UInt8(ascii: "a"), count: ProxyTunnel.maxResponseHeadBytes))
        #expect(outcome == .malformed("the proxy's answer head is too long"))
    }

    @Test func theHandlerSendsCONNECTThenHandsOverTheConnection() throws {
        let channel = EmbeddedChannel()
        var established = false
        var failures: [String] = []
        try channel.pipeline.syncOperations.addHandler(ProxyConnectHandler(
            request: "CONNECT idp:443 HTTP/1.1\r\n\r\n", established: { _ in established = true }, failed: { failures.append($0) }))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 3128)).wait()
        let sent = try #require(try channel.readOutbound(as: ByteBuffer.self))
        #expect(String(buffer: sent) == "CONNECT idp:443 HTTP/1.1\r\n\r\n")
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\n\r\nTLS"))
        #expect(established && failures.isEmpty)
        // The handler is gone; what the proxy relayed after its answer moved on down the pipeline.
        #expect(try channel.readInbound(as: ByteBuffer.self).map { String(buffer: $0) } == "TLS")
        #expect(throws: (any Error).self) { try channel.pipeline.syncOperations.handler(type: ProxyConnectHandler.self) }
        #expect(try channel.finish().isClean)
    }

    @Test func aRefusalFailsTheFetchAndCloses() throws {
        let channel = EmbeddedChannel()
        var failures: [String] = []
        try channel.pipeline.syncOperations.addHandler(ProxyConnectHandler(
            request: "CONNECT idp:443 HTTP/1.1\r\n\r\n", established: { _ in Issue.record("tunnel opened") },
            failed: { failures.append($0) }))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 3128)).wait()
        _ = try channel.readOutbound(as: ByteBuffer.self)
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 407 Proxy Authentication Required\r\n\r\n"))
        #expect(failures == ["the proxy refused the tunnel: HTTP 407 (proxy authentication required: credentials missing or refused)"])
        #expect(!channel.isActive)
    }
}
