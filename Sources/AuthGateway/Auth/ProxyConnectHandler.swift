import NIOCore

/// Opens a CONNECT tunnel, then hands the connection to the handlers that talk to the provider through it.
///
/// Sends ``ProxyTunnel/request(host:port:credentials:)`` once the connection to the proxy is up, feeds the
/// answer to ``ProxyTunnel/ResponseParser``, and on a 2xx calls `established` (which adds TLS and HTTP after
/// this handler) and removes itself. Any other answer fails the fetch through `failed`.
final class ProxyConnectHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let request: String
    private let established: (ChannelPipeline.SynchronousOperations) throws -> Void
    private let failed: (String) -> Void
    private var parser = ProxyTunnel.ResponseParser()
    private var done = false

    init(
        request: String, established: @escaping (ChannelPipeline.SynchronousOperations) throws -> Void,
        failed: @escaping (String) -> Void
    ) {
        self.request = request
        self.established = established
        self.failed = failed
    }

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: request)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !done else { return }
        let buffer = unwrapInboundIn(data)
        switch parser.parse(buffer.readableBytesView) {
        case .needMore:
            return
        case .established(let leftover):
            done = true
            do {
                try established(context.pipeline.syncOperations)
            } catch {
                fail(context: context, "cannot set up TLS through the proxy: \(error)")
                return
            }
            if !leftover.isEmpty { context.fireChannelRead(wrapInboundOut(context.channel.allocator.buffer(bytes: leftover))) }
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        case .refused(let status):
            let why = status == 407 ? " (proxy authentication required: credentials missing or refused)" : ""
            fail(context: context, "the proxy refused the tunnel: HTTP \(status)\(why)")
        case .malformed(let why):
            fail(context: context, why)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !done { fail(context: context, "the proxy closed the connection before opening the tunnel") }
        context.fireChannelInactive()
    }

    private func fail(context: ChannelHandlerContext, _ reason: String) {
        done = true
        failed(reason)
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension ProxyConnectHandler: Sendable {}
