import GatewayAdmission
import GatewayConfig
import GatewayObservability
import NIOCore
import NIOEmbedded
import NIOHTTP1
import TestSupport
import Testing

@testable import AuthGateway

/// The request lifecycle as plain values: the transitions one by one, then random event sequences with the
/// promises checked after every step.
@Suite("Exchange state machine")
struct ExchangeStateMachineTests {
    typealias Machine = ExchangeStateMachine
    typealias Action = Machine.Action

    static let http1 = ClientConnection(address: "192.0.2.1", isHTTP2: false)
    static let http2 = ClientConnection(address: "192.0.2.1", isHTTP2: true)
    static let limits = Machine.Limits(GatewayConfiguration.Limits())
    static let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)

    static func now(_ offset: TimeAmount = .zero) -> Machine.Now {
        Machine.Now(deadline: t0 + offset, wall: 1_800_000_000 + Double(offset.nanoseconds) / 1e9)
    }

    static func head(_ method: HTTPMethod = .GET, _ uri: String = "/x", headers: [(String, String)] = []) -> HTTPRequestHead {
        HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: HTTPHeaders([("host", "a")] + headers))
    }

    static func forward(_ head: HTTPRequestHead, framing: RequestGuard.BodyFraming = .none) -> Admission {
        .forward(UpstreamRequest(upstream: "svc", head: head, framing: framing, outcome: RequestOutcome(verdict: .allow)))
    }

    static func requestID() -> RequestID {
        var generator = RequestID.Generator()
        return generator.next()
    }

    /// Feeds `head` and lets the machine admit it with `admission`; returns the actions after admission.
    static func admit(_ machine: inout Machine, _ head: HTTPRequestHead, _ admission: Admission) -> [Action] {
        let first = machine.step { $0.received(.head(head), limits: limits, now: now()) }
        #expect(first.contains { if case .admit = $0 { true } else { false } })
        return machine.step { $0.admitted(admission, requestID: requestID(), responseTimeout: .seconds(30), now: now()) }
    }

    static func has(_ actions: [Action], _ match: (Action) -> Bool) -> Bool { actions.contains(where: match) }

    // MARK: Transitions

    @Test("a GET is admitted, connected, sent, answered and reported; the connection goes back for reuse")
    func simpleProxy() {
        var machine = Machine(client: Self.http1, limits: Self.limits)
        let head = Self.head()
        var actions = Self.admit(&machine, head, Self.forward(head))
        #expect(Self.has(actions) { if case .acquireConnection = $0 { true } else { false } })
        #expect(machine.phase == .proxying)
        actions = machine.step { $0.received(.end(nil), limits: Self.limits, now: Self.now()) }
        #expect(actions.isEmpty, "the head waits for the connection")
        actions = machine.step { $0.connected(target: "http://127.0.0.1:1", writable: true, now: Self.now()) }
        #expect(Self.has(actions) { if case .writeUpstream(.head) = $0 { true } else { false } })
        #expect(Self.has(actions) { if case .writeUpstream(.end) = $0 { true } else { false } })
        #expect(Self.has(actions) { if case .armClock(.response, _) = $0 { true } else { false } })
        actions = machine.step { $0.upstreamResponseHead(HTTPResponseHead(version: .http1_1, status: .ok), reusable: true, now: Self.now()) }
        #expect(Self.has(actions) { if case .writeResponseHead = $0 { true } else { false } })
        #expect(Self.has(actions) { if case .disarmClock(.response) = $0 { true } else { false } })
        actions = machine.step { $0.upstreamResponseEnd(now: Self.now()) }
        #expect(Self.has(actions) { if case .releaseConnection(reusable: true) = $0 { true } else { false } })
        #expect(Self.has(actions) { if case .report(let record) = $0 { record.status == 200 && record.upstreamTarget == "http://127.0.0.1:1" } else { false } })
        #expect(Self.has(actions) { if case .writeResponseEnd(close: false) = $0 { true } else { false } })
        #expect(machine.phase == .idle)
        #expect(machine.exchange == nil, "an idle keep-alive connection keeps nothing of its last request")
    }

    @Test("a denied upload is answered at once and the connection closes rather than read the body")
    func deniedUpload() {
        var machine = Machine(client: Self.http1, limits: Self.limits)
        let head = Self.head(.POST, headers: [("content-length", "10")])
        let actions = Self.admit(&machine, head, .answer(GatewayResponse(status: .unauthorized, code: .badRequest), RequestOutcome(verdict: .deny)))
        #expect(!Self.has(actions) { if case .acquireConnection = $0 { true } else { false } })
        #expect(Self.has(actions) { if case .writeResponseEnd(close: true) = $0 { true } else { false } })
        #expect(machine.phase == .closed)
        #expect(machine.step { $0.received(.body(ByteBuffer(string: "0123456789")), limits: Self.limits, now: Self.now()) }.isEmpty)
    }

    @Test("a body is buffered up to body_buffer_bytes before a connection is asked for")
    func bufferedBody() {
        var machine = Machine(client: Self.http1, limits: Self.limits)
        let head = Self.head(.POST, headers: [("content-length", "5")])
        var actions = Self.admit(&machine, head, Self.forward(head, framing: .contentLength(5)))
        #expect(!Self.has(actions) { if case .acquireConnection = $0 { true } else { false } })
        #expect(Self.has(actions) { if case .armClock(.body, _) = $0 { true } else { false } })
        actions = machine.step { $0.received(.body(ByteBuffer(string: "hello")), limits: Self.limits, now: Self.now()) }
        #expect(!Self.has(actions) { if case .acquireConnection = $0 { true } else { false } })
        actions = machine.step { $0.received(.end(nil), limits: Self.limits, now: Self.now()) }
        #expect(Self.has(actions) { if case .acquireConnection = $0 { true } else { false } })
        #expect(Self.has(actions) { if case .disarmClock(.body) = $0 { true } else { false } })
        actions = machine.step { $0.connected(target: "t", writable: true, now: Self.now()) }
        let writes = actions.compactMap { action -> String? in
            guard case .writeUpstream(let part) = action else { return nil }
            switch part {
            case .head: return "head"
            case .body: return "body"
            case .end: return "end"
            }
        }
        #expect(writes == ["head", "body", "end"])
    }

    @Test("a length-framed body's last part is held back until the request's end")
    func lastPartHeldBack() {
        var limits = Self.limits
        limits.bodyBufferBytes = 0
        var machine = Machine(client: Self.http1, limits: limits)
        let head = Self.head(.POST, headers: [("content-length", "6")])
        _ = machine.step { $0.received(.head(head), limits: limits, now: Self.now()) }
        _ = machine.step { $0.admitted(Self.forward(head, framing: .contentLength(6)), requestID: Self.requestID(), responseTimeout: nil, now: Self.now()) }
        _ = machine.step { $0.connected(target: "t", writable: true, now: Self.now()) }
        var actions = machine.step { $0.received(.body(ByteBuffer(string: "abc")), limits: limits, now: Self.now()) }
        #expect(!Self.has(actions) { if case .writeUpstream(.body) = $0 { true } else { false } })
        actions = machine.step { $0.received(.body(ByteBuffer(string: "def")), limits: limits, now: Self.now()) }
        #expect(Self.has(actions) { if case .writeUpstream(.body(.byteBuffer(let b))) = $0 { String(buffer: b) == "abc" } else { false } })
        actions = machine.step { $0.received(.end(nil), limits: limits, now: Self.now()) }
        #expect(Self.has(actions) { if case .writeUpstream(.body(.byteBuffer(let b))) = $0 { String(buffer: b) == "def" } else { false } })
    }

    @Test("reads stop while the upstream does not take the body, and that time is not the client's")
    func backpressureCreditsTheClient() {
        var limits = Self.limits
        limits.bodyBufferBytes = 0
        var machine = Machine(client: Self.http1, limits: limits)
        let head = Self.head(.POST, headers: [("transfer-encoding", "chunked")])
        _ = machine.step { $0.received(.head(head), limits: limits, now: Self.now()) }
        _ = machine.step { $0.admitted(Self.forward(head, framing: .streamed), requestID: Self.requestID(), responseTimeout: nil, now: Self.now()) }
        _ = machine.step { $0.connected(target: "t", writable: true, now: Self.now()) }
        #expect(machine.step { $0.readRequested(now: Self.now()) }.contains { if case .read = $0 { true } else { false } })
        _ = machine.step { $0.upstreamWritabilityChanged(false, now: Self.now(.seconds(1))) }
        let held = machine.step { $0.readRequested(now: Self.now(.seconds(1))) }
        #expect(!Self.has(held) { if case .read = $0 { true } else { false } })
        // The clock now times the upstream: body_read_timeout from when the hold began.
        #expect(Self.has(held) { if case .armClock(.body, Self.t0 + .seconds(1) + limits.bodyReadTimeout) = $0 { true } else { false } })
        let resumed = machine.step { $0.upstreamWritabilityChanged(true, now: Self.now(.seconds(20))) }
        #expect(Self.has(resumed) { if case .read = $0 { true } else { false } })
        #expect(machine.exchange?.upstreamHeldFor == .seconds(19))
    }

    @Test("an upstream that takes none of the body for body_read_timeout is a 504, not the client's 408")
    func stalledUpstreamIs504() {
        var limits = Self.limits
        limits.bodyBufferBytes = 0
        var machine = Machine(client: Self.http1, limits: limits)
        let head = Self.head(.POST, headers: [("transfer-encoding", "chunked")])
        _ = machine.step { $0.received(.head(head), limits: limits, now: Self.now()) }
        _ = machine.step { $0.admitted(Self.forward(head, framing: .streamed), requestID: Self.requestID(), responseTimeout: nil, now: Self.now()) }
        _ = machine.step { $0.connected(target: "t", writable: false, now: Self.now()) }
        _ = machine.step { $0.readRequested(now: Self.now()) }
        let actions = machine.step { $0.clockFired(.body, now: Self.now(limits.bodyReadTimeout)) }
        #expect(Self.has(actions) { if case .writeResponseHead(let head) = $0 { head.status == .gatewayTimeout } else { false } })
        #expect(Self.has(actions) { if case .releaseConnection(reusable: false) = $0 { true } else { false } })
    }

    @Test("a request waiting for keys holds its parts and is admitted again once, then they go on")
    func awaitingKeys() {
        var machine = Machine(client: Self.http1, limits: Self.limits)
        let head = Self.head()
        _ = machine.step { $0.received(.head(head), limits: Self.limits, now: Self.now()) }
        let id = Self.requestID()
        let loop = EmbeddedEventLoop()
        _ = machine.step { $0.admitted(.retryAfter(loop.makeSucceededVoidFuture()), requestID: id, responseTimeout: nil, now: Self.now()) }
        #expect(machine.phase == .waiting)
        #expect(machine.step { $0.received(.end(nil), limits: Self.limits, now: Self.now()) }.isEmpty)
        #expect(machine.step { $0.keysArrived(serial: $0.serial + 1, now: Self.now()) }.isEmpty, "a re-fetch for another request")
        let again = machine.step { $0.keysArrived(serial: $0.serial, now: Self.now()) }
        #expect(Self.has(again) { if case .admit(_, let requestID?, mayRefetchKeys: false) = $0 { requestID.text == id.text } else { false } })
        let actions = machine.step { $0.admitted(Self.forward(head), requestID: id, responseTimeout: nil, now: Self.now()) }
        #expect(Self.has(actions) { if case .acquireConnection = $0 { true } else { false } })
        #expect(machine.exchange?.requestEnded == true, "the paused end was delivered")
        try? loop.syncShutdownGracefully()
    }

    @Test("a request waiting for its rate-limit count holds its parts; only its own count admits it, once")
    func awaitingCount() {
        var machine = Machine(client: Self.http1, limits: Self.limits)
        let head = Self.head()
        _ = machine.step { $0.received(.head(head), limits: Self.limits, now: Self.now()) }
        let id = Self.requestID()
        #expect(machine.step { $0.admitted(.awaitingCount, requestID: id, responseTimeout: nil, now: Self.now()) }.isEmpty)
        #expect(machine.phase == .waiting)
        #expect(machine.step { $0.received(.end(nil), limits: Self.limits, now: Self.now()) }.isEmpty)
        #expect(machine.step { $0.counted(Self.forward(head), serial: $0.serial + 1, responseTimeout: nil, now: Self.now()) }.isEmpty,
                "a count for another request")
        let actions = machine.step { $0.counted(Self.forward(head), serial: $0.serial, responseTimeout: nil, now: Self.now()) }
        #expect(Self.has(actions) { if case .acquireConnection = $0 { true } else { false } })
        #expect(machine.exchange?.requestEnded == true, "the paused end was delivered")
        #expect(machine.step { $0.counted(Self.forward(head), serial: $0.serial, responseTimeout: nil, now: Self.now()) }.isEmpty, "counted twice")
    }

    @Test("a client that leaves while its request waits for its count is reported 499; the late count does nothing")
    func leavesWhileCounting() {
        var machine = Machine(client: Self.http1, limits: Self.limits)
        let head = Self.head()
        _ = machine.step { $0.received(.head(head), limits: Self.limits, now: Self.now()) }
        _ = machine.step { $0.admitted(.awaitingCount, requestID: Self.requestID(), responseTimeout: nil, now: Self.now()) }
        let serial = machine.serial
        let actions = machine.step { $0.clientClosed(now: Self.now()) }
        #expect(Self.has(actions) { if case .report(let record) = $0 { record.status == 499 } else { false } })
        #expect(!Self.has(actions) { if case .releaseConnection = $0 { true } else { false } }, "nothing was asked of the pool")
        #expect(machine.step { $0.counted(Self.forward(head), serial: serial, responseTimeout: nil, now: Self.now()) }.isEmpty)
    }

    @Test("a client that leaves while its connection is being opened withdraws it and is reported 499")
    func clientLeaves() {
        var machine = Machine(client: Self.http1, limits: Self.limits)
        let head = Self.head()
        _ = Self.admit(&machine, head, Self.forward(head))
        let actions = machine.step { $0.clientClosed(now: Self.now()) }
        #expect(Self.has(actions) { if case .releaseConnection(reusable: false) = $0 { true } else { false } })
        #expect(Self.has(actions) { if case .report(let record) = $0 { record.status == 499 } else { false } })
        #expect(machine.step { $0.connected(target: "t", writable: true, now: Self.now()) }.isEmpty)
        #expect(machine.phase == .closed)
    }

    @Test("a response that stalls on the client arms send_timeout; when it fires the exchange is cut")
    func sendTimeout() {
        var machine = Machine(client: Self.http1, limits: Self.limits)
        let head = Self.head()
        _ = Self.admit(&machine, head, Self.forward(head))
        _ = machine.step { $0.received(.end(nil), limits: Self.limits, now: Self.now()) }
        _ = machine.step { $0.connected(target: "t", writable: true, now: Self.now()) }
        _ = machine.step { $0.upstreamResponseHead(HTTPResponseHead(version: .http1_1, status: .ok), reusable: true, now: Self.now()) }
        let stalled = machine.step { $0.clientWritabilityChanged(false, now: Self.now()) }
        #expect(Self.has(stalled) { if case .armClock(.send, _) = $0 { true } else { false } })
        let fired = machine.step { $0.clockFired(.send, now: Self.now(.seconds(30))) }
        #expect(Self.has(fired) { if case .releaseConnection(reusable: false) = $0 { true } else { false } })
        #expect(Self.has(fired) { if case .close = $0 { true } else { false } })
        #expect(Self.has(fired) { if case .report(let record) = $0 { record.reason == .gateway(.sendTimeout) } else { false } })
    }

    // MARK: Random sequences

    @Test("random event sequences keep every promise", arguments: 0..<60)
    func randomSequences(seed: UInt64) {
        var model = ExchangeModel(seed: seed, http2: seed % 3 == 0)
        for step in 0..<300 {
            model.step()
            if !model.violations.isEmpty {
                Issue.record("seed \(seed), step \(step): \(model.violations)\n\(model.history.suffix(14).joined(separator: "\n"))")
                return
            }
            if model.closed { break }
        }
        model.finish()
        #expect(model.violations.isEmpty, "seed \(seed), at the end: \(model.violations)\n\(model.history.suffix(14).joined(separator: "\n"))")
    }
}

/// Drives the machine as the handler and the world around it would (a client that pipelines requests
/// behind NIO's one-at-a-time pipelining, a pool, an upstream, writability, clocks, admission), and checks
/// its actions against what each party may expect, and that an idle machine keeps nothing of its last request.
struct ExchangeModel {
    typealias Machine = ExchangeStateMachine
    typealias Action = Machine.Action

    var machine: Machine
    var random: SplitMix64
    let http2: Bool
    var violations: [String] = []
    var history: [String] = []
    var offset = TimeAmount.zero

    /// What the client will send, request by request (parts); the next request only after the last answer.
    var script: [[HTTPServerRequestPart]] = []
    var current: [HTTPServerRequestPart] = []
    var responseEnded = true
    var requestEndDelivered = true
    /// Admissions asked for and not answered yet.
    var pendingAdmission: (HTTPRequestHead, RequestID?, Bool)?
    var keysPending: Int?
    var countPending: (serial: Int, admission: Admission)?
    /// The pool side: asked for (ticket), connected, given back.
    var holdsUpstream = false
    var upstreamConnected = false
    var upstreamHeadWritten = false
    var upstreamEndWritten = false
    var upstreamResponse: Int? // 0 head sent, 1 body sent
    var upstreamWritable = true
    var armed: Set<Machine.Clock> = []
    var closed = false
    var startedExchanges = 0
    var reports = 0
    var writeResponseHeadCount = 0
    /// Response bytes written to the client and not flushed (the end flushes).
    var unflushed = false
    var requestIDs = RequestID.Generator()

    init(seed: UInt64, http2: Bool) {
        random = SplitMix64(seed: seed)
        self.http2 = http2
        machine = Machine(client: ClientConnection(address: "192.0.2.1", isHTTP2: http2), limits: Self.limits(bufferBytes: 0))
        let requests = http2 ? 1 : 1 + random.next(upTo: 4)
        for _ in 0..<requests { script.append(makeRequest()) }
    }

    static func limits(bufferBytes: Int) -> Machine.Limits {
        var limits = Machine.Limits(GatewayConfiguration.Limits())
        limits.bodyBufferBytes = bufferBytes
        limits.maxBodyBytes = 64
        return limits
    }

    mutating func makeRequest() -> [HTTPServerRequestPart] {
        let bodyParts = random.next(upTo: 3)
        let method: HTTPMethod = bodyParts > 0 ? .POST : .GET
        var headers: [(String, String)] = [("host", "a")]
        if bodyParts > 0 { headers.append(("content-length", String(bodyParts * 8))) }
        if random.next(upTo: 5) == 0 { headers.append(("connection", "close")) }
        var parts: [HTTPServerRequestPart] = [.head(HTTPRequestHead(version: .http1_1, method: method, uri: "/r", headers: HTTPHeaders(headers)))]
        for _ in 0..<bodyParts { parts.append(.body(ByteBuffer(repeating: 0x61, count: 8))) }
        parts.append(.end(nil))
        return parts
    }

    var now: Machine.Now {
        Machine.Now(deadline: .uptimeNanoseconds(1_000_000_000) + offset, wall: 1_800_000_000 + Double(offset.nanoseconds) / 1e9)
    }

    mutating func step() {
        offset = offset + .milliseconds(Int64(random.next(upTo: 400)))
        switch random.next(upTo: 14) {
        case 0, 1, 2: deliverClientPart()
        case 3: answerAdmission()
        case 4:
            if let serial = keysPending { keysPending = nil; machine.keysArrived(serial: serial, now: now); apply(machine.takeActions(), "keysArrived") }
            if let (serial, admission) = countPending {
                countPending = nil
                machine.counted(admission, serial: serial, responseTimeout: .seconds(5), now: now); apply(machine.takeActions(), "counted \(admission)")
            }
        case 5: answerPool()
        case 6, 7: upstreamSends()
        case 8: machine.readRequested(now: now); apply(machine.takeActions(), "readRequested")
        case 9:
            upstreamWritable.toggle()
            if upstreamConnected { machine.upstreamWritabilityChanged(upstreamWritable, now: now); apply(machine.takeActions(), "upstreamWritable \(upstreamWritable)") }
        case 10:
            let writable = random.next(upTo: 2) == 0
            machine.clientWritabilityChanged(writable, now: now); apply(machine.takeActions(), "clientWritability")
        case 11:
            if let clock = armed.randomElement(using: &random) {
                armed.remove(clock)
                machine.clockFired(clock, now: now); apply(machine.takeActions(), "clockFired \(clock)")
            }
        case 12:
            if upstreamConnected, random.next(upTo: 3) == 0 {
                upstreamConnected = false
                machine.upstreamFailed(.reset, target: "t", now: now); apply(machine.takeActions(), "upstream reset")
            }
        default:
            if random.next(upTo: 6) == 0 { closeClient() }
        }
    }

    /// Every run ends with the client gone: the machine must then hold nothing and have reported everything.
    mutating func finish() {
        if !closed { closeClient() }
        if holdsUpstream { violations.append("the upstream connection was never given back") }
        if reports != startedExchanges { violations.append("\(startedExchanges) exchanges began, \(reports) reported") }
    }

    mutating func closeClient() {
        closed = true
        machine.clientClosed(now: now); apply(machine.takeActions(), "clientClosed")
    }

    mutating func deliverClientPart() {
        guard !closed else { return }
        if current.isEmpty {
            // NIO's pipelining handler: the next request once the last one's response and request ended.
            guard responseEnded, requestEndDelivered, !script.isEmpty else { return }
            current = script.removeFirst()
            responseEnded = false
            requestEndDelivered = false
        }
        let part = current.removeFirst()
        if case .end = part { requestEndDelivered = true }
        let limits = Self.limits(bufferBytes: random.next(upTo: 2) == 0 ? 0 : 16)
        machine.received(part, limits: limits, now: now); apply(machine.takeActions(), "client \(describe(part))")
    }

    mutating func answerAdmission() {
        guard let (head, existing, _) = pendingAdmission else { return }
        pendingAdmission = nil
        let id = existing ?? requestIDs.next()
        let admission: Admission
        switch random.next(upTo: 4) {
        case 0:
            admission = .answer(GatewayResponse(status: .forbidden, code: .badRequest), RequestOutcome(verdict: .deny))
        case 1 where existing == nil:
            let loop = EmbeddedEventLoop()
            admission = .retryAfter(loop.makeSucceededVoidFuture())
            try? loop.syncShutdownGracefully()
            keysPending = machine.serial
        default:
            let length = Int(head.headers.first(name: "content-length") ?? "0") ?? 0
            admission = .forward(UpstreamRequest(
                upstream: "svc", head: head, framing: length > 0 ? .contentLength(length) : .none,
                outcome: RequestOutcome(verdict: .allow)))
            if random.next(upTo: 3) == 0 {
                // A rate limit in Redis: the exchange waits, then gets this admission or a 429.
                let limited = Admission.answer(GatewayResponse(status: .tooManyRequests, code: .rateLimited), RequestOutcome(verdict: .reject))
                countPending = (machine.serial, random.next(upTo: 2) == 0 ? admission : limited)
                machine.admitted(.awaitingCount, requestID: id, responseTimeout: .seconds(5), now: now); apply(machine.takeActions(), "awaitingCount")
                return
            }
        }
        machine.admitted(admission, requestID: id, responseTimeout: .seconds(5), now: now); apply(machine.takeActions(), "admitted \(admission)")
    }

    mutating func answerPool() {
        guard holdsUpstream, !upstreamConnected else { return }
        if random.next(upTo: 4) == 0 {
            // The pool gave up (its ticket is spent); the machine's release of it finds nothing to give back.
            machine.upstreamFailed(.connectFailed, target: "t", now: now); apply(machine.takeActions(), "pool failed")
        } else {
            upstreamConnected = true
            upstreamWritable = true
            machine.connected(target: "t", writable: true, now: now); apply(machine.takeActions(), "connected")
        }
    }

    mutating func upstreamSends() {
        guard upstreamConnected, upstreamHeadWritten else { return }
        switch upstreamResponse {
        case nil:
            upstreamResponse = 0
            machine.upstreamResponseHead(HTTPResponseHead(version: .http1_1, status: .ok), reusable: true, now: now); apply(machine.takeActions(), "upstream head")
        case 0?:
            switch random.next(upTo: 3) {
            case 0:
                machine.upstreamResponseBody(ByteBuffer(string: "x"), now: now); apply(machine.takeActions(), "upstream body")
            case 1:
                machine.upstreamReadComplete(); apply(machine.takeActions(), "upstream read complete")
                if unflushed, !closed, writeResponseHeadCount > 0 {
                    violations.append("response bytes left unflushed after the upstream's read ended")
                }
            default:
                upstreamResponse = 1
                machine.upstreamResponseEnd(now: now); apply(machine.takeActions(), "upstream end")
            }
        default:
            break
        }
    }

    private func describe(_ part: HTTPServerRequestPart) -> String {
        switch part {
        case .head(let head): return "head \(head.method) \(head.headers.first(name: "connection") ?? "")"
        case .body(let buffer): return "body \(buffer.readableBytes)"
        case .end: return "end"
        }
    }

    mutating func apply(_ actions: [Action], _ event: String) {
        history.append("\(event) -> \(actions.map { String(describing: $0).prefix(60) })")
        for action in actions {
            check(action)
        }
        if machine.phase == .idle, machine.exchange != nil {
            violations.append("an idle machine still holds its last request (head, token, identity headers)")
        }
    }

    mutating func check(_ action: Action) {
        switch action {
        case .admit(let head, let id, let mayRefetch):
            if id == nil { startedExchanges += 1 }
            pendingAdmission = (head, id, mayRefetch)
        case .acquireConnection:
            if holdsUpstream { violations.append("asked for a second connection while holding one") }
            holdsUpstream = true
            upstreamConnected = false
            upstreamHeadWritten = false
            upstreamEndWritten = false
            upstreamResponse = nil
        case .releaseConnection:
            if !holdsUpstream { violations.append("gave back a connection it does not hold") }
            holdsUpstream = false
            upstreamConnected = false
        case .writeUpstream(let part):
            if !upstreamConnected { violations.append("wrote upstream without a connection") }
            if upstreamEndWritten { violations.append("wrote upstream after the request's end") }
            switch part {
            case .head: upstreamHeadWritten = true
            case .body: if !upstreamHeadWritten { violations.append("body before head upstream") }
            case .end: upstreamEndWritten = true
            }
        case .writeResponseHead:
            if closed { violations.append("wrote to a closed client") }
            unflushed = true
            writeResponseHeadCount += 1
            if writeResponseHeadCount > 1 { violations.append("two response heads for one request") }
        case .writeResponseBody:
            if closed { violations.append("wrote to a closed client") }
            if writeResponseHeadCount == 0 { violations.append("response body before its head") }
            unflushed = true
        case .flushResponse:
            if closed { violations.append("flushed a closed client") }
            if writeResponseHeadCount == 0 { violations.append("flushed a response that has not started or has ended") }
            unflushed = false
        case .writeResponseEnd(let close):
            if closed { violations.append("wrote to a closed client") }
            unflushed = false
            if writeResponseHeadCount == 0 { violations.append("response end before its head") }
            writeResponseHeadCount = 0
            responseEnded = true
            if close {
                // The handler closes the channel once the end is written: the machine hears it is gone.
                closed = true
                machine.clientClosed(now: now); apply(machine.takeActions(), "closed after the response")
            }
        case .close:
            if !closed { closed = true; machine.clientClosed(now: now); apply(machine.takeActions(), "closed by the gateway") }
        case .report:
            reports += 1
            if reports > startedExchanges { violations.append("reported more exchanges than began") }
        case .read:
            if let exchange = machine.exchange, machine.phase == .proxying, exchange.connected, exchange.headSent,
                !exchange.finished, !exchange.buffering, !upstreamWritable
            {
                violations.append("a read went through while the upstream takes no body")
            }
        case .armClock(let clock, _):
            armed.insert(clock)
        case .disarmClock(let clock):
            armed.remove(clock)
        case .headReceived, .writeContinue, .flushUpstream, .closeUpstream, .resumeUpstreamReading:
            break
        }
    }
}

extension ExchangeStateMachine {
    /// Hands the machine one event and returns the actions it decided, as the handler would take them.
    mutating func step(_ event: (inout ExchangeStateMachine) -> Void) -> [Action] {
        event(&self)
        return takeActions()
    }
}
