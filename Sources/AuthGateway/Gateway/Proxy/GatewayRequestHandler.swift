import NIOCore
import NIOHTTP1
import GatewayConfig
import GatewayAdmission
import GatewayObservability

/// Serves requests of one HTTP/1.1 connection (behind ``HTTP1ServerHandler``, one at a time) or one
/// HTTP/2 stream. Thin by design: every decision is ``ExchangeStateMachine``'s; this type turns channel,
/// pool, upstream and timer events into the machine's events and performs the actions it returns: runs
/// admission, writes, asks the pool for a connection (trying the next target after a refused connect),
/// gives it back, lets reads through, arms clocks and reports. Confined to its event loop.
final class GatewayRequestHandler: ChannelDuplexHandler, UpstreamExchange, HTTP1RequestReceiver {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart
    private typealias Machine = ExchangeStateMachine

    private let loop: LoopContext
    private let client: ClientConnection
    /// Decision mode: answer whether the request may pass instead of proxying it (fixed per connection).
    private let decision: DecisionListener?
    /// HTTP/1.1 only: the slow-head clock (HTTP/2 streams arrive with complete HEADERS).
    private let headTimer: RequestHeadTimer?
    private var machine: Machine
    private var context: ChannelHandlerContext?
    /// The connection's ``HTTP1ServerHandler`` or the stream's ``HTTP2StreamHandler``, written to directly (no
    /// `NIOAny`, no pipeline hop); without one, parts go down the pipeline.
    weak var writer: HTTP1ResponseWriter?

    /// Set while ``performActions()`` drains the machine's outbox: an action may cause an event (a written
    /// end makes the next pipelined request arrive at once), whose actions wait behind the ones already decided.
    private var performing = false

    /// The current request's claim on the pool: a ticket while it waits, then the connection.
    private var wantsConnection = false
    private var ticket: UpstreamPool.Ticket?
    private var connection: UpstreamConnection?
    private var triedTargets: [GatewayConfiguration.Target] = []

    /// The exchange's clocks, made when first armed. An HTTP/2 stream's timers belong to its connection's
    /// ``DeadlineGroup`` (one NIO task for all its streams).
    private var bodyClock: DeadlineTimer?
    private var responseClock: DeadlineTimer?
    private var sendClock: DeadlineTimer?
    private let clockGroup: DeadlineGroup?

    init(
        loop: LoopContext, client: ClientConnection, headTimer: RequestHeadTimer? = nil,
        decision: DecisionListener? = nil, clockGroup: DeadlineGroup? = nil
    ) {
        self.loop = loop
        self.client = client
        self.decision = decision
        self.headTimer = headTimer
        self.clockGroup = clockGroup
        self.machine = Machine(client: client, limits: .init(loop.snapshot.configuration.limits))
    }

    private var now: Machine.Now { Machine.Now(deadline: loop.eventLoop.now, wall: loop.now()) }

    private func clock(_ kind: Machine.Clock) -> DeadlineTimer {
        DeadlineTimer(eventLoop: loop.eventLoop, group: clockGroup) { [weak self] in
            guard let self else { return }
            self.handle { $0.clockFired(kind, now: self.now) }
        }
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    // MARK: Channel events

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        receivedRequestPart(unwrapInboundIn(data))
    }

    /// A request part: straight from ``HTTP1ServerHandler`` or ``HTTP2StreamHandler``, or from the pipeline.
    func receivedRequestPart(_ part: HTTPServerRequestPart) {
        let limits = Machine.Limits(loop.snapshot.configuration.limits)
        handle { $0.received(part, limits: limits, now: now) }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        handle { $0.readComplete() }
        context.fireChannelReadComplete()
    }

    func read(context: ChannelHandlerContext) {
        handle { $0.readRequested(now: now) }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        handle { $0.clientWritabilityChanged(context.channel.isWritable, now: now) }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        handle { $0.clientClosed(now: now) }
        bodyClock?.cancel()
        responseClock?.cancel()
        sendClock?.cancel()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        guard let parseError = error as? HTTP1ParseError else {
            context.close(promise: nil)
            return
        }
        handle { $0.parseFailed(parseError.response, requestID: loop.nextRequestID(), now: now) }
    }

    // MARK: Upstream events (UpstreamExchange)

    func upstreamResponseHead(_ head: HTTPResponseHead, reusable: Bool) {
        handle { $0.upstreamResponseHead(head, reusable: reusable, now: now) }
    }

    func upstreamResponseBody(_ buffer: ByteBuffer) {
        handle { $0.upstreamResponseBody(buffer, now: now) }
    }

    func upstreamReadComplete() {
        handle { $0.upstreamReadComplete() }
    }

    func upstreamResponseEnd() {
        handle { $0.upstreamResponseEnd(now: now) }
    }

    func upstreamFailed(_ failure: UpstreamFailure) {
        handle { $0.upstreamFailed(failure, target: connection?.targetText, now: now) }
    }

    func upstreamWritabilityChanged(_ isWritable: Bool) {
        handle { $0.upstreamWritabilityChanged(isWritable, now: now) }
    }

    var clientIsWritable: Bool {
        context?.channel.isWritable ?? false
    }

    // MARK: Performing the machine's actions

    /// Hands the machine one event, then performs what it decided.
    private func handle(_ event: (inout Machine) -> Void) {
        event(&machine)
        performActions()
    }

    /// Performs what the machine decided, in order. An action may cause an event whose actions the machine
    /// queues behind the rest; they run in this same loop, never in between.
    private func performActions() {
        guard !performing else { return }
        performing = true
        defer { performing = false }
        while let action = machine.nextAction() { run(action) }
    }

    private func run(_ action: Machine.Action) {
        switch action {
        case .admit(let head, let requestID, let mayRefetchKeys):
            admit(head, requestID: requestID ?? loop.nextRequestID(), mayRefetchKeys: mayRefetchKeys)
        case .headReceived:
            headTimer?.headReceived()
        case .writeContinue(let version):
            write(.head(HTTPResponseHead(version: version, status: .continue)))
            flush()
        case .writeResponseHead(let head):
            write(.head(head))
        case .writeResponseBody(let buffer):
            write(.body(.byteBuffer(buffer)))
        case .flushResponse:
            flush()
        case .writeResponseEnd(let close):
            writeEnd(close: close)
        case .acquireConnection(let upstream):
            wantsConnection = true
            triedTargets = []
            acquire(upstream)
        case .writeUpstream(let part):
            connection?.write(part, flush: false)
        case .flushUpstream:
            connection?.channel.flush()
        case .closeUpstream:
            connection?.close()
        case .releaseConnection(let reusable):
            release(reusable: reusable)
        case .resumeUpstreamReading:
            connection?.handler.resumeReading()
        case .read:
            context?.read()
        case .armClock(let kind, let deadline):
            timer(kind).arm(at: deadline)
        case .disarmClock(let kind):
            existingTimer(kind)?.disarm()
        case .report(let record):
            loop.observer.requestFinished(record)
        case .close:
            context?.close(promise: nil)
        }
    }

    private func timer(_ kind: Machine.Clock) -> DeadlineTimer {
        if let timer = existingTimer(kind) { return timer }
        let timer = clock(kind)
        switch kind {
        case .body: bodyClock = timer
        case .response: responseClock = timer
        case .send: sendClock = timer
        }
        return timer
    }

    private func existingTimer(_ kind: Machine.Clock) -> DeadlineTimer? {
        switch kind {
        case .body: return bodyClock
        case .response: return responseClock
        case .send: return sendClock
        }
    }

    /// Runs admission; a token naming a key the provider may just have published waits for one re-fetch,
    /// then is admitted again (the machine holds reads and parts meanwhile).
    private func admit(_ head: HTTPRequestHead, requestID: RequestID, mayRefetchKeys: Bool) {
        let snapshot = loop.snapshot
        let stages = RequestAdmission(snapshot: snapshot, authenticator: loop.authenticator)
        let admission = decision.map {
            DecisionAdmission(admission: stages, settings: $0).admit(
                head, client: client, requestID: requestID, now: loop.now(), eventLoop: loop.eventLoop,
                mayRefetchKeys: mayRefetchKeys)
        } ?? stages.admit(
            head, client: client, requestID: requestID, now: loop.now(), eventLoop: loop.eventLoop,
            mayRefetchKeys: mayRefetchKeys)
        var responseTimeout: TimeAmount?
        switch admission {
        case .retryAfter(let refetch):
            let serial = machine.serial
            refetch.assumeIsolated().whenComplete { [weak self] _ in
                guard let self else { return }
                self.handle { $0.keysArrived(serial: serial, now: self.now) }
            }
        case .forward(let request):
            responseTimeout = snapshot.configuration.upstreams[request.upstream].map { TimeAmount($0.responseTimeout) }
            if let check = request.rateLimit {
                return count(check, requestID: requestID, responseTimeout: responseTimeout) { [unowned self] answer in
                    self.counted(request, check, answer)
                }
            }
        case .allowIfCounted(let allow, let outcome, let check):
            return count(check, requestID: requestID, responseTimeout: nil) { [unowned self] answer in
                self.decided(allow, outcome, check, answer)
            }
        case .answer, .awaitingCount:
            break
        }
        handle { $0.admitted(admission, requestID: requestID, responseTimeout: responseTimeout, now: now) }
    }

    /// An allowed request of a rate-limited route, proxied or decided: counted at once (local buckets, or
    /// Redis known to be away), or the exchange waits (reads held, parts kept) for Redis's reply. `final` makes
    /// the admission of the store's answer.
    private func count(
        _ check: RateLimitCheck, requestID: RequestID, responseTimeout: TimeAmount?,
        final: @escaping (RateLimitAnswer) -> Admission
    ) {
        switch loop.rateLimiter.check(check) {
        case .answered(let answer):
            handle { $0.admitted(final(answer), requestID: requestID, responseTimeout: responseTimeout, now: now) }
        case .pending(let reply):
            handle { $0.admitted(.awaitingCount, requestID: requestID, responseTimeout: responseTimeout, now: now) }
            let serial = machine.serial
            reply.assumeIsolated().whenComplete { [weak self] result in
                guard let self else { return }
                let admission = final((try? result.get()) ?? .unavailable(reason: "error"))
                self.handle { $0.counted(admission, serial: serial, responseTimeout: responseTimeout, now: self.now) }
            }
        }
    }

    /// A proxied request once its store answered: forwarded, or answered by the gateway; counted in the metrics.
    private func counted(_ request: UpstreamRequest, _ check: RateLimitCheck, _ answer: RateLimitAnswer) -> Admission {
        let failureMode = loop.snapshot.configuration.rateLimits.failureMode
        let (admission, result) = RequestAdmission.counted(request, answer, failureMode: failureMode)
        loop.rateLimiter.record(result, answer: answer, route: request.outcome.route, check: check)
        return admission
    }

    /// A decision once its store answered: the allow answer with the fields, or a denial; counted in the metrics.
    private func decided(
        _ allow: GatewayResponse, _ outcome: RequestOutcome, _ check: RateLimitCheck, _ answer: RateLimitAnswer
    ) -> Admission {
        let failureMode = loop.snapshot.configuration.rateLimits.failureMode
        let counted = DecisionAdmission.counted(allow, outcome, check, answer: answer, failureMode: failureMode)
        loop.rateLimiter.record(counted.result, answer: answer, route: outcome.route, check: check)
        return .answer(counted.response, counted.outcome)
    }

    private func writeEnd(close: Bool) {
        headTimer?.responseFinished()
        guard let context else { return }
        guard close else {
            write(.end(nil))
            return flush()
        }
        let closing = context.channel
        let written = context.eventLoop.makePromise(of: Void.self)
        write(.end(nil), promise: written)
        flush()
        written.futureResult.assumeIsolated().whenComplete { _ in
            closing.close(promise: nil)
        }
    }

    /// A response part to the client: to the HTTP/1.1 or HTTP/2 stream handler directly, else down the pipeline.
    /// Nothing once the handler left its pipeline.
    private func write(_ part: HTTPServerResponsePart, promise: EventLoopPromise<Void>? = nil) {
        guard let context else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        if let writer {
            writer.writeResponsePart(part, promise: promise)
        } else {
            context.write(wrapOutboundOut(part), promise: promise)
        }
    }

    private func flush() {
        guard let context else { return }
        if let writer {
            writer.flushResponse()
        } else {
            context.flush()
        }
    }

    // MARK: The pool

    /// Asks the pool for a connection to the next target not tried yet. The pool keeps the ticket until it
    /// answers; ``release(reusable:)`` withdraws it on every way the exchange ends. Should an answer still
    /// find the request gone, the connection goes straight back: the pool is captured strongly, the handler
    /// may be gone by then. The answer may come before `connection(...)` returns (an idle connection; a
    /// connect that fails at once, whose retry then holds a ticket of its own): the ticket is kept only while
    /// it is unanswered.
    private func acquire(_ name: String) {
        guard let upstream = loop.snapshot.configuration.upstreams[name] else {
            poolFailed(.unavailable)
            return
        }
        guard let target = loop.pool.pickTarget(name, upstream, excluding: triedTargets) else {
            poolFailed(triedTargets.isEmpty ? .unavailable : .connectFailed)
            return
        }
        triedTargets.append(target)
        let serial = machine.serial
        var answered = false
        let ticket = loop.pool.connection(to: target, of: name, upstream, for: client.poolKey) {
            [weak self, pool = loop.pool] result in
            answered = true
            guard let self, self.wantsConnection, self.machine.serial == serial else {
                if case .success(let connection) = result { pool.release(connection, reusable: true) }
                return
            }
            self.ticket = nil
            switch result {
            case .success(let connection):
                self.connection = connection
                connection.handler.exchange = self
                self.handle {
                    $0.connected(target: connection.targetText, writable: connection.channel.isWritable, now: self.now)
                }
            case .failure(.connectFailed):
                self.acquire(name)
            case .failure(let failure):
                self.poolFailed(failure)
            }
        }
        if !answered { self.ticket = ticket }
    }

    private func poolFailed(_ failure: UpstreamFailure) {
        handle { $0.upstreamFailed(failure, target: triedTargets.last?.description, now: now) }
    }

    /// Ends the request's claim on the pool: a ticket is withdrawn, a held connection goes back (reused only
    /// when `reusable`).
    private func release(reusable: Bool) {
        wantsConnection = false
        if let ticket {
            self.ticket = nil
            loop.pool.cancel(ticket)
        }
        if let connection {
            self.connection = nil
            loop.pool.release(connection, reusable: reusable)
        }
    }
}

@available(*, unavailable)
extension GatewayRequestHandler: Sendable {}
