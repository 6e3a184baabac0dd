import NIOConcurrencyHelpers
import NIOCore

/// The open client connections, for graceful shutdown: ask each to quiesce, then close the rest.
final class ConnectionRegistry: Sendable {
    private let channels = NIOLockedValueBox([ObjectIdentifier: Channel]())

    func add(_ channel: Channel) {
        channels.withLockedValue { $0[ObjectIdentifier(channel)] = channel }
        channel.closeFuture.whenComplete { [weak self] _ in
            self?.channels.withLockedValue { $0[ObjectIdentifier(channel)] = nil }
        }
    }

    var count: Int { channels.withLockedValue { $0.count } }

    /// HTTP/1.1 connections close after their current response (idle ones at once); HTTP/2 ones send
    /// GOAWAY and close when their streams are done.
    func quiesceAll() {
        for channel in channels.withLockedValue({ Array($0.values) }) {
            channel.eventLoop.execute {
                channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
            }
        }
    }

    func closeAll() {
        for channel in channels.withLockedValue({ Array($0.values) }) {
            channel.close(promise: nil)
        }
    }
}
