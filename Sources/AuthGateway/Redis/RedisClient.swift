import NIOCore
import NIOPosix
import Logging

/// Why a command got no reply.
package enum RedisFailure: Error, Equatable, Sendable {
    /// Not connected, and not trying again yet (the last attempt failed recently).
    case down
    /// No reply within the timeout; the connection is dropped.
    case timeout
    /// The connection ended or broke before the reply.
    case connectionLost
    /// Too many commands already wait for replies.
    case overloaded

    package var label: String {
        switch self {
        case .down: return "down"
        case .timeout: return "timeout"
        case .connectionLost: return "connection_lost"
        case .overloaded: return "overloaded"
        }
    }
}

/// One pipelined connection to Redis for one event loop: commands are written as they come and replies are
/// matched in order. Confined to its event loop; no lock.
///
/// It connects on the first command (authenticating and selecting the database first), and after a failure
/// waits with a doubling back-off (100 ms to 5 s) before trying again; meanwhile commands fail at once with
/// ``RedisFailure/down``, so a request never waits on a Redis that is known to be away. A command without a
/// reply within `timeout` fails, and the connection is dropped: a Redis that stalls is treated as down.
package final class RedisClient {
    package struct Settings: Sendable {
        package var host: String
        package var port: Int
        package var username: String?
        package var password: [UInt8]?
        package var database: Int
        package var timeout: TimeAmount
        package var connectTimeout: TimeAmount
        /// The most commands waiting for replies on the connection (and for it, while connecting).
        package var maxPending = 10_000
        /// The first wait after a failure; it doubles with each failure in a row, up to 5 s.
        package var initialBackoff = TimeAmount.milliseconds(100)

        package init(
            host: String, port: Int, username: String? = nil, password: [UInt8]? = nil, database: Int = 0,
            timeout: TimeAmount, connectTimeout: TimeAmount
        ) {
            self.host = host
            self.port = port
            self.username = username
            self.password = password
            self.database = database
            self.timeout = timeout
            self.connectTimeout = connectTimeout
        }
    }

    private final class Pending {
        var promise: EventLoopPromise<RESPValue>?
        var timer: Scheduled<Void>?
        let bytes: [UInt8]

        init(promise: EventLoopPromise<RESPValue>?, bytes: [UInt8]) {
            self.promise = promise
            self.bytes = bytes
        }

        func complete(_ result: Result<RESPValue, RedisFailure>) {
            timer?.cancel()
            timer = nil
            guard let promise else { return }
            self.promise = nil
            switch result {
            case .success(let value): promise.succeed(value)
            case .failure(let failure): promise.fail(failure)
            }
        }
    }

    private enum State {
        case idle
        case backingOff(until: NIODeadline)
        case connecting(generation: Int)
        case connected(Channel, generation: Int)
        case shutDown
    }

    package let eventLoop: EventLoop
    private let settings: Settings
    private let logger: Logger
    private var state = State.idle
    /// Written and waiting for their replies, in order (while connecting: waiting to be written).
    private var pending = CircularBuffer<Pending>()
    private var generation = 0
    private var backoff: TimeAmount
    private var reportedDown = false

    package init(eventLoop: EventLoop, settings: Settings, logger: Logger) {
        self.eventLoop = eventLoop
        self.settings = settings
        self.logger = logger
        self.backoff = settings.initialBackoff
    }

    /// Whether the last connection attempt succeeded and the connection is up.
    package var isConnected: Bool {
        if case .connected = state { return true }
        return false
    }

    /// Sends `arguments` as one command; the future completes on this loop with the reply (an error reply is
    /// a reply) or a ``RedisFailure``.
    package func send(_ arguments: [[UInt8]]) -> EventLoopFuture<RESPValue> {
        eventLoop.preconditionInEventLoop()
        switch state {
        case .shutDown:
            return eventLoop.makeFailedFuture(RedisFailure.down)
        case .backingOff(let until) where eventLoop.now < until:
            return eventLoop.makeFailedFuture(RedisFailure.down)
        case .idle, .backingOff:
            connect()
        case .connecting, .connected:
            break
        }
        guard pending.count < settings.maxPending else { return eventLoop.makeFailedFuture(RedisFailure.overloaded) }
        var bytes: [UInt8] = []
        RESPCommand.encode(arguments, into: &bytes)
        let promise = eventLoop.makePromise(of: RESPValue.self)
        let entry = Pending(promise: promise, bytes: bytes)
        entry.timer = eventLoop.assumeIsolated().scheduleTask(in: settings.timeout) { [weak self, weak entry] in
            guard let self, let entry else { return }
            self.timedOut(entry)
        }
        pending.append(entry)
        if case .connected(let channel, _) = state { write([entry], to: channel) }
        return promise.futureResult
    }

    /// Closes the connection and fails what waits; later commands fail with ``RedisFailure/down``.
    package func shutdown() {
        eventLoop.preconditionInEventLoop()
        let current = state
        state = .shutDown
        failAll(.connectionLost)
        if case .connected(let channel, _) = current { channel.close(promise: nil) }
    }

    // MARK: Connecting

    private func connect() {
        generation += 1
        let attempt = generation
        state = .connecting(generation: attempt)
        let handler = NIOLoopBound(
            RedisReplyHandler(
                received: { [weak self] value in self?.received(value, generation: attempt) },
                failed: { [weak self] _ in self?.lost(generation: attempt) }),
            eventLoop: eventLoop)
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(settings.connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(handler.value)
                }
            }
        bootstrap.connect(host: settings.host, port: settings.port).assumeIsolated().whenComplete { [weak self] result in
            guard let self else { return }
            switch result {
            case .success(let channel):
                self.connected(channel, generation: attempt)
            case .failure(let error):
                self.connectFailed(error, generation: attempt)
            }
        }
    }

    private func connected(_ channel: Channel, generation attempt: Int) {
        guard case .connecting(let current) = state, current == attempt else {
            channel.close(promise: nil)
            return
        }
        state = .connected(channel, generation: attempt)
        // The session's set-up goes first, pipelined with what waits: a refused AUTH answers every later
        // command with an error reply, and the failure shows there.
        var setup: [Pending] = []
        if let password = settings.password {
            let arguments = [Array("AUTH".utf8)] + (settings.username.map { [Array($0.utf8)] } ?? []) + [password]
            setup.append(setupCommand(arguments, what: "AUTH"))
        }
        if settings.database != 0 {
            setup.append(setupCommand([Array("SELECT".utf8), Array(String(settings.database).utf8)], what: "SELECT"))
        }
        for entry in setup.reversed() { pending.prepend(entry) }
        write(Array(pending), to: channel)
        backoff = settings.initialBackoff
        if reportedDown {
            reportedDown = false
            logger.info("rate-limit Redis reachable again", metadata: ["redis.address": "\(settings.host):\(settings.port)"])
        }
    }

    /// A set-up command whose error reply is logged (without its arguments: AUTH carries the password).
    private func setupCommand(_ arguments: [[UInt8]], what: String) -> Pending {
        var bytes: [UInt8] = []
        RESPCommand.encode(arguments, into: &bytes)
        let promise = eventLoop.makePromise(of: RESPValue.self)
        let logger = self.logger
        promise.futureResult.whenSuccess { reply in
            if case .error(let message) = reply {
                logger.error("rate-limit Redis refused \(what)", metadata: ["redis.error": "\(message.prefix(80))"])
            }
        }
        promise.futureResult.whenFailure { _ in }
        return Pending(promise: promise, bytes: bytes)
    }

    private func connectFailed(_ error: Error, generation attempt: Int) {
        guard case .connecting(let current) = state, current == attempt else { return }
        goDown(reason: "cannot connect: \(error)")
    }

    private func write(_ entries: [Pending], to channel: Channel) {
        guard !entries.isEmpty else { return }
        var buffer = channel.allocator.buffer(capacity: entries.reduce(0) { $0 + $1.bytes.count })
        for entry in entries { buffer.writeBytes(entry.bytes) }
        channel.writeAndFlush(buffer, promise: nil)
    }

    // MARK: Replies and failures

    private func received(_ value: RESPValue, generation attempt: Int) {
        guard case .connected(_, let current) = state, current == attempt, let entry = pending.popFirst() else { return }
        entry.complete(.success(value))
    }

    private func lost(generation attempt: Int) {
        switch state {
        case .connected(_, let current) where current == attempt, .connecting(let current) where current == attempt:
            goDown(reason: "connection lost")
        default:
            break
        }
    }

    /// A command had no reply in time. Once written, Redis stalls: the connection goes. Still waiting for
    /// the connection, only that command fails (a slow connect may still succeed for the others).
    private func timedOut(_ entry: Pending) {
        guard case .connected = state else {
            entry.complete(.failure(.timeout))
            pending.removeAll(where: { $0 === entry })
            return
        }
        goDown(reason: "no reply within the timeout", failure: .timeout)
    }

    /// Drops the connection, fails what waits, and backs off before the next attempt.
    private func goDown(reason: String, failure: RedisFailure = .connectionLost) {
        let previous = state
        generation += 1
        state = .backingOff(until: eventLoop.now + backoff)
        backoff = min(backoff * 2, max(.seconds(5), settings.initialBackoff))
        failAll(failure)
        // Closed after the state changed: the close reports the connection's end at once, which must find
        // it already written off.
        if case .connected(let channel, _) = previous { channel.close(promise: nil) }
        if !reportedDown {
            reportedDown = true
            logger.warning(
                "rate-limit Redis unavailable; requests get the failure mode until it answers",
                metadata: ["redis.address": "\(settings.host):\(settings.port)", "reason": "\(reason)"])
        }
    }

    private func failAll(_ failure: RedisFailure) {
        let failed = pending
        pending.removeAll()
        for entry in failed { entry.complete(.failure(failure)) }
    }
}

@available(*, unavailable)
extension RedisClient: Sendable {}
