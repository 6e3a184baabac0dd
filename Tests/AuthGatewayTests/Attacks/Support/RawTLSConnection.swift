import Foundation
import TestSupport
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS

/// One TLS connection to the gateway that sends exact bytes, whenever the test says, and keeps everything
/// that comes back: a raw client that can trickle a head byte by byte, pipeline requests, send a second
/// request after reading the first response, and tell a close by the server from a test giving up.
///
/// `openssl s_client` (``RawTLSClient``) sends one prepared input; this client is for the cases that need
/// a conversation. Every wait is bounded.
final class RawTLSConnection: Sendable {
    private struct State {
        var received: [UInt8] = []
        var closed = false
        var handshakeCompleted = false
        var negotiatedALPN: String?
        var error: String?
        /// The first request sent was a HEAD: its answer has no body, whatever its framing says.
        var firstRequestIsHead: Bool?
    }

    private let channel: Channel
    private let state: NIOLockedValueBox<State>

    private init(channel: Channel, state: NIOLockedValueBox<State>) {
        self.channel = channel
        self.state = state
    }

    /// Connects to the gateway, verifying its certificate against the test CA, offering `alpn`.
    /// With `waitForHandshake`, returns once TLS is up (or throws if the server closed first).
    /// With `receiveBufferLimit`, the client stops reading once it has received that many bytes: a
    /// client that does not read its answers.
    static func open(
        _ endpoint: GatewayEndpoint, alpn: [String] = ["http/1.1"], waitForHandshake: Bool = true,
        timeout: Double = 10, receiveBufferLimit: Int? = nil
    ) async throws -> RawTLSConnection {
        let context = try Self.context(caFile: endpoint.caFile, alpn: alpn)
        let state = NIOLockedValueBox(State())
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(Int64(max(1, timeout))))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(NIOSSLClientHandler(context: context, serverHostname: "localhost"))
                    try sync.addHandler(Collector(state: state, receiveBufferLimit: receiveBufferLimit))
                }
            }
            .connect(host: "127.0.0.1", port: endpoint.port)
            .get()
        let connection = RawTLSConnection(channel: channel, state: state)
        if waitForHandshake {
            let up = await connection.wait(timeout: timeout) { $0.handshakeCompleted || $0.closed }
            guard up, connection.state.withLockedValue({ $0.handshakeCompleted }) else {
                connection.close()
                throw HarnessError("TLS handshake did not complete: \(connection.errorDescription ?? "closed")")
            }
        }
        return connection
    }

    /// TLS contexts are costly to build; one per CA file and ALPN list is enough for a test process.
    private static let contexts = NIOLockedValueBox([String: NIOSSLContext]())

    private static func context(caFile: String, alpn: [String]) throws -> NIOSSLContext {
        let key = caFile + "|" + alpn.joined(separator: ",")
        return try contexts.withLockedValue { contexts in
            if let existing = contexts[key] { return existing }
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.trustRoots = .file(caFile)
            configuration.certificateVerification = .fullVerification
            configuration.applicationProtocols = alpn
            let context = try NIOSSLContext(configuration: configuration)
            contexts[key] = context
            return context
        }
    }

    // MARK: Sending

    /// Writes `bytes` as they are (one TLS record, or several for large writes).
    func send(_ bytes: [UInt8]) async throws {
        state.withLockedValue { if $0.firstRequestIsHead == nil, !bytes.isEmpty { $0.firstRequestIsHead = bytes.starts(with: Array("HEAD ".utf8)) } }
        var buffer = channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        try await channel.writeAndFlush(buffer).get()
    }

    func send(_ text: String) async throws {
        try await send(Array(text.utf8))
    }

    /// Sends `bytes` in pieces of `pieceSize`, pausing `interval` seconds between pieces, until all are sent
    /// or the server closed the connection. Returns how many bytes were sent.
    @discardableResult
    func trickle(_ bytes: [UInt8], pieceSize: Int = 1, interval: Double, deadline: Double = 30) async -> Int {
        let end = Date().addingTimeInterval(deadline)
        var sent = 0
        while sent < bytes.count, !isClosed, Date() < end {
            let piece = Array(bytes[sent..<min(bytes.count, sent + pieceSize)])
            do {
                try await send(piece)
            } catch {
                break
            }
            sent += piece.count
            try? await Task.sleep(nanoseconds: UInt64(interval * 1e9))
        }
        return sent
    }

    // MARK: Receiving

    /// Everything received so far.
    var received: [UInt8] { state.withLockedValue { $0.received } }
    var receivedText: String { String(decoding: received, as: UTF8.self) }

    /// The server closed the connection (or it failed).
    var isClosed: Bool { state.withLockedValue { $0.closed } }
    var handshakeCompleted: Bool { state.withLockedValue { $0.handshakeCompleted } }
    var negotiatedALPN: String? { state.withLockedValue { $0.negotiatedALPN } }
    var errorDescription: String? { state.withLockedValue { $0.error } }

    /// The complete responses received so far, in order.
    var responses: [RawHTTPResponse] {
        let snapshot = state.withLockedValue { ($0.received, $0.closed, $0.firstRequestIsHead == true) }
        return RawHTTPResponse.parse(snapshot.0, connectionClosed: snapshot.1, firstIsHead: snapshot.2)
    }

    /// Waits until `count` complete responses arrived, the connection closed, or `timeout` passed, and returns
    /// the complete responses.
    @discardableResult
    func responses(_ count: Int, timeout: Double = 10) async -> [RawHTTPResponse] {
        _ = await wait(timeout: timeout) { state in
            state.closed
                || RawHTTPResponse.parse(state.received, connectionClosed: false, firstIsHead: state.firstRequestIsHead == true)
                    .count >= count
        }
        return responses
    }

    /// The first response, once complete (or `nil` if none came within `timeout`).
    func response(timeout: Double = 10) async -> RawHTTPResponse? {
        await responses(1, timeout: timeout).first
    }

    /// Whether the server closes the connection within `timeout` seconds.
    func waitForClose(timeout: Double) async -> Bool {
        await wait(timeout: timeout) { $0.closed }
    }

    /// Closes from the client side (idempotent).
    func close() {
        channel.close(promise: nil)
    }

    private func wait(timeout: Double, until condition: (State) -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if state.withLockedValue({ condition($0) }) { return true }
            if Date() > deadline { return false }
            try? await Task.sleep(nanoseconds: 5_000_000)
        }
    }

    /// Collects inbound bytes and the connection's fate into the shared state.
    private final class Collector: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer

        private let state: NIOLockedValueBox<State>
        private let receiveBufferLimit: Int?
        private var receivedCount = 0

        init(state: NIOLockedValueBox<State>, receiveBufferLimit: Int?) {
            self.state = state
            self.receiveBufferLimit = receiveBufferLimit
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            receivedCount += buffer.readableBytes
            if let bytes = buffer.readBytes(length: buffer.readableBytes) {
                state.withLockedValue { $0.received.append(contentsOf: bytes) }
            }
            if let receiveBufferLimit, receivedCount >= receiveBufferLimit {
                // Stop reading: the kernel's buffers fill and the server's writes back up.
                context.channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
            }
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if case TLSUserEvent.handshakeCompleted(let negotiated) = event {
                state.withLockedValue {
                    $0.handshakeCompleted = true
                    $0.negotiatedALPN = negotiated
                }
            }
            context.fireUserInboundEventTriggered(event)
        }

        func channelInactive(context: ChannelHandlerContext) {
            state.withLockedValue { $0.closed = true }
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: Error) {
            // An unclean shutdown (TCP FIN without close_notify) is a close like any other here.
            state.withLockedValue { if $0.error == nil { $0.error = "\(error)" } }
            context.close(promise: nil)
        }
    }
}

/// One HTTP/1.x response parsed from raw bytes: what the client really got, header lines as sent.
struct RawHTTPResponse: Sendable, CustomStringConvertible {
    let version: String
    let status: Int
    let headers: [(name: String, value: String)]
    let body: [UInt8]

    var bodyText: String { String(decoding: body, as: UTF8.self) }

    func values(_ name: String) -> [String] {
        headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }

    func header(_ name: String) -> String? { values(name).first }

    /// `Connection: close` among the response's headers.
    var saysClose: Bool {
        values("connection").contains { $0.split(separator: ",").contains { $0.trimmingCharacters(in: .whitespaces).lowercased() == "close" } }
    }

    /// The body as a JSON object (a problem document, or the recording upstream's echo).
    var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] }

    var description: String {
        "\(version) \(status) [\(headers.map { "\($0.name): \($0.value)" }.joined(separator: "; "))] \(bodyText.prefix(300))"
    }

    /// Every complete response in `bytes`, in order. Interim (1xx) responses are included. A body without
    /// `Content-Length` or chunked framing runs to the end of the connection, so it is complete only once
    /// `connectionClosed`.
    /// The complete responses in `bytes`; with `firstIsHead`, the first final one (the answer to a HEAD) has
    /// no body (RFC 9110 §9.3.2).
    static func parse(_ bytes: [UInt8], connectionClosed: Bool, firstIsHead: Bool = false) -> [RawHTTPResponse] {
        var responses: [RawHTTPResponse] = []
        var index = 0
        while index < bytes.count {
            guard let headEnd = find([13, 10, 13, 10], in: bytes, from: index) else { break }
            let head = String(decoding: bytes[index..<headEnd], as: UTF8.self)
            var lines = head.components(separatedBy: "\r\n")
            let statusLine = lines.removeFirst()
            let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count >= 2, let status = Int(parts[1]) else { break }
            let headers: [(name: String, value: String)] = lines.compactMap { line in
                guard let colon = line.firstIndex(of: ":") else { return nil }
                return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
            }
            let bodyStart = headEnd + 4
            let lookup = { (name: String) in headers.filter { $0.name.lowercased() == name }.map(\.value) }
            var body: [UInt8] = []
            var next = bodyStart
            let answersHead = firstIsHead && !responses.contains { $0.status >= 200 } && status >= 200
            if (100..<200).contains(status) || status == 204 || status == 304 || answersHead {
                // no body
            } else if lookup("transfer-encoding").contains(where: { $0.lowercased().contains("chunked") }) {
                guard let (decoded, end) = dechunk(bytes, from: bodyStart) else { break }
                body = decoded
                next = end
            } else if let lengthText = lookup("content-length").first, let length = Int(lengthText) {
                guard bytes.count - bodyStart >= length else { break }
                body = Array(bytes[bodyStart..<(bodyStart + length)])
                next = bodyStart + length
            } else {
                guard connectionClosed else { break }
                body = Array(bytes[bodyStart...])
                next = bytes.count
            }
            responses.append(RawHTTPResponse(version: String(parts[0]), status: status, headers: headers, body: body))
            index = next
        }
        return responses
    }

    private static func dechunk(_ bytes: [UInt8], from start: Int) -> ([UInt8], Int)? {
        var body: [UInt8] = []
        var index = start
        while true {
            guard let lineEnd = find([13, 10], in: bytes, from: index) else { return nil }
            let sizeText = String(decoding: bytes[index..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else { return nil }
            index = lineEnd + 2
            if size == 0 {
                // Trailers up to the empty line.
                while true {
                    guard let end = find([13, 10], in: bytes, from: index) else { return nil }
                    let empty = end == index
                    index = end + 2
                    if empty { return (body, index) }
                }
            }
            guard bytes.count >= index + size + 2 else { return nil }
            body += bytes[index..<(index + size)]
            index += size + 2
        }
    }

    private static func find(_ needle: [UInt8], in bytes: [UInt8], from start: Int) -> Int? {
        guard bytes.count >= needle.count, start <= bytes.count - needle.count else { return nil }
        var index = start
        while index <= bytes.count - needle.count {
            if bytes[index] == needle[0], bytes[index..<(index + needle.count)].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }
}
