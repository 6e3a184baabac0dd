import GatewayTooling
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// A tiny HTTP/1.1 service standing in for the demo's internal services behind the gateway.
///
/// Each route answers `200` with a plain-text message, a blank line, and the identity headers the request
/// carried (`X-User-*`, `X-Token-*`, `X-Request-Id`, `X-Forwarded-For`), one `Name: value` per line in the order
/// received, so a person running curl through the gateway sees exactly what it injected. Other paths get `404`.
/// Connections are kept alive and pipelining is handled by NIO's server pipeline.
package final class DemoService: Sendable {
    /// The service's name, as in `Response from Service A`.
    package let name: String
    /// The bound port (the real one when started on port 0).
    package let port: Int

    private let listener: Channel
    private let connections: NIOLockedValueBox<Connections>

    struct Connections {
        var open: [ObjectIdentifier: Channel] = [:]
        var stopping = false
    }

    private init(name: String, port: Int, listener: Channel, connections: NIOLockedValueBox<Connections>) {
        self.name = name
        self.port = port
        self.listener = listener
        self.connections = connections
    }

    /// The seed tutorial's route table for service `name`: `A` serves `/api/data` and `/admin`, `B` serves
    /// `/api/info`; any other name serves nothing (every path is `404`).
    package static func routes(forService name: String) -> [String: String] {
        switch name {
        case "A": ["/api/data": "Response from Service A", "/admin": "Admin area of Service A"]
        case "B": ["/api/info": "Response from Service B"]
        default: [:]
        }
    }

    /// Starts service `name` with the tutorial's routes (``routes(forService:)``).
    package static func start(
        name: String, host: String = "127.0.0.1", port: Int, group: EventLoopGroup
    ) async throws -> DemoService {
        try await start(name: name, routes: routes(forService: name), host: host, port: port, group: group)
    }

    /// Starts a service answering each path prefix in `routes` (`"/api/data"` matches `/api/data`,
    /// `/api/data/x` and `/api/data?q`, not `/api/database`; the longest prefix wins) with its message.
    package static func start(
        name: String, routes: [String: String], host: String = "127.0.0.1", port: Int, group: EventLoopGroup
    ) async throws -> DemoService {
        try await start(name: name, routes: routes, host: host, port: port, group: group, tls: nil)
    }

    /// The same, optionally behind TLS (used by tests to exercise ``DevelopmentPKI`` certificates).
    static func start(
        name: String, routes: [String: String], host: String, port: Int, group: EventLoopGroup, tls: NIOSSLContext?
    ) async throws -> DemoService {
        let table = RouteTable(routes)
        let connections = NIOLockedValueBox(Connections())
        let listener = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                let id = ObjectIdentifier(channel)
                // Checked under the lock that `stop()` takes, so no connection slips past a stop in progress.
                let accepted = connections.withLockedValue { state in
                    if state.stopping { return false }
                    state.open[id] = channel
                    return true
                }
                guard accepted else { return channel.close() }
                channel.closeFuture.whenComplete { _ in connections.withLockedValue { $0.open[id] = nil } }
                return channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if let tls { try sync.addHandler(NIOSSLServerHandler(context: tls)) }
                    try sync.configureHTTPServerPipeline()
                    try sync.addHandler(DemoServiceHandler(name: name, routes: table))
                }
            }
            .bind(host: host, port: port)
            .get()
        return DemoService(
            name: name, port: listener.localAddress?.port ?? port, listener: listener, connections: connections)
    }

    /// Stops listening (the port is free when this returns), lets each open connection finish the request it
    /// is serving for up to a second, then closes it. Calling it again does nothing.
    package func stop() async throws {
        let open = connections.withLockedValue { state in
            state.stopping = true
            return Array(state.open.values)
        }
        do {
            try await listener.close()
        } catch ChannelError.alreadyClosed {
            // Stopped before.
        }
        for channel in open {
            // NIO's pipelining handler closes an idle connection at once and a busy one after its response.
            channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
            let forced = channel.eventLoop.scheduleTask(in: .seconds(1)) { channel.close(promise: nil) }
            channel.closeFuture.whenComplete { _ in forced.cancel() }
        }
        for channel in open {
            try? await channel.closeFuture.get()
        }
    }

    // MARK: - Responses

    /// Path prefixes, longest first.
    struct RouteTable: Sendable {
        let entries: [(prefix: String, message: String)]

        init(_ routes: [String: String]) {
            entries = routes.map { (prefix: $0.key, message: $0.value) }
                .sorted { $0.prefix.utf8.count > $1.prefix.utf8.count }
        }

        /// The message of the longest prefix matching `target`'s path on a segment boundary.
        func message(for target: String) -> String? {
            let path = target.prefix { $0 != "?" && $0 != "#" }
            return entries.first { entry in
                path == entry.prefix || entry.prefix.hasSuffix("/") && path.hasPrefix(entry.prefix)
                    || path.hasPrefix(entry.prefix + "/")
            }?.message
        }
    }

    /// Whether a request header is one the service echoes: the identity the gateway injects.
    static func isIdentityHeader(_ name: String) -> Bool {
        let lowercased = name.lowercased()
        return lowercased.hasPrefix("x-user-") || lowercased.hasPrefix("x-token-")
            || lowercased == "x-request-id" || lowercased == "x-forwarded-for"
    }

    /// The status and plain-text body for a request to service `name`.
    static func response(name: String, routes: RouteTable, target: String, headers: HTTPHeaders)
        -> (HTTPResponseStatus, String)
    {
        guard let message = routes.message(for: target) else {
            return (.notFound, "Not Found: Service \(name) has no such resource\n")
        }
        let identity = headers.filter { isIdentityHeader($0.name) }.map { "\($0.name): \($0.value)\n" }
        return (.ok, message + "\n" + (identity.isEmpty ? "" : "\n" + identity.joined()))
    }
}

/// Answers each request of one connection once its end has arrived; confined to the connection's event loop.
final class DemoServiceHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let name: String
    private let routes: DemoService.RouteTable
    private var head: HTTPRequestHead?

    init(name: String, routes: DemoService.RouteTable) {
        self.name = name
        self.routes = routes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
        case .body:
            // Request bodies are accepted and ignored.
            break
        case .end:
            guard let head else { return }
            self.head = nil
            respond(to: head, context: context)
        }
    }

    private func respond(to request: HTTPRequestHead, context: ChannelHandlerContext) {
        let (status, body) = DemoService.response(
            name: name, routes: routes, target: request.uri, headers: request.headers)
        let keepAlive = request.isKeepAlive
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
        headers.add(name: "Content-Length", value: String(body.utf8.count))
        headers.add(name: "X-Content-Type-Options", value: "nosniff")
        if !keepAlive {
            headers.add(name: "Connection", value: "close")
        } else if request.version == .http1_0 {
            headers.add(name: "Connection", value: "keep-alive")
        }
        let responseHead = HTTPResponseHead(version: request.version, status: status, headers: headers)
        context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
        if request.method != .HEAD {
            let buffer = context.channel.allocator.buffer(string: body)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            written.whenComplete { [channel = context.channel] _ in channel.close(promise: nil) }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension DemoServiceHandler: Sendable {}
