import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import GatewayObservability

/// The plain-HTTP admin listener (loopback by default): `/metrics` (Prometheus text format),
/// `/healthz` (the process is alive) and `/readyz` (loaded, not draining, an upstream healthy).
package final class AdminServer: Sendable {
    private let channel: Channel
    package var port: Int { channel.localAddress?.port ?? 0 }

    private init(channel: Channel) {
        self.channel = channel
    }

    package static func start(
        address: String, port: Int, group: EventLoopGroup, metrics: GatewayMetrics, gateway: GatewayServer
    ) async throws -> AdminServer {
        let channel = try await ListenError.naming("admin", address, port) {
            try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                        try channel.pipeline.syncOperations.addHandler(AdminHandler(metrics: metrics, gateway: gateway))
                    }
                }
                .bind(host: address, port: port)
                .get()
        }
        return AdminServer(channel: channel)
    }

    package func stop() async {
        try? await channel.close()
    }
}

/// Answers one admin request at a time.
final class AdminHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let metrics: GatewayMetrics
    private let gateway: GatewayServer
    private var head: HTTPRequestHead?

    init(metrics: GatewayMetrics, gateway: GatewayServer) {
        self.metrics = metrics
        self.gateway = gateway
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): self.head = head
        case .body: break
        case .end:
            guard let head else { return }
            self.head = nil
            respond(to: head, context: context)
        }
    }

    private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        guard head.method == .GET || head.method == .HEAD else {
            write(.methodNotAllowed, "method not allowed\n", head: head, context: context)
            return
        }
        switch path {
        case "/metrics":
            let promise = context.eventLoop.makePromise(of: [UInt8].self)
            promise.completeWithTask { [gateway, metrics] in
                metrics.recordUpstreamPools(await gateway.upstreamConnectionCounts())
                metrics.recordIssuerKeys(gateway.issuerKeyStates())
                return metrics.exposition()
            }
            promise.futureResult.assumeIsolated().whenSuccess { exposition in
                self.write(.ok, String(decoding: exposition, as: UTF8.self), head: head, context: context,
                           contentType: "text/plain; version=0.0.4; charset=utf-8")
            }
        case "/healthz":
            write(.ok, "ok\n", head: head, context: context)
        case "/readyz":
            let promise = context.eventLoop.makePromise(of: (ready: Bool, reason: String).self)
            promise.completeWithTask { [gateway] in await gateway.readiness() }
            promise.futureResult.assumeIsolated().whenSuccess { ready, reason in
                self.write(ready ? .ok : .serviceUnavailable, reason + "\n", head: head, context: context)
            }
        default:
            write(.notFound, "not found\n", head: head, context: context)
        }
    }

    private func write(
        _ status: HTTPResponseStatus, _ body: String, head: HTTPRequestHead, context: ChannelHandlerContext,
        contentType: String = "text/plain; charset=utf-8"
    ) {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: contentType)
        headers.add(name: "content-length", value: String(body.utf8.count))
        headers.add(name: "cache-control", value: "no-store")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
        if head.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}

@available(*, unavailable)
extension AdminHandler: Sendable {}
