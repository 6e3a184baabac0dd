import Foundation
import JOSE
import Testing
import GatewayPolicy
import GatewayConfig

/// The oracle of the attack catalogue ("Oracle set-up") for one family of attack cases: one gateway per suite (TLS,
/// the attack policy, a recording upstream), a canary listener no request may ever reach, and the checks
/// every case makes: the status, the relevant response headers, the connection's fate, what the upstream
/// received, and that the canary saw nothing.
///
/// A suite gets one with the ``SharedAttackGateway`` trait and runs its cases `.serialized`, so that each
/// case reads only the upstream events after its own ``begin()`` mark.
final class AttackGateway: Sendable {
    @TaskLocal static var current: AttackGateway?

    let gateway: GatewayHarness
    let canary: Canary

    init(gateway: GatewayHarness, canary: Canary) {
        self.gateway = gateway
        self.canary = canary
    }

    /// The gateway of the running suite.
    static func shared(sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> AttackGateway {
        try #require(current, "the suite needs the .attackGateway trait", sourceLocation: sourceLocation)
    }

    var upstream: RecordingUpstream { gateway.upstream }

    /// Where a case starts: what the upstream, the canary and the access log held before it.
    struct Marks {
        let upstream: Int
        let canary: Int
        let records: Int
    }

    /// Resets the view of the upstream, canary and access log for a new case.
    func begin() -> Marks {
        Marks(upstream: upstream.mark(), canary: canary.listener.mark(), records: gateway.observer.records.count)
    }

    /// Opens a raw TLS connection to the gateway (HTTP/1.1 by ALPN).
    func connect() async throws -> RawTLSConnection {
        try await RawTLSConnection.open(gateway)
    }

    /// One connection, `bytes` sent as they are, and the first response (or `nil` if none came).
    func exchange(_ bytes: [UInt8], timeout: Double = 10) async throws -> (RawTLSConnection, RawHTTPResponse?) {
        let connection = try await connect()
        try await connection.send(bytes)
        return (connection, await connection.response(timeout: timeout))
    }

    // MARK: Requests

    /// A GET request head with CRLF line ends; `headers` are `Name: value` lines sent as given.
    static func get(_ target: String, host: String? = "localhost", headers: [String] = []) -> String {
        request("GET", target, host: host, headers: headers)
    }

    static func request(
        _ method: String, _ target: String, version: String = "HTTP/1.1", host: String? = "localhost",
        headers: [String] = [], body: String = ""
    ) -> String {
        var lines = ["\(method) \(target) \(version)"]
        if let host { lines.append("Host: \(host)") }
        lines += headers
        return lines.joined(separator: "\r\n") + "\r\n\r\n" + body
    }

    // MARK: The oracle

    /// The exact `WWW-Authenticate` values of docs/POLICY.md "Decisions", for the test realm.
    enum Challenge: Sendable, Equatable {
        /// 401 without a token.
        case missing
        /// 401 for a rejected token (or an unencodable claim).
        case invalidToken
        /// 400 for two tokens or a malformed credential.
        case invalidRequest
        /// 403; the scopes the route names, if any.
        case insufficientScope(String?)

        var headerValue: String {
            switch self {
            case .missing: return #"Bearer realm="auth-gateway""#
            case .invalidToken: return #"Bearer realm="auth-gateway", error="invalid_token""#
            case .invalidRequest: return #"Bearer realm="auth-gateway", error="invalid_request""#
            case .insufficientScope(let scope?): return #"Bearer realm="auth-gateway", error="insufficient_scope", scope="\#(scope)""#
            case .insufficientScope(nil): return #"Bearer realm="auth-gateway", error="insufficient_scope""#
            }
        }
    }

    /// Checks a response the gateway gave itself: the status, `WWW-Authenticate` exactly (absent unless
    /// `challenge`), `Connection: close` exactly when `closes`, a problem document that never echoes a token.
    func expectAnswer(
        _ response: RawHTTPResponse?, status: Int, challenge: Challenge? = nil, closes: Bool, code: String? = nil,
        sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) {
        guard let response else {
            Issue.record("no response; expected \(status)", sourceLocation: sourceLocation)
            return
        }
        #expect(response.status == status, "\(response)", sourceLocation: sourceLocation)
        #expect(
            response.values("WWW-Authenticate") == (challenge.map { [$0.headerValue] } ?? []), "\(response)",
            sourceLocation: sourceLocation)
        #expect(response.saysClose == closes, "Connection: close expected \(closes): \(response)", sourceLocation: sourceLocation)
        if status >= 400 {
            #expect(response.header("Content-Type") == "application/problem+json", "\(response)", sourceLocation: sourceLocation)
            #expect(!response.bodyText.contains("eyJ"), "a problem document echoed a token", sourceLocation: sourceLocation)
            if let code {
                #expect(response.json?["code"] as? String == code, "\(response)", sourceLocation: sourceLocation)
            }
        }
    }

    /// The connection's fate after the answer: closed by the server (bounded wait), or still serving — a
    /// probe request on the same connection is answered (404 from the gateway itself, nothing upstream).
    func expectFate(
        _ connection: RawTLSConnection, closes: Bool, answered: Int = 1, sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) async {
        if closes {
            let closed = await connection.waitForClose(timeout: 5)
            #expect(closed, "the gateway kept the connection open", sourceLocation: sourceLocation)
            #expect(connection.responses.count == answered, "extra bytes after the answer: \(connection.receivedText.suffix(400))",
                    sourceLocation: sourceLocation)
        } else {
            #expect(!connection.isClosed, "the gateway closed the connection", sourceLocation: sourceLocation)
            try? await connection.send(Self.get("/probe/keep-alive"))
            let responses = await connection.responses(answered + 1, timeout: 5)
            #expect(responses.count == answered + 1, "the probe on the same connection got no answer: \(connection.receivedText.suffix(400))",
                    sourceLocation: sourceLocation)
            if responses.count == answered + 1 {
                #expect(responses[answered].status == 404, "probe: \(responses[answered])", sourceLocation: sourceLocation)
            }
        }
        connection.close()
    }

    /// Nothing reached the upstream since `marks` (no connection, no request), and the canary saw nothing.
    func expectUntouched(since marks: Marks, sourceLocation: Testing.SourceLocation = #_sourceLocation) async {
        let events = await upstream.settledEvents(since: marks.upstream, settle: 0.15)
        #expect(events.isEmpty, "the upstream saw: \(events.map { $0.event + " " + ($0.requestLine ?? $0.reason ?? "") })",
                sourceLocation: sourceLocation)
        await expectCanaryUntouched(since: marks, sourceLocation: sourceLocation)
    }

    /// Exactly `count` requests reached the upstream since `marks`, and nothing incomplete; the canary saw
    /// nothing.
    func forwarded(
        _ count: Int, since marks: Marks, sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) async -> [UpstreamEvent] {
        _ = await upstream.waitForRequests(count, since: marks.upstream, timeout: 5)
        let events = await upstream.settledEvents(since: marks.upstream, settle: 0.15)
        let requests = events.filter(\.isRequest)
        #expect(requests.count == count, "the upstream received \(requests.map { $0.requestLine ?? "" })",
                sourceLocation: sourceLocation)
        let incomplete = events.filter { $0.event == "incomplete" }
        #expect(incomplete.isEmpty, "the upstream saw broken framing: \(incomplete.map { $0.reason ?? "" })",
                sourceLocation: sourceLocation)
        await expectCanaryUntouched(since: marks, sourceLocation: sourceLocation)
        return requests
    }

    func expectCanaryUntouched(since marks: Marks, sourceLocation: Testing.SourceLocation = #_sourceLocation) async {
        let touches = canary.listener.events(since: marks.canary)
        #expect(touches.isEmpty, "the canary was contacted: \(touches.map { $0.data ?? $0.event })", sourceLocation: sourceLocation)
    }

    /// The sanitized request: the canonical target, one `Host`, the gateway's identity only (or none for a
    /// public route), no `Authorization`, forwarding headers from the connection, no trailer fields.
    func expectSanitized(
        _ request: UpstreamEvent, method: String = "GET", target: String, subject: String?,
        authorization: String? = nil, sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) {
        #expect(request.requestLine == "\(method) \(target) HTTP/1.1", sourceLocation: sourceLocation)
        #expect(request.values("Host").count == 1, "\(request.headers ?? [])", sourceLocation: sourceLocation)
        #expect(request.values("Authorization") == (authorization.map { [$0] } ?? []), sourceLocation: sourceLocation)
        #expect(request.values("X-User-Id") == (subject.map { [$0] } ?? []), "\(request.headers ?? [])", sourceLocation: sourceLocation)
        #expect(request.values("X-Forwarded-For") == ["127.0.0.1"], sourceLocation: sourceLocation)
        #expect(request.values("X-Forwarded-Proto") == ["https"], sourceLocation: sourceLocation)
        #expect(request.values("X-Request-Id").count == 1, sourceLocation: sourceLocation)
        // Trailers are never forwarded (RFC 9110 §6.5.1: a recipient must not merge them into the head, and an
        // upstream that did would take a client's trailer for a header the gateway vouched for).
        #expect((request.trailers ?? []).isEmpty, "trailers reached the upstream: \(request.trailers ?? [])",
                sourceLocation: sourceLocation)
        let folded = request.headerNames.map(Self.fold)
        for name in folded where name.hasPrefix("x-user-") || name.hasPrefix("x-token-") || name.hasPrefix("x-auth-request-") {
            #expect(folded.filter { $0 == name }.count == 1, "\(name) more than once: \(request.headers ?? [])",
                    sourceLocation: sourceLocation)
        }
    }

    /// A header name as the identity filter reads it: lower case, `_` and `.` as `-`.
    static func fold(_ name: String) -> String {
        name.lowercased().replacingOccurrences(of: "_", with: "-").replacingOccurrences(of: ".", with: "-")
    }

    // MARK: The victim

    /// A legitimate request on a new connection after an attack: it must be answered on its own, reach the
    /// upstream as exactly one request with its own identity, and nothing smuggled may ride along.
    func expectVictimServed(
        since marks: Marks, attackForwarded: Int = 0, avoidingConnections: Set<Int> = [],
        sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) async throws {
        let token = try gateway.token(sub: "victim")
        let connection = try await connect()
        defer { connection.close() }
        try await connection.send(Self.get("/api/data/victim", headers: [gateway.bearer(token)]))
        let responses = await connection.responses(1, timeout: 10)
        #expect(responses.map(\.status) == [200], "victim: \(connection.receivedText.prefix(400))", sourceLocation: sourceLocation)
        let requests = await forwarded(attackForwarded + 1, since: marks, sourceLocation: sourceLocation)
        let victims = requests.filter { $0.target == "/api/data/victim" }
        #expect(victims.count == 1, "\(requests.map { $0.requestLine ?? "" })", sourceLocation: sourceLocation)
        if let victim = victims.first {
            expectSanitized(victim, target: "/api/data/victim", subject: "victim", sourceLocation: sourceLocation)
            #expect(!avoidingConnections.contains(victim.conn), "the victim rode on an upstream connection that saw a broken request",
                    sourceLocation: sourceLocation)
            #expect(victim.bodyLength == 0, sourceLocation: sourceLocation)
        }
        if let echoed = responses.first?.json {
            #expect(echoed["request_line"] as? String == "GET /api/data/victim HTTP/1.1", sourceLocation: sourceLocation)
        }
    }
}

/// Starts one ``AttackGateway`` (harness + canary) around a whole suite and shuts it down afterwards; after
/// every test case of the suite, checks that no upstream connection is left in use (the availability
/// invariant of ``GatewayHarness/expectUpstreamConnectionsReturned(timeout:sourceLocation:)``), so that an
/// attack that leaks one fails where it happens.
struct SharedAttackGateway: SuiteTrait, TestTrait, TestScoping {
    let options: @Sendable () throws -> GatewayHarness.Options

    var isRecursive: Bool { true }

    func scopeProvider(for test: Test, testCase: Test.Case?) -> Self? {
        test.isSuite || testCase != nil ? self : nil
    }

    func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        guard test.isSuite else {
            try await function()
            if let current = AttackGateway.current {
                await current.gateway.expectUpstreamConnectionsReturned(sourceLocation: test.sourceLocation)
            }
            return
        }
        // Nested suites inherit the trait: only the outermost one starts a gateway.
        if AttackGateway.current != nil {
            try await function()
            return
        }
        try await GatewayHarness.with(try options()) { harness in
            let canary = try await Canary.start(in: harness.directory)
            do {
                try await AttackGateway.$current.withValue(AttackGateway(gateway: harness, canary: canary)) {
                    try await function()
                }
            } catch {
                await canary.stop()
                throw error
            }
            await canary.stop()
        }
    }
}

extension Trait where Self == SharedAttackGateway {
    /// One gateway for the suite's cases, started with `options`.
    static func attackGateway(_ options: @escaping @Sendable () throws -> GatewayHarness.Options = { attackOptions() })
        -> Self
    {
        SharedAttackGateway(options: options)
    }
}

/// Where a case comes from: the attack catalogue, or our own reading of an RFC or an advisory (named).
enum AttackOrigin: Sendable, Equatable {
    case attacksMD
    case own(String)
}

/// The attack policy: the standard test routes (`/api/data/**` needs `read:data`, `/admin/**` the `admin`
/// role, `/upload/**` `write:data`, `/public/**` nothing) plus a route that forwards `Authorization`, a public
/// route in allowlist mode (`forward_headers`), and a protected `PUT` beside the `GET` of `/api/data/**`.
let attackPolicy = standardPolicy + """

      - name: forwarding
        match: { methods: [GET], path: /forwarding/** }
        upstream: svc
        forward_authorization: true
        require:
          scopes: { all: ["read:data"] }
      - name: allowlisted
        match: { methods: [GET, POST], path: /allowlisted/** }
        upstream: svc
        auth: public
        forward_headers: [Accept, Content-Type, X-Custom]
      - name: writer
        match: { methods: [PUT], path: /api/data/** }
        upstream: svc
        require:
          scopes: { all: ["write:data"] }
    """

/// Harness options for attack suites: the attack policy, small limits so the limit cases run fast.
func attackOptions(_ configure: @escaping @Sendable (inout GatewayConfiguration) -> Void = { _ in }) -> GatewayHarness.Options {
    var options = GatewayHarness.Options()
    options.policy = attackPolicy
    options.configure = { configuration in
        configuration.limits.maxBodyBytes = 64 * 1024
        // Bodies beyond 1 KiB are streamed upstream as they arrive, so that the framing cases exercise the
        // streaming path (a smaller body is read whole before the upstream sees any of it).
        configuration.limits.bodyBufferBytes = 1024
        configure(&configuration)
    }
    return options
}
