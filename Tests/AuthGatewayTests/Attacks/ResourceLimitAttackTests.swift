import Foundation
import JOSE
import Testing

/// the attack catalogue "Resource limits", with small configured limits so that every case is bounded in time and
/// count: heads, URIs and bodies over their limits; slow heads and bodies closed by their own timers while
/// another client is served; the connection cap; and a flood of invalid RS256 tokens that does not starve a
/// legitimate client. Timing bounds only prove which timer fired (every other timer is far longer).
@Suite("Attacks: resource limits", .serialized, .attackGateway({ resourceLimitOptions() }))
struct ResourceLimitAttackTests {
    static let maxHeaderBytes = 8 * 1024
    static let maxHeaderCount = 50
    static let maxURIBytes = 2 * 1024
    static let maxBodyBytes = 64 * 1024
    /// Header-read and body-read timeouts; the idle timeout is 10 s, so a close within 6 s is theirs.
    static let shortTimeout = 1.0
    static let idleTimeout = 10.0
    static let maxConnections = 16

    typealias Challenge = AttackGateway.Challenge

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let origin: AttackOrigin
        let bytes: @Sendable (String) -> String
        let status: Int
        var challenge: Challenge?
        var closes = true
        /// Allowed requests that reach the upstream: the body length it must receive.
        var forwardedBodyLength: Int?
        var testDescription: String { name }
    }

    static func headers(_ count: Int, size: Int = 8) -> [String] {
        (0..<count).map { "X-Pad-\($0): " + String(repeating: "p", count: size) }
    }

    static let sizeCases: [Case] = [
        Case(name: "one header of 100 KiB → 431", origin: .attacksMD, bytes: { _ in
            AttackGateway.get("/public/big", headers: ["X-Big: " + String(repeating: "b", count: 100 * 1024)])
        }, status: 431),
        Case(name: "10,000 small headers → 431", origin: .attacksMD, bytes: { _ in
            AttackGateway.get("/public/many", headers: headers(10_000, size: 1))
        }, status: 431),
        Case(name: "declared 10 GiB body without a token → 401, body never read", origin: .attacksMD, bytes: { _ in
            AttackGateway.request("POST", "/upload/huge", headers: ["Content-Length: 10737418240"], body: String(repeating: "x", count: 1000))
        }, status: 401, challenge: .missing),
        // Own cases: the boundaries of each limit, and the statuses RFC 9110 gives them.
        Case(name: "max_header_count fields exactly: served", origin: .own("RFC 6585 §5 (boundary)"), bytes: { _ in
            AttackGateway.get("/public/count", headers: headers(maxHeaderCount - 1))
        }, status: 200, closes: false, forwardedBodyLength: 0),
        Case(name: "max_header_count + 1 fields → 431", origin: .own("RFC 6585 §5"), bytes: { _ in
            AttackGateway.get("/public/count", headers: headers(maxHeaderCount))
        }, status: 431),
        Case(name: "head just over max_header_bytes → 431", origin: .own("RFC 6585 §5"), bytes: { _ in
            AttackGateway.get("/public/bytes", headers: ["X-Big: " + String(repeating: "b", count: maxHeaderBytes)])
        }, status: 431),
        Case(name: "URI over max_uri_bytes → 414", origin: .own("RFC 9110 §15.5.15"), bytes: { _ in
            AttackGateway.get("/public/" + String(repeating: "u", count: maxURIBytes + 1))
        }, status: 414),
        Case(name: "URI of 100 KiB → 414 once max_uri_bytes are read, not after the whole line", origin: .own("RFC 9112 §3 (request-line length)"), bytes: { _ in
            AttackGateway.get("/public/" + String(repeating: "u", count: 100 * 1024))
        }, status: 414),
        Case(name: "long query over max_uri_bytes → 414", origin: .own("RFC 9110 §15.5.15 (the query counts)"), bytes: { _ in
            AttackGateway.get("/public/q?" + String(repeating: "q=1&", count: maxURIBytes / 4 + 1))
        }, status: 414),
        Case(name: "declared body over max_body_bytes with a token → 413", origin: .own("RFC 9110 §15.5.14"), bytes: { token in
            AttackGateway.request("POST", "/upload/big", headers: ["Authorization: Bearer \(token)", "Content-Length: \(maxBodyBytes + 1)"])
        }, status: 413),
        Case(name: "declared 10 GiB body with a token → 413, body never read", origin: .own("RFC 9110 §15.5.14"), bytes: { token in
            AttackGateway.request("POST", "/upload/huge", headers: ["Authorization: Bearer \(token)", "Content-Length: 10737418240"], body: "xxxx")
        }, status: 413),
        Case(name: "body of exactly max_body_bytes: forwarded whole", origin: .own("RFC 9110 §8.6 (boundary)"), bytes: { token in
            AttackGateway.request("POST", "/upload/exact", headers: ["Authorization: Bearer \(token)", "Content-Length: \(maxBodyBytes)"],
                                  body: String(repeating: "e", count: maxBodyBytes))
        }, status: 200, closes: false, forwardedBodyLength: maxBodyBytes),
        Case(name: "declared 10 GiB body to no route → 404 and close, body never read", origin: .own("RFC 9110 §15.5.14, docs/ARCHITECTURE.md"), bytes: { _ in
            AttackGateway.request("POST", "/nowhere/huge", headers: ["Content-Length: 10737418240"], body: "xxxx")
        }, status: 404),
        Case(name: "declared 10 GiB body to a GET-only public path → 405 and close, body never read",
             origin: .own("RFC 9110 §15.5.6, §15.5.14"), bytes: { _ in
            AttackGateway.request("POST", "/public/huge", headers: ["Content-Length: 10737418240"], body: "xxxx")
        }, status: 405),
    ]

    @Test("size limit", arguments: sizeCases)
    func size(_ attack: Case) async throws {
        let shared = try AttackGateway.shared()
        let marks = shared.begin()
        let token = try TokenForge(gateway: shared.gateway).signed(claims: ["scope": "read:data write:data"])
        let (connection, response) = try await shared.exchange(Array(attack.bytes(token).utf8))
        if let length = attack.forwardedBodyLength {
            #expect(response?.status == attack.status, "\(String(describing: response))")
            let requests = await shared.forwarded(1, since: marks)
            #expect(requests.first?.bodyLength == length)
        } else {
            shared.expectAnswer(response, status: attack.status, challenge: attack.challenge, closes: attack.closes)
            await shared.expectUntouched(since: marks)
        }
        await shared.expectFate(connection, closes: attack.closes)
    }

    @Test("a chunked body that grows over max_body_bytes → 413 and close; nothing complete upstream")
    func chunkedBodyTooLarge() async throws {
        let shared = try AttackGateway.shared()
        let marks = shared.begin()
        let token = try TokenForge(gateway: shared.gateway).signed(claims: ["scope": "write:data"])
        let connection = try await shared.connect()
        try await connection.send(AttackGateway.request(
            "POST", "/upload/chunks", headers: ["Authorization: Bearer \(token)", "Transfer-Encoding: chunked"]))
        let chunk = "4000\r\n" + String(repeating: "c", count: 0x4000) + "\r\n"
        for _ in 0..<(Self.maxBodyBytes / 0x4000 + 2) where !connection.isClosed {
            try? await connection.send(chunk)
        }
        let response = await connection.response(timeout: 10)
        shared.expectAnswer(response, status: 413, closes: true, code: "body_too_large")
        await shared.expectFate(connection, closes: true)
        let events = await shared.upstream.settledEvents(since: marks.upstream, settle: 0.2)
        #expect(events.filter(\.isRequest).isEmpty, "an over-long body completed upstream")
        await shared.expectCanaryUntouched(since: marks)
    }

    // MARK: Slow clients

    @Test("slow head (one byte every 0.3 s): closed by header_read_timeout while another client is served")
    func slowHead() async throws {
        let shared = try AttackGateway.shared()
        let marks = shared.begin()
        let slow = try await shared.connect()
        let head = Array(AttackGateway.get("/public/slow", headers: ["X-Slow: " + String(repeating: "s", count: 100)]).utf8)
        let started = Date()
        let trickle = Task { await slow.trickle(head, interval: 0.3, deadline: 30) }
        try await expectServed(shared, while: { !slow.isClosed })
        let sent = await trickle.value
        let elapsed = Date().timeIntervalSince(started)
        #expect(slow.isClosed, "the slow head was never cut")
        #expect(sent < head.count, "the whole head went through")
        // Far below the 10 s idle timeout: only the 1 s head timeout can have closed it.
        #expect(elapsed < 6, "closed after \(elapsed) s")
        #expect(slow.received.isEmpty, "a half-sent head got an answer: \(slow.receivedText.prefix(200))")
        let requests = await shared.upstream.settledEvents(since: marks.upstream).filter(\.isRequest)
        #expect(!requests.isEmpty && requests.allSatisfy { $0.target == "/api/data/legit" }, "\(requests.map(\.target))")
        await shared.expectCanaryUntouched(since: marks)
    }

    @Test("slow body (stops after 10 of 100 bytes): 408 and close by body_read_timeout while another client is served")
    func slowBody() async throws {
        let shared = try AttackGateway.shared()
        let marks = shared.begin()
        let token = try TokenForge(gateway: shared.gateway).signed(claims: ["scope": "write:data"])
        let slow = try await shared.connect()
        let started = Date()
        try await slow.send(AttackGateway.request(
            "POST", "/upload/slow", headers: ["Authorization: Bearer \(token)", "Content-Length: 100"], body: "0123456789"))
        try await expectServed(shared, while: { !slow.isClosed })
        let response = await slow.response(timeout: 10)
        let elapsed = Date().timeIntervalSince(started)
        shared.expectAnswer(response, status: 408, closes: true, code: "body_timeout")
        await shared.expectFate(slow, closes: true)
        #expect(elapsed < 6, "answered after \(elapsed) s; only the 1 s body timeout fires before the 10 s idle timeout")
        let requests = await shared.upstream.settledEvents(since: marks.upstream).filter(\.isRequest)
        #expect(!requests.isEmpty && requests.allSatisfy { $0.target == "/api/data/legit" }, "the stalled upload completed upstream: \(requests.map(\.target))")
        await shared.expectCanaryUntouched(since: marks)
    }

    /// Sends legitimate requests, each on a new connection, while `condition` holds (at least one, at most
    /// 20), and expects every one of them answered 200 with its own identity.
    private func expectServed(_ shared: AttackGateway, while condition: @Sendable () -> Bool) async throws {
        let token = try shared.gateway.token(sub: "legit")
        var statuses: [Int] = []
        repeat {
            let (connection, response) = try await shared.exchange(Array(AttackGateway.get("/api/data/legit", headers: [shared.gateway.bearer(token)]).utf8))
            connection.close()
            statuses.append(response?.status ?? 0)
            if let echo = response?.json?["headers"] as? [[String]] {
                #expect(echo.filter { $0.first?.lowercased() == "x-user-id" }.map { $0[1] } == ["legit"])
            }
            try await Task.sleep(nanoseconds: 100_000_000)
        } while condition() && statuses.count < 20
        #expect(statuses.allSatisfy { $0 == 200 }, "legitimate client: \(statuses)")
    }

    @Test("an idle keep-alive connection is closed by idle_timeout, not by the 1 s head or body timers")
    func idleConnection() async throws {
        let shared = try AttackGateway.shared()
        let marks = shared.begin()
        let (connection, response) = try await shared.exchange(Array(AttackGateway.get("/probe/idle").utf8))
        #expect(response?.status == 404)
        let started = Date()
        let closed = await connection.waitForClose(timeout: Self.idleTimeout + 5)
        let elapsed = Date().timeIntervalSince(started)
        #expect(closed, "an idle connection outlived idle_timeout")
        // Later than any 1 s timer could have fired: it was the idle timer.
        #expect(elapsed > Self.shortTimeout * 3, "closed after \(elapsed) s")
        await shared.expectUntouched(since: marks)
    }

    // MARK: Connections

    @Test("idle connections up to max_connections: the next is refused; service resumes when they close")
    func connectionCap() async throws {
        let shared = try AttackGateway.shared()
        let marks = shared.begin()
        let server = shared.gateway.server
        // Start from an empty gateway: earlier cases' connections finish closing (bounded).
        let deadline = Date().addingTimeInterval(5)
        while server.openConnections > 0, Date() < deadline { try await Task.sleep(nanoseconds: 20_000_000) }
        try #require(server.openConnections == 0)

        var idle: [RawTLSConnection] = []
        defer { idle.forEach { $0.close() } }
        for _ in 0..<Self.maxConnections {
            idle.append(try await shared.connect())
        }
        #expect(server.openConnections == Self.maxConnections)
        // One more: accepted by the kernel, closed by the gateway before any TLS.
        let refused = try await RawTLSConnection.open(shared.gateway, waitForHandshake: false)
        #expect(await refused.waitForClose(timeout: 5), "a connection over the cap was kept")
        #expect(!refused.handshakeCompleted)
        // The idle ones still serve.
        try await idle[0].send(AttackGateway.get("/probe/cap"))
        #expect(await idle[0].response(timeout: 5)?.status == 404)

        for connection in idle { connection.close() }
        let drained = Date().addingTimeInterval(5)
        while server.openConnections > 0, Date() < drained { try await Task.sleep(nanoseconds: 20_000_000) }
        let (after, response) = try await shared.exchange(Array(AttackGateway.get("/public/after-cap").utf8))
        after.close()
        #expect(response?.status == 200, "service did not resume")
        #expect(await shared.forwarded(1, since: marks).map(\.target) == ["/public/after-cap"])
    }

    // MARK: Token flood

    @Test("400 RS256 tokens with random signatures on 4 connections while a legitimate client keeps being served")
    func invalidTokenFlood() async throws {
        let shared = try AttackGateway.shared()
        let marks = shared.begin()
        let forge = TokenForge(gateway: shared.gateway)
        let perConnection = 100
        let attackers = 4
        // Valid header and claims, random 256-byte signatures: each one costs the gateway an RSA verification.
        var batches: [String] = []
        for _ in 0..<attackers {
            var batch = ""
            for index in 0..<perConnection {
                let unsigned = try forge.signed(sub: "flood-\(index)").split(separator: ".").prefix(2).joined(separator: ".")
                let signature = Base64URL.encode((0..<256).map { _ in UInt8.random(in: 0...255) })
                batch += AttackGateway.get("/api/data/flood", headers: ["Authorization: Bearer \(unsigned).\(signature)"])
            }
            batches.append(batch)
        }
        let flood = try await withThrowingTaskGroup(of: [Int].self) { group in
            for batch in batches {
                group.addTask {
                    let connection = try await RawTLSConnection.open(shared.gateway)
                    defer { connection.close() }
                    try await connection.send(batch)
                    return await connection.responses(perConnection, timeout: 60).map(\.status)
                }
            }
            // The legitimate client, meanwhile: 20 requests on its own keep-alive connection.
            let token = try shared.gateway.token(sub: "legit")
            let legit = try await shared.connect()
            defer { legit.close() }
            var legitStatuses: [Int] = []
            for index in 0..<20 {
                try await legit.send(AttackGateway.get("/api/data/legit-\(index)", headers: [shared.gateway.bearer(token)]))
                let responses = await legit.responses(index + 1, timeout: 30)
                legitStatuses.append(responses.count > index ? responses[index].status : 0)
            }
            #expect(legitStatuses == Array(repeating: 200, count: 20), "legitimate client: \(legitStatuses)")
            var statuses: [Int] = []
            for try await batch in group { statuses += batch }
            return statuses
        }
        #expect(flood.count == attackers * perConnection, "flood answered \(flood.count) of \(attackers * perConnection)")
        #expect(flood.allSatisfy { $0 == 401 }, "flood statuses: \(Set(flood))")
        let requests = await shared.upstream.waitForRequests(20, since: marks.upstream, timeout: 10)
        #expect(requests.count == 20)
        #expect(requests.allSatisfy { $0.values("X-User-Id") == ["legit"] }, "a flood request reached the upstream")
        await shared.expectCanaryUntouched(since: marks)
    }
}

/// Small limits so that every limit case runs in about a second.
func resourceLimitOptions() -> GatewayHarness.Options {
    attackOptions { configuration in
        configuration.limits.maxHeaderBytes = ResourceLimitAttackTests.maxHeaderBytes
        configuration.limits.maxHeaderCount = ResourceLimitAttackTests.maxHeaderCount
        configuration.limits.maxURIBytes = ResourceLimitAttackTests.maxURIBytes
        configuration.limits.maxBodyBytes = ResourceLimitAttackTests.maxBodyBytes
        configuration.limits.headerReadTimeout = .seconds(ResourceLimitAttackTests.shortTimeout)
        configuration.limits.bodyReadTimeout = .seconds(ResourceLimitAttackTests.shortTimeout)
        configuration.limits.idleTimeout = .seconds(ResourceLimitAttackTests.idleTimeout)
        configuration.limits.maxConnections = ResourceLimitAttackTests.maxConnections
    }
}
