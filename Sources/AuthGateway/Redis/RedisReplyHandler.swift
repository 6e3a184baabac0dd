import NIOCore

/// Turns the bytes of one Redis connection into replies for its ``RedisClient``: accumulates what arrived,
/// hands over every complete reply, and reports a protocol error or the connection's end. Loop-confined.
final class RedisReplyHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let parser: RESPReplyParser
    private var pending: [UInt8] = []
    private let received: (RESPValue) -> Void
    private let failed: (Error?) -> Void

    init(parser: RESPReplyParser = RESPReplyParser(), received: @escaping (RESPValue) -> Void, failed: @escaping (Error?) -> Void) {
        self.parser = parser
        self.received = received
        self.failed = failed
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        pending.append(contentsOf: buffer.readableBytesView)
        do {
            let (values, consumed) = try parser.parseAll(pending)
            pending.removeFirst(consumed)
            for value in values { received(value) }
        } catch {
            failed(error)
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failed(nil)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        failed(error)
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension RedisReplyHandler: Sendable {}
