import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOSSL
import GatewayConfig
import GatewayAdmission

/// Builds each accepted connection's pipeline: connection cap, TLS, ALPN, then HTTP/1.1 or HTTP/2
/// streams, each ending in a ``GatewayRequestHandler`` bound to the connection's event loop.
struct ConnectionInitializer: Sendable {
    let listenerIndex: Int
    let http2: Bool
    /// Decision mode's settings; `nil` for a proxy listener.
    let decision: DecisionListener?
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
        let client = ClientConnection(
            address: channel.remoteAddress?.ipAddress ?? "unknown", poolKey: ClientShareKey.of(channel.remoteAddress),
            isHTTP2: false)
        do {
            let sync = channel.pipeline.syncOperations
            try sync.addHandler(NIOSSLServerHandler(context: tls))
            try sync.addHandler(TLSHandshakeTimeoutHandler(timeout: TimeAmount(limits.tlsHandshakeTimeout)))
            // Decrypted traffic only: a connection with nothing to say after its handshake is closed.
            try sync.addHandler(IdleTimeoutHandler(timeout: TimeAmount(limits.idleTimeout)))
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        guard http2 else { return configureHTTP1(channel, client: client) }
        return channel.configureHTTP2SecureUpgrade(
            h2ChannelConfigurator: { channel in configureHTTP2(channel, client: client) },
            http1ChannelConfigurator: { channel in configureHTTP1(channel, client: client) }
        )
    }

    private func loopContext(_ channel: Channel) -> LoopContext {
        // Every loop of the group got a context before the listener was bound.
        guard let bound = contexts[ObjectIdentifier(channel.eventLoop)] else {
            preconditionFailure("no loop context for \(channel.eventLoop)")
        }
        return bound.value
    }

    private func configureHTTP1(_ channel: Channel, client: ClientConnection) -> EventLoopFuture<Void> {
        channel.eventLoop.makeCompletedFuture {
            let sync = channel.pipeline.syncOperations
            let headTimer = RequestHeadTimer(timeout: limits.headerReadTimeout)
            try sync.addHandler(RequestHeadTimeoutHandler(timer: headTimer))
            let http1 = HTTP1ServerHandler(limits: HTTP1RequestParser.Limits(
                maxHeaderBytes: limits.maxHeaderBytes, maxHeaderCount: limits.maxHeaderCount, maxURIBytes: limits.maxURIBytes))
            let requests = GatewayRequestHandler(
                loop: loopContext(channel), client: client, headTimer: headTimer, decision: decision)
            // Next to each other in the pipeline, and calling each other directly (see HTTP1ServerHandler).
            http1.receiver = requests
            requests.writer = http1
            try sync.addHandler(http1)
            try sync.addHandler(requests)
        }
    }

    private func configureHTTP2(_ channel: Channel, client: ClientConnection) -> EventLoopFuture<Void> {
        let configuration = Self.http2Configuration(limits)
        let streamClient = ClientConnection(address: client.address, poolKey: client.poolKey, isHTTP2: true)
        let idle: NIOLoopBound<HTTP2IdleConnectionTimer>
        let clocks: NIOLoopBound<DeadlineGroup>
        do {
            try channel.pipeline.syncOperations.addHandler(HTTP2GoAwayCloseHandler())
            idle = NIOLoopBound(
                HTTP2IdleConnectionTimer(channel: channel, timeout: TimeAmount(limits.idleTimeout)),
                eventLoop: channel.eventLoop)
            let group = DeadlineGroup(eventLoop: channel.eventLoop)
            channel.closeFuture.assumeIsolated().whenComplete { _ in group.cancel() }
            clocks = NIOLoopBound(group, eventLoop: channel.eventLoop)
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        return channel.configureHTTP2Pipeline(
            mode: .server, connectionConfiguration: configuration.connection, streamConfiguration: configuration.stream
        ) { stream in
            stream.eventLoop.makeCompletedFuture {
                idle.value.streamOpened()
                stream.closeFuture.whenComplete { _ in idle.value.streamClosed() }
                let frames = HTTP2StreamHandler()
                let requests = GatewayRequestHandler(
                    loop: loopContext(stream), client: streamClient, decision: decision, clockGroup: clocks.value)
                // Next to each other in the pipeline, and calling each other directly (see HTTP2StreamHandler).
                frames.receiver = requests
                requests.writer = frames
                let sync = stream.pipeline.syncOperations
                try sync.addHandler(frames)
                try sync.addHandler(requests)
            }
        }.map { _ in }
    }

    /// swift-nio-http2's settings and denial-of-service limits from the gateway's `limits`.
    ///
    /// Header validation (RFC 9113 §8.2: names, connection-specific fields, CR/LF/NUL, pseudo-headers) and
    /// `content-length` checking against DATA (§8.1.1) are NIO's defaults; they are set here explicitly
    /// because ``RequestGuard`` relies on them for HTTP/2 (a client's `transfer-encoding` never gets through).
    static func http2Configuration(
        _ limits: GatewayConfiguration.Limits
    ) -> (connection: NIOHTTP2Handler.ConnectionConfiguration, stream: NIOHTTP2Handler.StreamConfiguration) {
        let window = TimeAmount(limits.http2RateWindow)
        var connection = NIOHTTP2Handler.ConnectionConfiguration()
        connection.initialSettings = [
            HTTP2Setting(parameter: .maxConcurrentStreams, value: limits.http2MaxConcurrentStreams),
            HTTP2Setting(parameter: .maxHeaderListSize, value: limits.maxHeaderBytes),
            HTTP2Setting(parameter: .initialWindowSize, value: 1 << 20),
        ]
        connection.headerBlockValidation = .enabled
        connection.contentLengthValidation = .enabled
        connection.maximumSequentialContinuationFrames = limits.http2MaxContinuationFrames
        connection.controlFrameRateLimit.maximumCount = limits.http2MaxControlFrames
        connection.controlFrameRateLimit.windowLength = window
        var stream = NIOHTTP2Handler.StreamConfiguration()
        stream.streamResetFrameRateLimit.maximumCount = limits.http2MaxResets
        stream.streamResetFrameRateLimit.windowLength = window
        stream.streamErrorRateLimit.maximumCount = limits.http2MaxStreamErrors
        stream.streamErrorRateLimit.windowLength = window
        return (connection, stream)
    }
}
