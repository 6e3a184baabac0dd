import NIOCore
import NIOHTTP1
import GatewayAdmission
import GatewayConfig
import GatewayObservability

/// The life of the requests on one client connection (HTTP/1.1, one request at a time behind NIO's
/// pipelining handler) or one HTTP/2 stream, as a pure state machine: events in (request parts, the
/// admission's verdict, the upstream's answer, writability, timers, the client leaving), actions out (write
/// or forward a part, admit, acquire or release the upstream connection, hold or resume reads, arm or
/// disarm a clock, report, close). No I/O and no clock of its own: ``GatewayRequestHandler`` performs the
/// actions and brings the time with each event.
///
/// An event appends its actions, in order, to the machine's outbox, which the handler drains with
/// ``nextAction()``: one buffer for the connection's life instead of an array per event (the hot path's
/// cost). An action the handler performs may cause another event (a written end makes the next pipelined
/// request arrive at once); its actions queue behind the ones already decided.
///
/// The promises the tests check after every step of random event sequences (`ExchangeStateMachineTests`):
/// an upstream connection asked for is given back exactly once; nothing reaches the client after a
/// response's end or after close; every request that began is reported exactly once; no read is let
/// through while the upstream does not take the body.
struct ExchangeStateMachine {
    enum Phase: Equatable {
        case idle
        /// The head is being admitted (``Action/admit(_:requestID:mayRefetchKeys:)``).
        case admitting
        /// Answered by the gateway; the rest of the request body is dropped.
        case discarding
        /// Waiting for the issuer's keys to be re-fetched before admitting the request again, or for the
        /// rate-limit store to count it; request parts that arrive meanwhile wait.
        case waiting
        case proxying
        case closed
    }

    enum Clock: Hashable, CaseIterable {
        /// The client's body: a pause limit and a minimum rate (`body_read_timeout`, `min_body_rate`).
        case body
        /// From the request's end to the upstream's response head.
        case response
        /// While a proxied response waits on a client that takes no more bytes.
        case send
    }

    enum Action {
        /// Run admission for `head`; answer with ``admitted(_:requestID:now:)``.
        case admit(HTTPRequestHead, requestID: RequestID?, mayRefetchKeys: Bool)
        /// A complete head arrived (the slow-head clock stops).
        case headReceived
        /// `100 Continue` to the client.
        case writeContinue(HTTPVersion)
        case writeResponseHead(HTTPResponseHead)
        case writeResponseBody(ByteBuffer)
        /// Send what was written to the client (the upstream's read ended; the end flushes by itself).
        case flushResponse
        /// The response's end; `close` closes the connection once it is written.
        case writeResponseEnd(close: Bool)
        /// Ask the pool for a connection to the request's upstream; answer with ``connected(target:writable:now:)``
        /// or ``upstreamFailed(_:target:now:)``.
        case acquireConnection(upstream: String)
        case writeUpstream(HTTPClientRequestPart)
        case flushUpstream
        /// Close the upstream connection at once (its answer is late); the release follows.
        case closeUpstream
        /// Withdraw from the pool, or give the connection back (reused only when `reusable`).
        case releaseConnection(reusable: Bool)
        /// The upstream connection may read the response again (the client drained).
        case resumeUpstreamReading
        /// Let one read through to the client channel.
        case read
        case armClock(Clock, NIODeadline)
        case disarmClock(Clock)
        case report(RequestRecord)
        /// Close the client connection (or stream) now.
        case close
    }

    /// The limits an exchange runs under: those in force when its head arrived.
    struct Limits {
        var maxBodyBytes: Int
        var bodyBufferBytes: Int
        var bodyReadTimeout: TimeAmount
        var minBodyRate: Int
        var sendTimeout: TimeAmount

        init(_ limits: GatewayConfiguration.Limits) {
            maxBodyBytes = limits.maxBodyBytes
            bodyBufferBytes = limits.bodyBufferBytes
            bodyReadTimeout = TimeAmount(limits.bodyReadTimeout)
            minBodyRate = limits.minBodyRate
            sendTimeout = TimeAmount(limits.sendTimeout)
        }
    }

    /// What an event needs of the time: the monotonic clock (deadlines) and the wall clock (the record).
    struct Now {
        var deadline: NIODeadline
        var wall: Double
    }

    let client: ClientConnection
    private(set) var phase = Phase.idle
    private(set) var exchange: Exchange?
    /// Numbers the exchanges, so that a late key re-fetch finds out it is for an earlier one.
    private(set) var serial = 0
    /// Parts that wait: for the issuer's keys, or (a next pipelined request) for the client to read the
    /// answers it already has. Both buffers start small: every connection has them, few need more, and those
    /// grow once.
    private var paused = CircularBuffer<HTTPServerRequestPart>(initialCapacity: 2)
    private(set) var pausedBytes = 0
    /// A read asked for and held back by ``readRequested(now:)``.
    private(set) var heldRead = false
    /// Close once the current response is written (framing doubt, `Connection: close`, unread body).
    private var closeAfterResponse = false
    private(set) var clientWritable = true
    private var armed: Set<Clock> = []
    private var limits: Limits
    /// The actions decided and not yet taken by ``nextAction()``.
    private var outbox = CircularBuffer<Action>(initialCapacity: 4)

    init(client: ClientConnection, limits: Limits) {
        self.client = client
        self.limits = limits
    }

    /// The state of one request and its upstream exchange.
    struct Exchange {
        let clientHead: HTTPRequestHead
        var requestID: RequestID?
        var startedAt: Double
        var limits: Limits
        var request: UpstreamRequest?
        var responseTimeout: TimeAmount?
        var outcome = RequestOutcome(verdict: .allow)
        var upstreamSentAt: Double?
        var upstreamEndedAt: Double?
        /// A connection was asked for and not yet given back (a ticket or a held connection).
        var holdsUpstream = false
        var connected = false
        var upstreamWritable = true
        var upstreamTarget: String?
        /// Request parts received before the head could be sent.
        var pending: [HTTPClientRequestPart] = []
        /// The body is being read into memory before an upstream connection is taken.
        var buffering = false
        /// The latest body part of a length-framed body, written with the next part or the end.
        var heldBack: ByteBuffer?
        var bodyStarted: NIODeadline?
        var lastBodyAt: NIODeadline?
        /// Since when reads wait for the upstream to take the body.
        var upstreamHeldSince: NIODeadline?
        /// How long reads waited for the upstream so far; not counted against the client's body rate.
        var upstreamHeldFor = TimeAmount.zero
        var headSent = false
        var requestEnded = false
        var responseStarted = false
        var upstreamKeepAlive = true
        /// Response bytes were written to the client and not flushed yet.
        var responseUnflushed = false
        /// The response is complete or abandoned.
        var finished = false
        var reported = false
        var failure: UpstreamFailure?
        var status = 0
        var bytesIn = 0
        var bytesOut = 0

        init(clientHead: HTTPRequestHead, startedAt: Double, limits: Limits) {
            self.clientHead = clientHead
            self.startedAt = startedAt
            self.limits = limits
        }

        var holdsBackLastPart: Bool {
            if case .contentLength? = request?.framing { return true }
            return false
        }
    }

    // MARK: The outbox

    /// The next action to perform, in the order decided.
    mutating func nextAction() -> Action? {
        outbox.popFirst()
    }

    /// Every action decided since the last call (tests read an event's actions this way).
    mutating func takeActions() -> [Action] {
        defer { outbox.removeAll(keepingCapacity: true) }
        return Array(outbox)
    }

    private mutating func emit(_ action: Action) {
        outbox.append(action)
    }

    // MARK: Client → gateway

    /// A request part from the client. `limits` apply to a request whose head this is.
    mutating func received(_ part: HTTPServerRequestPart, limits: Limits, now: Now) {
        if !paused.isEmpty || mustPause(before: part) {
            if case .body(let buffer) = part { pausedBytes += buffer.readableBytes }
            paused.append(part)
            return
        }
        self.limits = limits
        receive(part, now: now)
    }

    /// A part waits while its head is being admitted or waits for keys (an action may deliver parts before
    /// the admission's own action ran), and a new request waits while the client does not read the answers it
    /// already has (a pipelining client that never reads must not make the gateway forward and buffer
    /// everything it sent).
    private func mustPause(before part: HTTPServerRequestPart) -> Bool {
        if phase == .waiting || phase == .admitting { return true }
        if case .head = part, !clientWritable { return true }
        return false
    }

    private mutating func receive(_ part: HTTPServerRequestPart, now: Now) {
        switch part {
        case .head(let head): receiveHead(head, now: now)
        case .body(let buffer): receiveBody(buffer, now: now)
        case .end: receiveEnd(now: now)
        }
    }

    /// Delivers waiting parts until one must wait again; then reads resume if nothing waits.
    private mutating func replayPaused(now: Now) {
        while let part = paused.first, !mustPause(before: part) {
            paused.removeFirst()
            if case .body(let buffer) = part { pausedBytes -= buffer.readableBytes }
            receive(part, now: now)
        }
        if paused.isEmpty { retryHeldRead(now: now) }
    }

    private mutating func receiveHead(_ head: HTTPRequestHead, now: Now) {
        guard phase == .idle else { return }
        // An HTTP/1.1 `Upgrade` is never honoured (the header is stripped), but NIO's decoder stops parsing
        // after an upgrade request and drops what follows: close after the answer rather than leave the client
        // a connection that silently ignores its next request.
        //
        // Keep-alive is an HTTP/1 notion: NIO reports every HTTP/2 head as not keep-alive, and closing the
        // stream after an early answer (a denied upload) resets it while the client is still sending. An
        // HTTP/2 stream ends when both sides have ended it.
        closeAfterResponse = !client.isHTTP2 && (!head.isKeepAlive || head.headers.contains(name: "upgrade"))
        serial += 1
        exchange = Exchange(clientHead: head, startedAt: now.wall, limits: limits)
        phase = .admitting
        emit(.headReceived)
        emit(.admit(head, requestID: nil, mayRefetchKeys: true))
    }

    /// The admission's verdict for the current head; `responseTimeout` is the upstream's, for a forwarded one.
    ///
    /// The exchange is changed in place (`exchange!`, after the guard) throughout: binding it to a local
    /// copies every field and makes its arrays shared, so the next append copies them too.
    mutating func admitted(_ admission: Admission, requestID: RequestID, responseTimeout: TimeAmount?, now: Now) {
        guard phase == .admitting, exchange != nil else { return }
        exchange!.requestID = requestID
        exchange!.responseTimeout = responseTimeout
        switch admission {
        case .allowIfCounted(_, var outcome, _):
            // The handler counts these before they get here; an uncounted allow is never given (fail closed).
            outcome.verdict = .error
            outcome.reason = .gateway(.rateLimitUnavailable)
            return admitted(.answer(RateLimitAnswer.unavailableResponse, outcome), requestID: requestID,
                            responseTimeout: responseTimeout, now: now)
        case .retryAfter, .awaitingCount:
            phase = .waiting
            return
        case .answer(let response, let outcome):
            exchange!.outcome = outcome
            // A request body that would follow is not read: close after answering rather than drain it.
            // `Content-Length: 0` announces none (Envoy's ext_authz check requests carry it).
            let headers = exchange!.clientHead.headers
            let bodyFollows = headers["content-length"].contains { $0 != "0" }
                || headers.contains(name: "transfer-encoding")
            closeAfterResponse = closeAfterResponse || response.close || (bodyFollows && !client.isHTTP2)
            phase = .discarding
            // HTTP/2: the stream stays open until the client ends its side; it gets `body_read_timeout`, in
            // total, to do so (see ``clockFired(_:now:)``).
            if client.isHTTP2 { armBodyClock(now: now) }
            answer(response, now: now)
        case .forward(let request):
            let buffering = request.framing != .none && exchange!.limits.bodyBufferBytes > 0
            exchange!.request = request
            exchange!.outcome = request.outcome
            exchange!.bodyStarted = now.deadline
            // A body is read into memory (up to `body_buffer_bytes`) before an upstream connection is taken:
            // a client that sends slowly, or opens a stream and sends nothing, holds no upstream connection.
            exchange!.buffering = buffering
            phase = .proxying
            if request.framing != .none { armBodyClock(now: now) }
            let headers = exchange!.clientHead.headers
            if headers.contains(name: "expect"),
                headers["expect"].contains(where: { $0.lowercased() == "100-continue" }) {
                emit(.writeContinue(exchange!.clientHead.version))
            }
            if !buffering { acquireConnection() }
        }
        // Parts that arrived while the head was being admitted (or waited for keys) go on now.
        if !paused.isEmpty { replayPaused(now: now) }
    }

    /// The issuer's keys were fetched again (or the fetch failed) for exchange `serial`: admit once more,
    /// without another re-fetch, then deliver what waited.
    mutating func keysArrived(serial: Int, now: Now) {
        guard phase == .waiting, serial == self.serial, let exchange else { return }
        phase = .admitting
        emit(.admit(exchange.clientHead, requestID: exchange.requestID, mayRefetchKeys: false))
    }

    /// The rate-limit store answered for exchange `serial`: `admission` is the request's final admission.
    mutating func counted(_ admission: Admission, serial: Int, responseTimeout: TimeAmount?, now: Now) {
        guard phase == .waiting, serial == self.serial, let requestID = exchange?.requestID else { return }
        phase = .admitting
        admitted(admission, requestID: requestID, responseTimeout: responseTimeout, now: now)
    }

    private mutating func receiveBody(_ buffer: ByteBuffer, now: Now) {
        guard phase == .proxying, exchange?.finished == false else { return }
        exchange!.bytesIn += buffer.readableBytes
        exchange!.lastBodyAt = now.deadline
        armBodyClock(now: now)
        if exchange!.bytesIn > exchange!.limits.maxBodyBytes {
            return abort(GatewayResponse(status: .payloadTooLarge, code: .bodyTooLarge, close: true), now: now)
        }
        if exchange!.headSent { return forwardBody(buffer) }
        exchange!.pending.append(.body(.byteBuffer(buffer)))
        if exchange!.buffering, exchange!.bytesIn >= exchange!.limits.bodyBufferBytes {
            // A large body: stream the rest once this much has arrived.
            exchange!.buffering = false
            acquireConnection()
        } else {
            sendHeadIfReady(now: now)
        }
    }

    private mutating func receiveEnd(now: Now) {
        switch phase {
        case .discarding:
            becomeIdle()
            disarm(.body)
        case .proxying:
            guard exchange != nil else { return }
            exchange!.requestEnded = true
            disarm(.body)
            // A response that ended first closed the connection (see ``writeEnd(now:)``).
            guard !exchange!.finished else { return }
            if exchange!.headSent {
                if let held = exchange!.heldBack {
                    exchange!.heldBack = nil
                    emit(.writeUpstream(.body(.byteBuffer(held))))
                }
                emit(.writeUpstream(.end(nil)))
                emit(.flushUpstream)
                startResponseClock(now: now)
            } else {
                exchange!.pending.append(.end(nil))
                if exchange!.buffering {
                    exchange!.buffering = false
                    acquireConnection()
                } else {
                    sendHeadIfReady(now: now)
                }
            }
        case .idle, .admitting, .waiting, .closed:
            return
        }
    }

    /// The client finished a burst of reads: what was written upstream meanwhile goes out.
    mutating func readComplete() {
        guard phase == .proxying, exchange?.headSent == true else { return }
        emit(.flushUpstream)
    }

    // MARK: Upstream

    private mutating func acquireConnection() {
        guard let upstream = exchange?.request?.upstream else { return }
        exchange!.holdsUpstream = true
        emit(.acquireConnection(upstream: upstream))
    }

    /// The pool gave the exchange a connection (to `target`, as the log names it).
    mutating func connected(target: String, writable: Bool, now: Now) {
        guard phase == .proxying, exchange?.holdsUpstream == true, exchange?.connected == false,
            exchange?.finished == false
        else { return }
        exchange!.connected = true
        exchange!.upstreamWritable = writable
        exchange!.upstreamTarget = target
        sendHeadIfReady(now: now)
    }

    /// Sends the head once connected and once the body framing is known: an HTTP/2 request without
    /// `content-length` has a body only if DATA follows the HEADERS.
    private mutating func sendHeadIfReady(now: Now) {
        guard exchange?.headSent == false, exchange?.connected == true, var head = exchange?.request?.head else {
            return
        }
        if client.isHTTP2, exchange!.request?.framing == .streamed {
            guard let first = exchange!.pending.first else {
                // The framing waits for the first part: read it (see ``readRequested(now:)``).
                return retryHeldRead(now: now)
            }
            if case .end = first { head.headers.remove(name: "transfer-encoding") }
        }
        exchange!.headSent = true
        exchange!.upstreamSentAt = now.wall
        emit(.writeUpstream(.head(head)))
        var parts = exchange!.pending[...]
        exchange!.pending = []
        // A length-framed body keeps its last part back until the request's end (see ``forwardBody(_:)``).
        if exchange!.holdsBackLastPart, case .body(.byteBuffer(let last))? = parts.last {
            exchange!.heldBack = last
            parts = parts.dropLast()
        }
        for part in parts { emit(.writeUpstream(part)) }
        emit(.flushUpstream)
        if exchange!.requestEnded { startResponseClock(now: now) }
        retryHeldRead(now: now)
    }

    /// Writes a body part upstream. A body framed by `Content-Length` keeps its latest part back until the
    /// next one or the request's end: should the request be refused after its body (an HTTP/2 stream with
    /// more DATA than it declared, or a malformed trailer section), the upstream has never seen all of the
    /// declared bytes, so it cannot take the request for a complete one. (A chunked body's last chunk is only
    /// written at the end anyway.)
    private mutating func forwardBody(_ buffer: ByteBuffer) {
        guard exchange?.holdsBackLastPart == true else { return emit(.writeUpstream(.body(.byteBuffer(buffer)))) }
        let previous = exchange!.heldBack
        exchange!.heldBack = buffer
        if let previous { emit(.writeUpstream(.body(.byteBuffer(previous)))) }
    }

    /// `reusable`: the upstream connection may serve another request once the response ends.
    mutating func upstreamResponseHead(_ head: HTTPResponseHead, reusable: Bool, now: Now) {
        guard phase == .proxying, exchange?.connected == true, exchange?.finished == false else { return }
        exchange!.responseStarted = true
        exchange!.status = Int(head.status.code)
        exchange!.upstreamKeepAlive = reusable
        let version = exchange!.clientHead.version
        var response = HTTPResponseHead(
            version: version, status: head.status,
            headers: ResponseHeaderFilter.clientHeaders(
                from: head.headers, cors: exchange!.request?.corsHeaders,
                added: exchange!.request?.addedResponseHeaders ?? []))
        if closeAfterResponse && version.major < 2 { response.headers.replaceOrAdd(name: "connection", value: "close") }
        disarm(.response)
        exchange!.responseUnflushed = true
        emit(.writeResponseHead(response))
        watchClientWritability(now: now)
    }

    /// A part of the response body. It is flushed when the upstream's read ends (``upstreamReadComplete()``)
    /// or with the response's end: a response that arrives in one read goes to the client in one flush.
    mutating func upstreamResponseBody(_ buffer: ByteBuffer, now: Now) {
        guard phase == .proxying, exchange?.responseStarted == true, exchange?.finished == false else { return }
        exchange!.bytesOut += buffer.readableBytes
        exchange!.responseUnflushed = true
        emit(.writeResponseBody(buffer))
        watchClientWritability(now: now)
    }

    /// The upstream connection finished a burst of reads: what it gave the client so far goes out.
    mutating func upstreamReadComplete() {
        guard phase == .proxying, exchange?.responseUnflushed == true, exchange?.finished == false else { return }
        exchange!.responseUnflushed = false
        emit(.flushResponse)
    }

    mutating func upstreamResponseEnd(now: Now) {
        guard phase == .proxying, exchange?.responseStarted == true, exchange?.finished == false else { return }
        exchange!.upstreamEndedAt = now.wall
        exchange!.finished = true
        let requestEnded = exchange!.requestEnded
        releaseConnection(reusable: requestEnded && exchange!.upstreamKeepAlive)
        if !requestEnded { closeAfterResponse = true }
        writeEnd(now: now)
    }

    /// The exchange's upstream side failed: the pool gave up (`target`: the last one tried), or the
    /// connection broke.
    mutating func upstreamFailed(_ failure: UpstreamFailure, target: String?, now: Now) {
        guard phase == .proxying, exchange?.holdsUpstream == true, exchange?.finished == false else { return }
        if exchange!.upstreamTarget == nil { exchange!.upstreamTarget = target }
        fail(failure, now: now)
    }

    mutating func upstreamWritabilityChanged(_ writable: Bool, now: Now) {
        guard phase == .proxying, exchange?.connected == true else { return }
        exchange!.upstreamWritable = writable
        if writable { retryHeldRead(now: now) }
    }

    /// Whether the upstream connection may read more of the response (the client takes it).
    var upstreamMayRead: Bool { clientWritable }

    /// The exchange cannot complete: answer if nothing was sent yet, otherwise cut the connection.
    private mutating func fail(_ failure: UpstreamFailure, now: Now) {
        disarm(.response)
        disarm(.body)
        exchange?.failure = failure
        releaseConnection(reusable: false)
        exchange?.finished = true
        if exchange?.responseStarted == true { return cut(now: now) }
        if exchange?.requestEnded == false { closeAfterResponse = true }
        answer(GatewayResponse.upstream(failure), now: now)
    }

    /// The gateway refuses the rest of an admitted request (too large, too slow, broken framing).
    private mutating func abort(_ response: GatewayResponse, now: Now) {
        disarm(.response)
        disarm(.body)
        disarm(.send)
        releaseConnection(reusable: false)
        exchange?.finished = true
        closeAfterResponse = true
        exchange?.outcome.reason = .gateway(response.code)
        if exchange?.responseStarted == true { return cut(now: now) }
        exchange?.outcome.verdict = .reject
        answer(response, now: now)
    }

    /// A response already under way cannot become an error answer: the connection (or stream) is closed
    /// so the client sees it incomplete rather than mistaking it for whole.
    private mutating func cut(now: Now) {
        closeAfterResponse = true
        phase = .closed
        report(now: now)
        emit(.close)
    }

    /// Ends the exchange's claim on the pool.
    private mutating func releaseConnection(reusable: Bool) {
        guard exchange?.holdsUpstream == true else { return }
        exchange!.holdsUpstream = false
        exchange!.connected = false
        emit(.releaseConnection(reusable: reusable))
    }

    // MARK: Answers and completion

    private mutating func answer(_ response: GatewayResponse, now: Now) {
        guard exchange != nil else { return }
        closeAfterResponse = closeAfterResponse || response.close
        var rendered = response
        rendered.close = closeAfterResponse
        let (head, body) = rendered.render(
            requestID: exchange!.requestID?.text ?? "-", version: exchange!.clientHead.version)
        exchange!.status = Int(response.status.code)
        exchange!.bytesOut = body.readableBytes
        emit(.writeResponseHead(head))
        emit(.writeResponseBody(body))
        writeEnd(now: now)
    }

    /// Reports the exchange, settles the next phase, then writes the response's end (closing when the
    /// connection cannot be reused). The phase is final before the write: ending a response may hand over the
    /// next buffered request at once, synchronously.
    private mutating func writeEnd(now: Now) {
        report(now: now)
        if exchange?.request != nil {
            disarm(.body)
            disarm(.response)
            disarm(.send)
        }
        if closeAfterResponse {
            phase = .closed
            return emit(.writeResponseEnd(close: true))
        }
        // An answered request stays `.discarding` until its end arrives; a proxied one whose request
        // ended is done.
        if phase == .proxying, exchange?.requestEnded == true {
            becomeIdle()
        }
        emit(.writeResponseEnd(close: false))
    }

    /// The exchange is over and the connection waits for its next request, keeping nothing of the last one:
    /// an idle keep-alive connection holds no bearer token, no identity headers and no request head.
    private mutating func becomeIdle() {
        phase = .idle
        exchange = nil
    }

    private mutating func report(now: Now) {
        guard exchange?.reported == false else { return }
        exchange!.reported = true
        // Field by field from the stored exchange: a local copy of it would retain every field first.
        let failure = exchange!.failure
        let version = exchange!.clientHead.version
        let startedAt = exchange!.startedAt
        let upstreamEndedAt = exchange!.upstreamEndedAt ?? now.wall
        let record = RequestRecord(
            requestID: exchange!.requestID?.text ?? "-", clientAddress: client.address,
            method: exchange!.outcome.originalMethod ?? exchange!.clientHead.method.rawValue,
            path: exchange!.outcome.path ?? "-", route: exchange!.outcome.route,
            verdict: failure == nil ? exchange!.outcome.verdict : .error,
            reason: failure.map { .upstream($0) } ?? exchange!.outcome.reason, subject: exchange!.outcome.subject,
            issuer: exchange!.outcome.issuer, status: exchange!.status, upstream: exchange!.request?.upstream,
            upstreamTarget: exchange!.upstreamTarget, startedAt: startedAt, duration: now.wall - startedAt,
            upstreamDuration: exchange!.upstreamSentAt.map { upstreamEndedAt - $0 },
            bytesIn: exchange!.bytesIn, bytesOut: exchange!.bytesOut,
            protocolName: client.isHTTP2 ? "HTTP/2" : "HTTP/\(version.major).\(version.minor)",
            host: exchange!.outcome.host, userAgent: exchange!.clientHead.headers.first(name: "user-agent"),
            deniedBy: exchange!.outcome.deniedBy, mode: exchange!.outcome.mode
        )
        emit(.report(record))
    }

    // MARK: Reads and writability

    /// The channel asks to read. Nothing more is read while parts wait, while the client does not take its
    /// answers, or while the upstream does not take the body; a request waiting for keys keeps being read,
    /// up to `body_buffer_bytes` of body, so that a client that leaves meanwhile is noticed.
    mutating func readRequested(now: Now) {
        if phase == .waiting {
            if pausedBytes < limits.bodyBufferBytes, clientWritable { return emit(.read) }
            heldRead = true
            return
        }
        if !paused.isEmpty || !clientWritable {
            heldRead = true
            return
        }
        if phase == .proxying, exchange?.finished == false {
            if exchange!.buffering || awaitsFirstPart { return emit(.read) }
            guard exchange!.connected, exchange!.headSent, exchange!.upstreamWritable else {
                heldRead = true
                return upstreamHoldsBody(now: now)
            }
            upstreamTakesBody(now: now)
        }
        emit(.read)
    }

    /// A read that ``readRequested(now:)`` held back goes through its gate again, which holds it anew if it
    /// must (never around it: a read let through here would bypass the backpressure on the upstream side).
    private mutating func retryHeldRead(now: Now) {
        guard heldRead else { return }
        heldRead = false
        readRequested(now: now)
    }

    /// An HTTP/2 request without `content-length` is connected upstream but its head waits to learn
    /// whether a body follows (DATA or the stream's end): that one part must be read, or neither side moves.
    private var awaitsFirstPart: Bool {
        guard client.isHTTP2, exchange?.request?.framing == .streamed else { return false }
        return exchange!.connected && !exchange!.headSent && exchange!.pending.isEmpty
    }

    mutating func clientWritabilityChanged(_ writable: Bool, now: Now) {
        clientWritable = writable
        if writable, phase == .proxying, exchange?.connected == true { emit(.resumeUpstreamReading) }
        watchClientWritability(now: now)
        if writable { replayPaused(now: now) }
    }

    /// Runs the send clock while a proxied response waits on the client.
    private mutating func watchClientWritability(now: Now) {
        guard phase == .proxying, exchange?.responseStarted == true, exchange?.finished == false, !clientWritable else {
            return disarm(.send)
        }
        if !armed.contains(.send) { arm(.send, now.deadline + exchange!.limits.sendTimeout) }
    }

    // MARK: Clocks

    /// A client that stops sending its body for `body_read_timeout`, or whose body averages less than
    /// `min_body_rate` after its first `body_read_timeout`, loses the request (408) or, once the response
    /// started, the connection. One deadline serves both: the earlier of the pause limit and the time by
    /// which the bytes so far would fall below the rate; every part moves it later.
    ///
    /// Time in which the gateway itself did not read because the upstream did not take the body (or was
    /// not connected yet) is not the client's: it is credited to the rate, and while it lasts the clock
    /// times the upstream instead, which gets `body_read_timeout` to take bytes again (else 504).
    private mutating func armBodyClock(now: Now) {
        guard exchange != nil else { return }
        let limits = exchange!.limits
        if let since = exchange!.upstreamHeldSince { return arm(.body, since + limits.bodyReadTimeout) }
        var deadline = now.deadline + limits.bodyReadTimeout
        if limits.minBodyRate > 0, let started = exchange!.bodyStarted {
            let earned = TimeAmount.nanoseconds(Int64(Double(exchange!.bytesIn) / Double(limits.minBodyRate) * 1e9))
            deadline = min(deadline, started + limits.bodyReadTimeout + earned + exchange!.upstreamHeldFor)
        }
        arm(.body, deadline)
    }

    /// Reads stop because the upstream does not take the body: the body clock times the upstream.
    private mutating func upstreamHoldsBody(now: Now) {
        guard exchange?.upstreamHeldSince == nil, exchange?.requestEnded == false, exchange?.finished == false else {
            return
        }
        exchange!.upstreamHeldSince = now.deadline
        armBodyClock(now: now)
    }

    /// Reads resume: the time the upstream held them is credited, and the clock times the client again.
    private mutating func upstreamTakesBody(now: Now) {
        guard let since = exchange?.upstreamHeldSince else { return }
        exchange!.upstreamHeldFor = exchange!.upstreamHeldFor + (now.deadline - since)
        exchange!.upstreamHeldSince = nil
        if !exchange!.requestEnded && !exchange!.finished { armBodyClock(now: now) }
    }

    private mutating func startResponseClock(now: Now) {
        guard !armed.contains(.response), exchange?.responseStarted == false,
            let timeout = exchange?.responseTimeout
        else { return }
        arm(.response, now.deadline + timeout)
    }

    private mutating func arm(_ clock: Clock, _ deadline: NIODeadline) {
        armed.insert(clock)
        emit(.armClock(clock, deadline))
    }

    private mutating func disarm(_ clock: Clock) {
        guard armed.remove(clock) != nil else { return }
        emit(.disarmClock(clock))
    }

    mutating func clockFired(_ clock: Clock, now: Now) {
        guard armed.remove(clock) != nil else { return }
        switch clock {
        case .body: bodyClockFired(now: now)
        case .response:
            guard phase == .proxying, exchange?.responseStarted == false, exchange?.finished == false else { return }
            emit(.closeUpstream)
            fail(.timeout, now: now)
        case .send:
            // The client took no response bytes for `send_timeout`: the exchange is cut and its upstream
            // connection, held back by the client, is closed.
            guard phase == .proxying, exchange?.responseStarted == true, exchange?.finished == false else { return }
            abort(GatewayResponse(status: .requestTimeout, code: .sendTimeout, close: true), now: now)
        }
    }

    private mutating func bodyClockFired(now: Now) {
        if phase == .discarding, client.isHTTP2 {
            // An answered HTTP/2 request whose client never ended its stream: reset the stream.
            phase = .closed
            return emit(.close)
        }
        guard phase == .proxying, exchange?.requestEnded == false, exchange?.finished == false else { return }
        if exchange!.upstreamHeldSince != nil {
            // The upstream took none of the body for `body_read_timeout`: its fault, not the client's.
            return fail(.timeout, now: now)
        }
        let pause = exchange!.limits.bodyReadTimeout
        let lastSeen = exchange!.lastBodyAt ?? exchange!.bodyStarted ?? now.deadline
        let code: GatewayCode = now.deadline - lastSeen >= pause ? .bodyTimeout : .bodyTooSlow
        abort(GatewayResponse(status: .requestTimeout, code: code, close: true), now: now)
    }

    // MARK: The connection ends

    /// The client connection (or stream) is gone: nothing more is written; what it held goes back, and a
    /// request it left unanswered (being admitted, waiting for keys or proxied) is reported, as 499.
    mutating func clientClosed(now: Now) {
        for clock in Clock.allCases { disarm(clock) }
        paused.removeAll()
        pausedBytes = 0
        if phase == .proxying {
            releaseConnection(reusable: false)
            exchange?.finished = true
        }
        if exchange?.reported == false {
            if exchange?.status == 0 { exchange?.status = 499 }
            report(now: now)
        }
        phase = .closed
    }

    /// The HTTP/1.1 parser refused what the client sent; `requestID` names the answer if one is given.
    mutating func parseFailed(_ response: GatewayResponse, requestID: RequestID, now: Now) {
        switch phase {
        case .idle, .discarding:
            var exchange = Exchange(
                clientHead: HTTPRequestHead(version: .http1_1, method: .GET, uri: "-"), startedAt: now.wall, limits: limits)
            exchange.requestID = requestID
            exchange.outcome = RequestOutcome(verdict: .reject, reason: .gateway(response.code))
            self.exchange = exchange
            serial += 1
            closeAfterResponse = true
            phase = .discarding
            answer(response, now: now)
        case .proxying where exchange?.finished == false:
            // The body's framing broke after the head was admitted (a bad chunk): the upstream connection,
            // which may have seen part of the request, is closed, and the client gets the 400 if no response
            // has started (else the connection is cut).
            abort(response, now: now)
        case .proxying, .closed, .waiting, .admitting:
            emit(.close)
        }
    }
}
