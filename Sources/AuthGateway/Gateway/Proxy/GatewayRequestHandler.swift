import NIOCore
import NIOHTTP1
import GatewayConfig
import GatewayAdmission
import GatewayObservability

/// Serves requests of one HTTP/1.1 connection (behind NIO's pipelining handler, one at a time) or one
/// HTTP/2 stream: admission, then either the gateway's own answer or a proxied exchange.
///
/// Thin by design: decisions come from ``RequestAdmission``; this type moves bytes, applies
/// backpressure both ways and maps upstream failures to answers. Confined to its event loop.
final class GatewayRequestHandler: ChannelDuplexHandler, UpstreamExchange {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        case idle
        /// Answered by the gateway; the rest of the request body is dropped.
        case discarding
        /// Waiting for the issuer's keys to be re-fetched before admitting the request again; request
        /// parts that arrive meanwhile wait in ``paused``.
        case awaitingKeys(ProxyExchange)
        case proxying(ProxyExchange)
        case closed
    }

    private let loop: LoopContext
    private let client: ClientConnection
    /// HTTP/1.1 only: the slow-head clock (HTTP/2 streams arrive with complete HEADERS).
    private let headTimer: RequestHeadTimer?
    private var state = State.idle
    private var context: ChannelHandlerContext?
    private var heldRead = false
    /// Request parts that wait: for the issuer's keys, or (a next pipelined request) for the client to read
    /// the answers it already has. Replayed in order by ``replayPaused()``.
    private var paused = CircularBuffer<HTTPServerRequestPart>()
    /// Body bytes among ``paused``.
    private var pausedBytes = 0
    /// Close once the current response is written (framing doubt, `Connection: close`, unread body).
    private var closeAfterResponse = false
    /// The client's pause between two reads of a request body.
    private lazy var bodyClock = DeadlineTimer(eventLoop: loop.eventLoop) { [weak self] in self?.bodyTimedOut() }
    /// From the request's last byte to the upstream's response head.
    private lazy var responseClock = DeadlineTimer(eventLoop: loop.eventLoop) { [weak self] in self?.responseTimedOut() }
    /// While a proxied response waits on a client that takes no more bytes (`send_timeout`).
    private lazy var sendClock = DeadlineTimer(eventLoop: loop.eventLoop) { [weak self] in self?.sendTimedOut() }

    init(loop: LoopContext, client: ClientConnection, headTimer: RequestHeadTimer? = nil) {
        self.loop = loop
        self.client = client
        self.headTimer = headTimer
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    // MARK: Client → gateway

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if !paused.isEmpty || mustPause(before: part) {
            if case .body(let buffer) = part { pausedBytes += buffer.readableBytes }
            paused.append(part)
            return
        }
        receive(part)
    }

    /// A part waits while admission waits for keys, and a new request waits while the client does not read
    /// the answers it already has (a pipelining client that never reads must not make the gateway forward
    /// and buffer everything it sent).
    private func mustPause(before part: HTTPServerRequestPart) -> Bool {
        if case .awaitingKeys = state { return true }
        if case .head = part, let context, !context.channel.isWritable { return true }
        return false
    }

    /// Delivers waiting parts until one must wait again; then reads resume if nothing waits.
    private func replayPaused() {
        while let part = paused.first, !mustPause(before: part) {
            paused.removeFirst()
            if case .body(let buffer) = part { pausedBytes -= buffer.readableBytes }
            receive(part)
        }
        if paused.isEmpty { retryHeldRead() }
    }

    /// A read that ``read(context:)`` held back goes through its gate again, which holds it anew if it must
    /// (never around it: a read let through here would bypass the backpressure on the upstream side).
    private func retryHeldRead() {
        guard heldRead, let context else { return }
        heldRead = false
        read(context: context)
    }

    private func receive(_ part: HTTPServerRequestPart) {
        switch part {
        case .head(let head): receiveHead(head)
        case .body(let buffer): receiveBody(buffer)
        case .end: receiveEnd()
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if case .proxying(let exchange) = state, exchange.headSent {
            exchange.connection?.channel.flush()
        }
        context.fireChannelReadComplete()
    }

    private func receiveHead(_ head: HTTPRequestHead) {
        guard case .idle = state else { return }
        headTimer?.headReceived()
        // An HTTP/1.1 `Upgrade` is never honoured (the header is stripped), but NIO's decoder stops parsing
        // after an upgrade request and drops what follows: close after the answer rather than leave the client
        // a connection that silently ignores its next request.
        //
        // Keep-alive is an HTTP/1 notion: NIO reports every HTTP/2 head (version 2.0) as not keep-alive, and
        // closing the stream after an early answer (a denied upload) resets it while the client is still
        // sending, and NIO turns the client's trailers on a reset stream into a connection error for every
        // stream of the connection. An HTTP/2 stream ends when both sides have ended it.
        closeAfterResponse = (!client.isHTTP2 && !head.isKeepAlive)
            || (!client.isHTTP2 && head.headers.contains(name: "upgrade"))
        let exchange = ProxyExchange(clientHead: head, requestID: loop.nextRequestID(), startedAt: loop.now())
        admit(exchange, mayRefetchKeys: true)
    }

    /// Runs admission; a token naming a key the provider may just have published waits (with reads held)
    /// for one re-fetch, then is admitted again without another.
    private func admit(_ exchange: ProxyExchange, mayRefetchKeys: Bool) {
        let head = exchange.clientHead
        let admission = RequestAdmission(snapshot: loop.snapshot, authenticator: loop.authenticator)
        let result = admission.admit(
            head, client: client, requestID: exchange.requestID, now: loop.now(), eventLoop: loop.eventLoop,
            mayRefetchKeys: mayRefetchKeys)
        switch result {
        case .retryAfter(let refetch):
            state = .awaitingKeys(exchange)
            refetch.assumeIsolated().whenComplete { [weak self] _ in
                guard let self, case .awaitingKeys(let waiting) = self.state, waiting === exchange else { return }
                self.state = .idle
                self.admit(exchange, mayRefetchKeys: false)
                self.replayPaused()
            }
        case .answer(let response, let outcome):
            exchange.outcome = outcome
            // A request body that would follow is not read: close after answering rather than drain it.
            let bodyFollows = head.headers.contains(name: "content-length") || head.headers.contains(name: "transfer-encoding")
            closeAfterResponse = closeAfterResponse || response.close || (bodyFollows && !client.isHTTP2)
            state = .discarding
            // HTTP/2: the stream stays open until the client ends its side; it gets `body_read_timeout`, in
            // total, to do so (see ``bodyTimedOut()``).
            if client.isHTTP2 { armBodyTimer(exchange) }
            answer(response, exchange: exchange)
        case .forward(let request):
            exchange.request = request
            exchange.outcome = request.outcome
            state = .proxying(exchange)
            exchange.bodyStarted = loop.eventLoop.now
            if request.framing != .none { armBodyTimer(exchange) }
            if head.headers["expect"].contains(where: { $0.lowercased() == "100-continue" }) {
                context?.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))), promise: nil)
            }
            // A body is read into memory (up to `body_buffer_bytes`) before an upstream connection is taken:
            // a client that sends slowly, or opens a stream and sends nothing, holds no upstream connection.
            exchange.buffering = request.framing != .none && loop.snapshot.configuration.limits.bodyBufferBytes > 0
            if !exchange.buffering { acquireConnection(for: exchange) }
        }
    }

    private func receiveBody(_ buffer: ByteBuffer) {
        guard case .proxying(let exchange) = state, !exchange.finished else { return }
        exchange.bytesIn += buffer.readableBytes
        exchange.lastBodyAt = loop.eventLoop.now
        armBodyTimer(exchange)
        if exchange.bytesIn > loop.snapshot.configuration.limits.maxBodyBytes {
            abort(exchange, answer: GatewayResponse(status: .payloadTooLarge, code: .bodyTooLarge, close: true))
            return
        }
        if exchange.headSent {
            forwardBody(buffer, of: exchange)
            return
        }
        exchange.pending.append(.body(.byteBuffer(buffer)))
        if exchange.buffering, exchange.bytesIn >= loop.snapshot.configuration.limits.bodyBufferBytes {
            // A large body: stream the rest once this much has arrived.
            exchange.buffering = false
            acquireConnection(for: exchange)
        } else {
            sendHeadIfReady(exchange)
        }
    }

    private func receiveEnd() {
        switch state {
        case .discarding:
            bodyClock.disarm()
            state = .idle
        case .proxying(let exchange):
            exchange.requestEnded = true
            bodyClock.disarm()
            // A response that ended first closed the connection (see ``writeEnd(completing:)``).
            guard !exchange.finished else { return }
            if exchange.headSent {
                if let held = exchange.heldBack {
                    exchange.heldBack = nil
                    exchange.connection?.write(.body(.byteBuffer(held)), flush: false)
                }
                exchange.connection?.write(.end(nil), flush: true)
                startResponseTimer(exchange)
            } else {
                exchange.pending.append(.end(nil))
                if exchange.buffering {
                    exchange.buffering = false
                    acquireConnection(for: exchange)
                } else {
                    sendHeadIfReady(exchange)
                }
            }
        case .idle, .closed, .awaitingKeys:
            break
        }
    }

    // MARK: Upstream

    private func acquireConnection(for exchange: ProxyExchange) {
        guard let request = exchange.request, let upstream = loop.snapshot.configuration.upstreams[request.upstream] else {
            fail(exchange, .unavailable)
            return
        }
        guard let target = loop.pool.pickTarget(request.upstream, upstream, excluding: exchange.triedTargets) else {
            fail(exchange, exchange.triedTargets.isEmpty ? .unavailable : .connectFailed)
            return
        }
        exchange.triedTargets.append(target)
        // The pool keeps a request's ticket until it answers; every way the exchange ends withdraws it
        // (``releaseConnection(_:reusable:)``). Should an answer still find the exchange gone, the
        // connection goes straight back: the pool is captured strongly, the handler may be gone by then.
        // The answer may come before `connection(...)` returns (an idle connection; a connect that fails at
        // once, whose retry then holds a ticket of its own): the ticket is kept only while it is unanswered.
        var answered = false
        let ticket = loop.pool.connection(to: target, of: request.upstream, upstream, for: client.poolKey) {
            [weak self, pool = loop.pool] result in
            answered = true
            exchange.ticket = nil
            guard let self, case .proxying(let current) = self.state, current === exchange, !exchange.finished else {
                if case .success(let connection) = result { pool.release(connection, reusable: true) }
                return
            }
            switch result {
            case .success(let connection):
                exchange.connection = connection
                connection.handler.exchange = self
                self.sendHeadIfReady(exchange)
            case .failure(.connectFailed):
                self.acquireConnection(for: exchange)
            case .failure(let failure):
                self.fail(exchange, failure)
            }
        }
        if !answered { exchange.ticket = ticket }
    }

    /// Sends the head once connected and once the body framing is known: an HTTP/2 request without
    /// `content-length` has a body only if DATA follows the HEADERS.
    private func sendHeadIfReady(_ exchange: ProxyExchange) {
        guard !exchange.headSent, let connection = exchange.connection, var head = exchange.request?.head else { return }
        if client.isHTTP2, exchange.request?.framing == .streamed {
            guard let first = exchange.pending.first else {
                // The framing waits for the first part: read it (see ``read(context:)``).
                retryHeldRead()
                return
            }
            if case .end = first { head.headers.remove(name: "transfer-encoding") }
        }
        exchange.headSent = true
        exchange.upstreamSentAt = loop.now()
        connection.write(.head(head), flush: false)
        var parts = exchange.pending[...]
        exchange.pending.removeAll()
        // A length-framed body keeps its last part back until the request's end (see ``forwardBody(_:of:)``).
        if exchange.holdsBackLastPart, case .body(.byteBuffer(let last))? = parts.last {
            exchange.heldBack = last
            parts = parts.dropLast()
        }
        for part in parts {
            connection.write(part, flush: false)
        }
        connection.channel.flush()
        if exchange.requestEnded { startResponseTimer(exchange) }
        retryHeldRead()
    }

    /// Writes a body part upstream. A body framed by `Content-Length` keeps its latest part back until the
    /// next one or the request's end: should the request be refused after its body (an HTTP/2 stream with
    /// more DATA than it declared, or a malformed trailer section), the upstream has never seen all of the
    /// declared bytes, so it cannot take the request for a complete one. (A chunked body's last chunk is only
    /// written at the end anyway.)
    private func forwardBody(_ buffer: ByteBuffer, of exchange: ProxyExchange) {
        guard exchange.holdsBackLastPart else {
            exchange.connection?.write(.body(.byteBuffer(buffer)), flush: false)
            return
        }
        if let held = exchange.heldBack { exchange.connection?.write(.body(.byteBuffer(held)), flush: false) }
        exchange.heldBack = buffer
    }

    /// A client that stops sending its body for `body_read_timeout`, or whose body averages less than
    /// `min_body_rate` after its first `body_read_timeout`, loses the request (408) or, once the response
    /// started, the connection. One deadline serves both: the earlier of the pause limit and the time by
    /// which the bytes so far would fall below the rate; every part moves it later.
    ///
    /// Time in which the gateway itself did not read because the upstream did not take the body (or was
    /// not connected yet) is not the client's: it is credited to the rate, and while it lasts the clock
    /// times the upstream instead, which gets `body_read_timeout` to take bytes again (else 504).
    private func armBodyTimer(_ exchange: ProxyExchange) {
        let limits = loop.snapshot.configuration.limits
        let pause = TimeAmount(limits.bodyReadTimeout)
        if let since = exchange.upstreamHeldSince {
            bodyClock.arm(at: since + pause)
            return
        }
        var deadline = loop.eventLoop.now + pause
        if limits.minBodyRate > 0, let started = exchange.bodyStarted {
            let earned = TimeAmount.nanoseconds(Int64(Double(exchange.bytesIn) / Double(limits.minBodyRate) * 1e9))
            deadline = min(deadline, started + pause + earned + exchange.upstreamHeldFor)
        }
        bodyClock.arm(at: deadline)
    }

    /// Reads stop because the upstream does not take the body: the body clock times the upstream.
    private func upstreamHoldsBody(_ exchange: ProxyExchange) {
        guard exchange.upstreamHeldSince == nil, !exchange.requestEnded, !exchange.finished else { return }
        exchange.upstreamHeldSince = loop.eventLoop.now
        armBodyTimer(exchange)
    }

    /// Reads resume: the time the upstream held them is credited, and the clock times the client again.
    private func upstreamTakesBody(_ exchange: ProxyExchange) {
        guard let since = exchange.upstreamHeldSince else { return }
        exchange.upstreamHeldFor = exchange.upstreamHeldFor + (loop.eventLoop.now - since)
        exchange.upstreamHeldSince = nil
        if !exchange.requestEnded, !exchange.finished { armBodyTimer(exchange) }
    }

    private func bodyTimedOut() {
        if case .discarding = state, client.isHTTP2 {
            // An answered HTTP/2 request whose client never ended its stream: reset the stream.
            state = .closed
            context?.close(promise: nil)
            return
        }
        guard case .proxying(let exchange) = state, !exchange.requestEnded, !exchange.finished else { return }
        if exchange.upstreamHeldSince != nil {
            // The upstream took none of the body for `body_read_timeout`: its fault, not the client's.
            fail(exchange, .timeout)
            return
        }
        let pause = TimeAmount(loop.snapshot.configuration.limits.bodyReadTimeout)
        let paused = loop.eventLoop.now - (exchange.lastBodyAt ?? exchange.bodyStarted ?? loop.eventLoop.now) >= pause
        abort(exchange, answer: GatewayResponse(status: .requestTimeout, code: paused ? .bodyTimeout : .bodyTooSlow, close: true))
    }

    /// The client took no response bytes for `send_timeout`: the exchange is cut and its upstream
    /// connection, held back by the client, is closed.
    private func sendTimedOut() {
        guard case .proxying(let exchange) = state, exchange.responseStarted, !exchange.finished,
            let context, !context.channel.isWritable
        else { return }
        abort(exchange, answer: GatewayResponse(status: .requestTimeout, code: .sendTimeout, close: true))
    }

    /// Runs the send clock while a proxied response waits on the client.
    private func watchClientWritability() {
        guard case .proxying(let exchange) = state, exchange.responseStarted, !exchange.finished, let context else {
            sendClock.disarm()
            return
        }
        if context.channel.isWritable {
            sendClock.disarm()
        } else if !sendClock.isArmed {
            sendClock.arm(in: TimeAmount(loop.snapshot.configuration.limits.sendTimeout))
        }
    }

    private func startResponseTimer(_ exchange: ProxyExchange) {
        guard !responseClock.isArmed, !exchange.responseStarted,
            let name = exchange.request?.upstream, let upstream = loop.snapshot.configuration.upstreams[name]
        else { return }
        responseClock.arm(in: TimeAmount(upstream.responseTimeout))
    }

    private func responseTimedOut() {
        guard case .proxying(let exchange) = state, !exchange.responseStarted, !exchange.finished else { return }
        exchange.connection?.close()
        upstreamFailed(.timeout)
    }

    func upstreamResponseHead(_ head: HTTPResponseHead) {
        guard case .proxying(let exchange) = state else { return }
        responseClock.disarm()
        exchange.responseStarted = true
        exchange.status = Int(head.status.code)
        exchange.upstreamKeepAlive = head.isKeepAlive
        let version = exchange.clientHead.version
        var response = HTTPResponseHead(version: version, status: head.status, headers: ResponseHeaderFilter.clientHeaders(from: head.headers))
        if closeAfterResponse && version.major < 2 { response.headers.replaceOrAdd(name: "connection", value: "close") }
        context?.write(wrapOutboundOut(.head(response)), promise: nil)
        watchClientWritability()
    }

    func upstreamResponseBody(_ buffer: ByteBuffer) {
        guard case .proxying(let exchange) = state else { return }
        exchange.bytesOut += buffer.readableBytes
        context?.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        watchClientWritability()
    }

    func upstreamResponseEnd(_ trailers: HTTPHeaders?) {
        guard case .proxying(let exchange) = state else { return }
        exchange.upstreamEndedAt = loop.now()
        exchange.finished = true
        releaseConnection(exchange, reusable: exchange.requestEnded && exchange.upstreamKeepAlive)
        if !exchange.requestEnded { closeAfterResponse = true }
        writeEnd(completing: exchange)
    }

    func upstreamFailed(_ failure: UpstreamFailure) {
        guard case .proxying(let exchange) = state, !exchange.finished else { return }
        fail(exchange, failure)
    }

    func upstreamWritabilityChanged(_ isWritable: Bool) {
        if isWritable { retryHeldRead() }
    }

    var clientIsWritable: Bool {
        context?.channel.isWritable ?? false
    }

    /// The exchange cannot complete: answer if nothing was sent yet, otherwise cut the connection.
    private func fail(_ exchange: ProxyExchange, _ failure: UpstreamFailure) {
        responseClock.disarm()
        bodyClock.disarm()
        exchange.failure = failure
        releaseConnection(exchange, reusable: false)
        exchange.finished = true
        if exchange.responseStarted {
            cut(exchange)
            return
        }
        if !exchange.requestEnded { closeAfterResponse = true }
        answer(GatewayResponse.upstream(failure), exchange: exchange)
    }

    private func abort(_ exchange: ProxyExchange, answer response: GatewayResponse) {
        responseClock.disarm()
        bodyClock.disarm()
        sendClock.disarm()
        releaseConnection(exchange, reusable: false)
        exchange.finished = true
        closeAfterResponse = true
        exchange.outcome.reason = .gateway(response.code)
        if exchange.responseStarted {
            cut(exchange)
        } else {
            exchange.outcome.verdict = .reject
            answer(response, exchange: exchange)
        }
    }

    /// A response already under way cannot become an error answer: the connection (or stream) is closed
    /// so the client sees it incomplete rather than mistaking it for whole.
    private func cut(_ exchange: ProxyExchange) {
        closeAfterResponse = true
        state = .closed
        report(exchange)
        context?.close(promise: nil)
    }

    /// Ends the exchange's claim on the pool: a request still waiting for a connection withdraws, a held
    /// connection goes back (reused only when `reusable`).
    private func releaseConnection(_ exchange: ProxyExchange, reusable: Bool) {
        if let ticket = exchange.ticket {
            exchange.ticket = nil
            loop.pool.cancel(ticket)
        }
        guard let connection = exchange.connection else { return }
        exchange.upstreamTarget = connection.targetText
        exchange.connection = nil
        loop.pool.release(connection, reusable: reusable)
    }

    // MARK: Answers and completion

    private func answer(_ response: GatewayResponse, exchange: ProxyExchange) {
        closeAfterResponse = closeAfterResponse || response.close
        let rendered = GatewayResponse(
            status: response.status, code: response.code, challenge: response.challenge, close: closeAfterResponse,
            allow: response.allow)
        let (head, body) = rendered.render(requestID: exchange.requestID.text, version: exchange.clientHead.version)
        exchange.status = Int(response.status.code)
        exchange.bytesOut = body.readableBytes
        context?.write(wrapOutboundOut(.head(head)), promise: nil)
        context?.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        writeEnd(completing: exchange)
    }

    /// Reports `exchange`, settles the next state, then writes the response end and closes when the
    /// connection cannot be reused. The state must be final before the write: ending a response makes
    /// NIO's pipelining handler hand over the next buffered request at once, synchronously.
    private func writeEnd(completing exchange: ProxyExchange) {
        report(exchange)
        if exchange.request != nil {
            bodyClock.disarm()
            responseClock.disarm()
            sendClock.disarm()
        }
        guard let context else { return }
        headTimer?.responseFinished()
        if closeAfterResponse {
            state = .closed
            let closing = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
                closing.close(promise: nil)
            }
            return
        }
        // An answered request stays `.discarding` until its end arrives; a proxied one whose request
        // ended is done.
        if case .proxying(let current) = state, current === exchange, exchange.requestEnded {
            state = .idle
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    private func report(_ exchange: ProxyExchange) {
        guard !exchange.reported else { return }
        exchange.reported = true
        let head = exchange.clientHead
        let outcome = exchange.outcome
        let now = loop.now()
        loop.observer.requestFinished(RequestRecord(
            requestID: exchange.requestID.text, clientAddress: client.address, method: head.method.rawValue,
            path: outcome.path ?? "-", route: outcome.route, verdict: exchange.failure == nil ? outcome.verdict : .error,
            reason: exchange.failure.map { .upstream($0) } ?? outcome.reason, subject: outcome.subject,
            issuer: outcome.issuer, status: exchange.status, upstream: exchange.request?.upstream,
            upstreamTarget: exchange.upstreamTarget ?? exchange.triedTargets.last?.description, startedAt: exchange.startedAt,
            duration: now - exchange.startedAt,
            upstreamDuration: exchange.upstreamSentAt.map { (exchange.upstreamEndedAt ?? now) - $0 },
            bytesIn: exchange.bytesIn, bytesOut: exchange.bytesOut,
            protocolName: client.isHTTP2 ? "HTTP/2" : "HTTP/\(head.version.major).\(head.version.minor)",
            host: outcome.host, userAgent: head.headers.first(name: "user-agent")
        ))
    }

    // MARK: Backpressure and connection events

    func read(context: ChannelHandlerContext) {
        if case .awaitingKeys = state {
            // A request waiting for keys keeps being read, up to `body_buffer_bytes` of body, so that a
            // client that leaves meanwhile is noticed (and its request never admitted).
            if pausedBytes < loop.snapshot.configuration.limits.bodyBufferBytes, context.channel.isWritable {
                context.read()
            } else {
                heldRead = true
            }
            return
        }
        // Nothing more is read while parts wait, or while the client does not take its answers.
        if !paused.isEmpty || !context.channel.isWritable {
            heldRead = true
            return
        }
        if case .proxying(let exchange) = state, !exchange.finished {
            if exchange.buffering || awaitsFirstPart(exchange) {
                context.read()
                return
            }
            guard let connection = exchange.connection, exchange.headSent, connection.channel.isWritable else {
                heldRead = true
                upstreamHoldsBody(exchange)
                return
            }
            upstreamTakesBody(exchange)
        }
        context.read()
    }

    /// An HTTP/2 request without `content-length` is connected upstream but its head waits to learn
    /// whether a body follows (DATA or the stream's end): that one part must be read, or neither side moves.
    private func awaitsFirstPart(_ exchange: ProxyExchange) -> Bool {
        client.isHTTP2 && exchange.request?.framing == .streamed && exchange.connection != nil && !exchange.headSent
            && exchange.pending.isEmpty
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, case .proxying(let exchange) = state {
            exchange.connection?.handler.resumeReading()
        }
        watchClientWritability()
        if context.channel.isWritable { replayPaused() }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        responseClock.cancel()
        bodyClock.cancel()
        sendClock.cancel()
        paused.removeAll()
        pausedBytes = 0
        if case .proxying(let exchange) = state {
            releaseConnection(exchange, reusable: false)
            exchange.finished = true
            if exchange.status == 0 { exchange.status = 499 }
            report(exchange)
        }
        state = .closed
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        guard let parserError = error as? HTTPParserError else {
            context.close(promise: nil)
            return
        }
        switch state {
        case .idle, .discarding:
            let response = ProtocolErrorResponse.response(for: parserError)
            let exchange = ProxyExchange(
                clientHead: HTTPRequestHead(version: .http1_1, method: .GET, uri: "-"), requestID: loop.nextRequestID(),
                startedAt: loop.now())
            exchange.outcome = RequestOutcome(verdict: .reject, reason: .gateway(response.code))
            closeAfterResponse = true
            state = .discarding
            answer(response, exchange: exchange)
        case .proxying(let exchange) where !exchange.finished:
            // The body's framing broke after the head was admitted (a bad chunk): the upstream connection,
            // which may have seen part of the request, is closed, and the client gets the 400 if no response
            // has started (else the connection is cut).
            abort(exchange, answer: ProtocolErrorResponse.response(for: parserError))
        case .proxying, .closed, .awaitingKeys:
            context.close(promise: nil)
        }
    }
}

@available(*, unavailable)
extension GatewayRequestHandler: Sendable {}

/// The state of one proxied request.
final class ProxyExchange {
    let clientHead: HTTPRequestHead
    let requestID: RequestID
    let startedAt: Double
    var request: UpstreamRequest?
    var outcome = RequestOutcome(verdict: .allow)
    /// When the request head went upstream and when the upstream's answer ended (the access log's upstream time).
    var upstreamSentAt: Double?
    var upstreamEndedAt: Double?
    var connection: UpstreamConnection?
    /// The pool's ticket while the exchange waits for a connection.
    var ticket: UpstreamPool.Ticket?
    var triedTargets: [GatewayConfiguration.Target] = []
    /// Request parts received before the head could be sent.
    var pending: [HTTPClientRequestPart] = []
    /// The body is being read into memory before an upstream connection is taken.
    var buffering = false
    /// The latest body part of a length-framed body, written with the next part or the end.
    var heldBack: ByteBuffer?
    /// Whether the body is framed by `Content-Length` (its last part is held back until the end).
    var holdsBackLastPart: Bool {
        if case .contentLength? = request?.framing { return true }
        return false
    }
    /// When the request was admitted (the body's clock starts here) and its last body part arrived.
    var bodyStarted: NIODeadline?
    /// Since when reads wait for the upstream to take the body (see ``GatewayRequestHandler/armBodyTimer(_:)``).
    var upstreamHeldSince: NIODeadline?
    /// How long reads waited for the upstream so far; not counted against the client's body rate.
    var upstreamHeldFor = TimeAmount.zero
    var lastBodyAt: NIODeadline?
    var headSent = false
    var requestEnded = false
    var responseStarted = false
    var upstreamKeepAlive = true
    /// The response is complete or abandoned.
    var finished = false
    var reported = false
    var failure: UpstreamFailure?
    var status = 0
    var bytesIn = 0
    var bytesOut = 0
    var upstreamTarget: String?

    init(clientHead: HTTPRequestHead, requestID: RequestID, startedAt: Double) {
        self.clientHead = clientHead
        self.requestID = requestID
        self.startedAt = startedAt
    }
}

@available(*, unavailable)
extension ProxyExchange: Sendable {}
