import NIOCore
import NIOHTTP1
import NIOPosix
import GatewayConfig
import GatewayAdmission
import GatewayObservability

/// One event loop's upstream connections: keep-alive pools per target, load balancing, queueing at
/// `max_connections` and passive health. Confined to its loop, so no locks; every loop learns target health
/// on its own.
///
/// The decisions are ``UpstreamPoolStateMachine``'s; this type performs them: it opens and closes channels,
/// runs the idle and queue timers, and answers each request's completion exactly once. A request holds a
/// ``Ticket`` from the moment it asks: ``cancel(_:)`` withdraws it whatever stage it reached, so a request
/// whose client left can never strand a connection.
final class UpstreamPool {
    typealias Completion = (Result<UpstreamConnection, UpstreamFailure>) -> Void
    typealias Ticket = UpstreamPoolStateMachine.WaiterID
    typealias Endpoint = UpstreamPoolStateMachine.Endpoint
    private typealias ConnectionID = UpstreamPoolStateMachine.ConnectionID

    private struct Waiter {
        let completion: Completion
        var timeout: Scheduled<Void>?
    }

    let eventLoop: EventLoop
    private var machine = UpstreamPoolStateMachine()
    /// Open connections the machine knows (connected; idle or leased).
    private var connections: [ConnectionID: UpstreamConnection] = [:]
    private var waiters: [Ticket: Waiter] = [:]
    private var nextTicket = 0

    init(eventLoop: EventLoop) {
        self.eventLoop = eventLoop
    }

    /// Picks a target of `upstream` not in `excluding` (see ``UpstreamPoolStateMachine/pickTarget(_:_:excluding:now:)``).
    func pickTarget(
        _ name: String, _ upstream: GatewayConfiguration.Upstream, excluding: [GatewayConfiguration.Target]
    ) -> GatewayConfiguration.Target? {
        machine.pickTarget(name, upstream, excluding: excluding, now: eventLoop.now)
    }

    /// Asks for a connection to `target` of upstream `name` for a request from `client` (its address: the
    /// unit of the per-client share); `completion` runs on this loop exactly once, with an idle pooled
    /// connection (at once), a new one, or the next one released — unless the ticket is cancelled first.
    @discardableResult
    func connection(
        to target: GatewayConfiguration.Target, of name: String, _ upstream: GatewayConfiguration.Upstream,
        for client: String, completion: @escaping Completion
    ) -> Ticket {
        nextTicket += 1
        let ticket = Ticket(value: nextTicket)
        waiters[ticket] = Waiter(completion: completion)
        let endpoint = Endpoint(upstream: name, target: target)
        let limits = UpstreamPoolStateMachine.Limits(upstream)
        perform(machine.request(ticket, client: client, target: endpoint, limits: limits, now: eventLoop.now))
        return ticket
    }

    /// Withdraws a request that no longer wants its connection; its completion will not run. A no-op once
    /// the completion ran (give a leased connection back with ``release(_:reusable:)``).
    func cancel(_ ticket: Ticket) {
        guard let waiter = waiters.removeValue(forKey: ticket) else { return }
        waiter.timeout?.cancel()
        perform(machine.cancel(ticket))
    }

    /// Gives a leased connection back after its exchange: handed to the next queued request or kept for
    /// reuse when `reusable` (the response was read to its end and both sides keep the connection alive),
    /// closed otherwise.
    func release(_ connection: UpstreamConnection, reusable: Bool) {
        connection.handler.exchange = nil
        perform(machine.release(connection.id, reusable: reusable && connection.isUsable, now: eventLoop.now))
    }

    /// The upstream targets this loop currently skips after refused connections.
    func unhealthyEndpoints() -> Set<Endpoint> {
        machine.unhealthyEndpoints(now: eventLoop.now)
    }

    /// Connections and waiters per upstream target, for `/metrics` and the tests' leak checks.
    func counts() -> [Endpoint: UpstreamPoolCounts] {
        machine.allCounts
    }

    /// Closes every idle connection (shutdown, or upstreams changed on reload).
    func closeIdle() {
        for id in machine.removeIdle() {
            connections.removeValue(forKey: id)?.close()
        }
    }

    // MARK: Performing the machine's actions

    private func perform(_ actions: [UpstreamPoolStateMachine.Action]) {
        for action in actions {
            switch action {
            case .connect(let id, let endpoint, let timeout):
                connect(id, to: endpoint.target, timeout: timeout)
            case .lease(let id, let ticket):
                guard let connection = connections[id] else {
                    preconditionFailure("the pool leased \(id), which it does not hold")
                }
                complete(ticket, with: .success(connection))
            case .fail(let ticket, let failure):
                complete(ticket, with: .failure(failure))
            case .close(let id):
                connections.removeValue(forKey: id)?.close()
            case .armIdleTimer(let id, let deadline):
                connections[id]?.idleTimer?.arm(at: deadline)
            case .armQueueTimer(let ticket, let deadline):
                waiters[ticket]?.timeout = eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [weak self] in
                    guard let self else { return }
                    self.perform(self.machine.waiterTimedOut(ticket))
                }
            }
        }
    }

    private func complete(_ ticket: Ticket, with result: Result<UpstreamConnection, UpstreamFailure>) {
        guard let waiter = waiters.removeValue(forKey: ticket) else {
            // The machine only answers waiters it still has, and cancel() removes both at once.
            preconditionFailure("the pool answered \(ticket) twice or after it withdrew")
        }
        waiter.timeout?.cancel()
        waiter.completion(result)
    }

    private func connect(_ id: ConnectionID, to target: GatewayConfiguration.Target, timeout: TimeAmount) {
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(timeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(UpstreamClientHandler())
                }
            }
        let connecting: EventLoopFuture<Channel>
        if let address = try? SocketAddress(ipAddress: target.host, port: target.port) {
            connecting = bootstrap.connect(to: address)
        } else {
            connecting = bootstrap.connect(host: target.host, port: target.port)
        }
        connecting.assumeIsolated().whenComplete { result in
            switch result {
            case .success(let channel) where channel.isActive:
                self.adopt(channel, id: id, target: target)
            case .success(let channel):
                channel.close(promise: nil)
                self.perform(self.machine.connectFailed(id, now: self.eventLoop.now))
            case .failure:
                self.perform(self.machine.connectFailed(id, now: self.eventLoop.now))
            }
        }
    }

    /// Wraps a connected channel; its handler reports the close back to the machine.
    private func adopt(_ channel: Channel, id: ConnectionID, target: GatewayConfiguration.Target) {
        // The initializer above always adds the handler, on this loop, before `connect` succeeds.
        let handler = try! channel.pipeline.syncOperations.handler(type: UpstreamClientHandler.self)
        let connection = UpstreamConnection(id: id, channel: channel, target: target, handler: handler)
        connection.idleTimer = DeadlineTimer(eventLoop: eventLoop) { [weak self] in
            guard let self else { return }
            self.perform(self.machine.idleTimedOut(id))
        }
        handler.onClose = { [weak self] in
            guard let self else { return }
            self.connections[id] = nil
            self.perform(self.machine.closed(id))
        }
        connections[id] = connection
        perform(machine.connected(id, now: eventLoop.now))
    }
}

@available(*, unavailable)
extension UpstreamPool: Sendable {}
