import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOSSL

/// Builds each accepted connection's pipeline: connection cap, TLS, ALPN, then HTTP/1.1 or HTTP/2
/// streams, each ending in a ``GatewayRequestHandler`` bound to the connection's event loop.
struct ConnectionInitializer: Sendable {
    let listenerIndex: Int
    let http2: Bool
    let limits: GatewayConfiguration.Limits
    let tlsContexts: NIOLockedValueBox<[NIOSSLContext]>
    let contexts: [ObjectIdentifier: NIOLoopBound<LoopContext>]
    let limiter: ConnectionLimiter
    let connections: ConnectionRegistry

    @Sendable
    func initialize(_ channel: Channel) -> EventLoopFuture<Void> {
        guard limiter.acquire() else {
            return channel.close()
        }
        channel.closeFuture.whenComplete { [limiter] _ in limiter.release() }
        connections.add(channel)
        let tls = tlsContexts.withLockedValue { $0[listenerIndex] }
        let address = channel.remoteAddress?.ipAddress ?? "unknown"
        do {
            let sync = channel.pipeline.syncOperations
            try sync.addHandler(NIOSSLServerHandler(context: tls))
            // Time to finish the TLS handshake and the first request head; reset by traffic afterwards.
            try sync.addHandler(IdleTimeoutHandler(timeout: .milliseconds(Int64(limits.idleTimeout * 1000))))
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        guard http2 else { return configureHTTP1(channel, address: address) }
        return channel.configureHTTP2SecureUpgrade(
            h2ChannelConfigurator: { channel in configureHTTP2(channel, address: address) },
            http1ChannelConfigurator: { channel in configureHTTP1(channel, address: address) }
        )
    }

    private func loopContext(_ channel: Channel) -> LoopContext {
        // Every loop of the group got a context before the listener was bound.
        guard let bound = contexts[ObjectIdentifier(channel.eventLoop)] else {
            preconditionFailure("no loop context for \(channel.eventLoop)")
        }
        return bound.value
    }

    private func configureHTTP1(_ channel: Channel, address: String) -> EventLoopFuture<Void> {
        channel.eventLoop.makeCompletedFuture {
            var decoderLimits = NIOHTTPDecoderLimitConfiguration()
            decoderLimits.maxHeaderFieldSize = limits.maxHeaderBytes
            decoderLimits.maxHeaderListSize = limits.maxHeaderBytes
            decoderLimits.maxHeaderFieldCount = limits.maxHeaderCount
            let sync = channel.pipeline.syncOperations
            let headTimer = RequestHeadTimer(timeout: limits.headerReadTimeout)
            try sync.addHandler(RequestHeadTimeoutHandler(timer: headTimer))
            try sync.addHandler(ByteToMessageHandler(HTTPRequestDecoder(
                leftOverBytesStrategy: .dropBytes, informationalResponseStrategy: .drop, limitConfiguration: decoderLimits)))
            try sync.addHandler(HTTPResponseEncoder())
            try sync.addHandler(HTTPServerPipelineHandler())
            try sync.addHandler(GatewayRequestHandler(
                loop: loopContext(channel), client: ClientConnection(address: address, isHTTP2: false), headTimer: headTimer))
        }
    }

    private func configureHTTP2(_ channel: Channel, address: String) -> EventLoopFuture<Void> {
        var connection = NIOHTTP2Handler.ConnectionConfiguration()
        connection.initialSettings = [
            HTTP2Setting(parameter: .maxConcurrentStreams, value: limits.http2MaxConcurrentStreams),
            HTTP2Setting(parameter: .maxHeaderListSize, value: limits.maxHeaderBytes),
            HTTP2Setting(parameter: .initialWindowSize, value: 1 << 20),
        ]
        return channel.configureHTTP2Pipeline(
            mode: .server, connectionConfiguration: connection, streamConfiguration: .init()
        ) { stream in
            stream.eventLoop.makeCompletedFuture {
                let sync = stream.pipeline.syncOperations
                try sync.addHandler(HTTP2FramePayloadToHTTP1ServerCodec())
                try sync.addHandler(GatewayRequestHandler(
                    loop: loopContext(stream), client: ClientConnection(address: address, isHTTP2: true)))
            }
        }.map { _ in }
    }
}
