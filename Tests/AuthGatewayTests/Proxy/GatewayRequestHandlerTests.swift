import Foundation
import GatewayAdmission
import GatewayConfig
import GatewayObservability
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import AuthGateway

/// The request handler as the gateway wires it for an HTTP/1.1 connection (next to ``HTTP1ServerHandler``,
/// calling each other directly), in an embedded channel with ``RequestAdmissionTests``' snapshot: what it
/// writes for the machine's decisions, what it reports, and that an answer from the gateway never asks the
/// upstream pool for anything.
extension RequestAdmissionTests {
    /// One client connection, its loop's context and what the loop's observer recorded.
    final class EmbeddedConnection {
        let channel: EmbeddedChannel
        let context: LoopContext
        let observer = RecordingObserver()

        init(snapshot: GatewaySnapshot, loop: EmbeddedEventLoop, decision: DecisionListener? = nil) throws {
            context = LoopContext(eventLoop: loop, snapshot: snapshot, observer: observer, metrics: nil)
            let http1 = HTTP1ServerHandler(limits: .init(maxHeaderBytes: 4096, maxHeaderCount: 12, maxURIBytes: 64))
            let requests = GatewayRequestHandler(
                loop: context, client: ClientConnection(address: RequestAdmissionTests.clientAddress, isHTTP2: false),
                decision: decision)
            http1.receiver = requests
            requests.writer = http1
            channel = EmbeddedChannel(loop: loop)
            try channel.pipeline.syncOperations.addHandlers([http1, requests])
            try channel.connect(to: SocketAddress(ipAddress: RequestAdmissionTests.clientAddress, port: 40000)).wait()
        }

        /// Sends `text` as one read and returns everything written back once the loop has nothing left to do.
        func send(_ text: String) throws -> String {
            try channel.writeInbound(ByteBuffer(string: text))
            (channel.eventLoop as? EmbeddedEventLoop)?.run()
            var written = ""
            while let buffer = try channel.readOutbound(as: ByteBuffer.self) { written += String(buffer: buffer) }
            return written
        }

        /// The pool was never asked: no connection opened, leased or waiting.
        var poolUntouched: Bool { context.pool.counts().values.allSatisfy { $0 == UpstreamPoolCounts() } }
    }

    /// The status lines of the answers in `written` (a problem document's body ends with a newline).
    static func statusLines(_ written: String) -> [String] {
        written.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n").map(String.init)
            .filter { $0.hasPrefix("HTTP/1.1 ") }
    }

    @Test("handler: a request without a token is answered 401 with the challenge, reported once; the pool is never asked")
    func handlerDeniesWithoutUpstream() throws {
        let connection = try EmbeddedConnection(snapshot: snapshot, loop: loop)
        let written = try connection.send("GET /api/data/x HTTP/1.1\r\nHost: \(Self.host)\r\nX-User-Id: admin\r\n\r\n")
        #expect(Self.statusLines(written) == ["HTTP/1.1 401 Unauthorized"])
        #expect(written.lowercased().contains("\r\nwww-authenticate: bearer realm=\"\(Self.realm)\"\r\n"), "\(written)")
        #expect(connection.channel.isActive, "a denial keeps the connection")
        #expect(connection.observer.records.map(\.status) == [401])
        #expect(connection.observer.records.first?.reason?.code == "token_missing")
        #expect(connection.poolUntouched)
    }

    @Test("handler: pipelined requests are answered in order and each reported; a valid token's 403 names its subject")
    func handlerPipelines() throws {
        let connection = try EmbeddedConnection(snapshot: snapshot, loop: loop)
        let noRole = try token()
        let written = try connection.send(
            "DELETE /public/x HTTP/1.1\r\nHost: \(Self.host)\r\n\r\n"
                + "GET /nowhere HTTP/1.1\r\nHost: \(Self.host)\r\n\r\n"
                + "GET /admin/x HTTP/1.1\r\nHost: \(Self.host)\r\nAuthorization: Bearer \(noRole)\r\n\r\n")
        #expect(Self.statusLines(written) == ["HTTP/1.1 405 Method Not Allowed", "HTTP/1.1 404 Not Found", "HTTP/1.1 403 Forbidden"])
        let records = connection.observer.records
        #expect(records.map(\.status) == [405, 404, 403])
        #expect(records.map(\.path) == ["/public/x", "/nowhere", "/admin/x"])
        #expect(records.last?.subject == "alice")
        #expect(connection.channel.isActive)
        #expect(connection.poolUntouched)
    }

    @Test("handler: bytes the parser refuses are answered 400, reported, and the connection closes")
    func handlerParseError() throws {
        let connection = try EmbeddedConnection(snapshot: snapshot, loop: loop)
        let written = try connection.send("GET /public/x HTTP/1.1\r\nBad Field\r\n\r\nGET /public/y HTTP/1.1\r\n\r\n")
        #expect(Self.statusLines(written) == ["HTTP/1.1 400 Bad Request"])
        loop.run()
        #expect(!connection.channel.isActive)
        #expect(connection.observer.records.map(\.status) == [400])
        #expect(connection.poolUntouched)
    }

    @Test("handler: decision mode answers an allowed request 200 with the identity, and never opens an upstream")
    func handlerDecides() throws {
        let connection = try EmbeddedConnection(snapshot: snapshot, loop: loop, decision: Self.nginx)
        let written = try connection.send(
            "GET /auth HTTP/1.1\r\nHost: gateway.internal\r\nX-Original-Method: GET\r\nX-Original-URI: /api/data/x\r\n"
                + "X-Original-Host: \(Self.host)\r\nAuthorization: Bearer \(try token())\r\nX-User-Id: admin\r\n\r\n")
        #expect(Self.statusLines(written) == ["HTTP/1.1 200 OK"])
        #expect(written.lowercased().contains("\r\nx-user-id: alice\r\n"), "\(written)")
        #expect(!written.lowercased().contains("x-user-id: admin"))
        #expect(connection.observer.records.map(\.status) == [200])
        #expect(connection.poolUntouched)
    }
}
