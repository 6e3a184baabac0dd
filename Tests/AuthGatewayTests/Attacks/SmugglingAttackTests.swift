import Foundation
import JOSE
import Testing

/// the attack catalogue "Framing and smuggling (HTTP/1.1)": exact bytes over TLS, often pipelined, from a client
/// whose token is valid (so that only framing can stop it), then a **victim request on another connection**
/// whose answer and identity must be untouched. The upstream receives what the gateway re-serialized and
/// nothing else: never a smuggled request, never a request whose framing the gateway doubted.
@Suite("Attacks: framing and smuggling (HTTP/1.1)", .serialized, .attackGateway())
struct SmugglingAttackTests {
    /// A request the upstream must receive from the attack connection: method, target and body length.
    struct Forwarded: Sendable, Equatable {
        let method: String
        let target: String
        var bodyLength = 0
        var chunked: Bool?
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let origin: AttackOrigin
        /// The attack's bytes; `$0` is mallory's token (scopes `read:data write:data`).
        let bytes: @Sendable (String) -> String
        /// The statuses answered on the attack connection, in order.
        let statuses: [Int]
        let closes: Bool
        var forwarded: [Forwarded] = []
        /// A body framing error found after the head went upstream: the upstream may have seen the start of
        /// that request, on a connection that is then closed and never reused.
        var abortedUpstream = false

        var testDescription: String { name }

        /// A request the gateway must refuse (400 unless said otherwise) before anything goes upstream.
        static func refused(_ name: String, _ origin: AttackOrigin = .attacksMD, status: Int = 400, _ bytes: @escaping @Sendable (String) -> String) -> Case {
            Case(name: name, origin: origin, bytes: bytes, statuses: [status], closes: true)
        }
    }

    static let smuggled = "GET /admin/x HTTP/1.1\r\nHost: localhost\r\nX-User-Id: admin\r\n\r\n"

    static func upload(_ token: String, _ framing: [String], _ body: String, version: String = "HTTP/1.1") -> String {
        "POST /upload/x \(version)\r\nHost: localhost\r\nAuthorization: Bearer \(token)\r\n" + framing.map { $0 + "\r\n" }.joined() + "\r\n" + body
    }

    static let fromAttacksMD: [Case] = [
        .refused("Content-Length and Transfer-Encoding together (CL.TE)") { token in
            upload(token, ["Content-Length: 6", "Transfer-Encoding: chunked"], "0\r\n\r\n" + smuggled)
        },
        .refused("Transfer-Encoding and Content-Length together (TE.CL)") { token in
            upload(token, ["Transfer-Encoding: chunked", "Content-Length: 4"], "5c\r\n" + smuggled + "\r\n0\r\n\r\n")
        },
        .refused("two Content-Length lines, 5 and 6") { token in upload(token, ["Content-Length: 5", "Content-Length: 6"], "hello!" + smuggled) },
        .refused("Content-Length: 5, 6") { token in upload(token, ["Content-Length: 5, 6"], "hello!" + smuggled) },
        .refused("Content-Length: +5") { token in upload(token, ["Content-Length: +5"], "hello" + smuggled) },
        .refused("Content-Length: -1") { token in upload(token, ["Content-Length: -1"], smuggled) },
        .refused("Content-Length: (empty)") { token in upload(token, ["Content-Length: "], smuggled) },
        .refused("Content-Length of 20 digits") { token in upload(token, ["Content-Length: 00000000000000000005"], "hello" + smuggled) },
        .refused("Transfer-Encoding: xchunked", status: 501) { token in upload(token, ["Transfer-Encoding: xchunked"], "0\r\n\r\n" + smuggled) },
        .refused("Transfer-Encoding: chunked, chunked") { token in upload(token, ["Transfer-Encoding: chunked, chunked"], "0\r\n\r\n" + smuggled) },
        .refused("Transfer-Encoding: gzip", status: 501) { token in upload(token, ["Transfer-Encoding: gzip"], "0\r\n\r\n" + smuggled) },
        // RFC 9112 §6.3: chunked not last leaves the body's end unknown (400); §6.1: a coding not decoded is 501.
        .refused("Transfer-Encoding: chunked, gzip") { token in upload(token, ["Transfer-Encoding: chunked, gzip"], "0\r\n\r\n" + smuggled) },
        .refused("Transfer-Encoding: gzip, chunked", status: 501) { token in upload(token, ["Transfer-Encoding: gzip, chunked"], "0\r\n\r\n" + smuggled) },
        .refused("Transfer-Encoding: chunked with an empty list element") { token in upload(token, ["Transfer-Encoding: chunked,"], "0\r\n\r\n" + smuggled) },
        .refused("Transfer-Encoding with whitespace before the colon") { token in upload(token, ["Transfer-Encoding : chunked"], "0\r\n\r\n" + smuggled) },
        Case(name: "bad chunk size: zz", origin: .attacksMD, bytes: { token in
            upload(token, ["Transfer-Encoding: chunked"], "zz\r\nhello\r\n0\r\n\r\n" + smuggled)
        }, statuses: [400], closes: true, abortedUpstream: true),
        Case(name: "bad chunk size: -5", origin: .attacksMD, bytes: { token in
            upload(token, ["Transfer-Encoding: chunked"], "-5\r\nhello\r\n0\r\n\r\n" + smuggled)
        }, statuses: [400], closes: true, abortedUpstream: true),
        .refused("missing Host") { token in "GET /api/data/x HTTP/1.1\r\nAuthorization: Bearer \(token)\r\n\r\n" },
        .refused("two Host headers") { token in "GET /api/data/x HTTP/1.1\r\nHost: localhost\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\n\r\n" },
        .refused("Host with userinfo") { token in "GET /api/data/x HTTP/1.1\r\nHost: admin@localhost\r\nAuthorization: Bearer \(token)\r\n\r\n" },
        .refused("Host with a path") { token in "GET /api/data/x HTTP/1.1\r\nHost: localhost/admin\r\nAuthorization: Bearer \(token)\r\n\r\n" },
        // RFC 9112 §3 lets a recipient parse on whitespace; NIO's parser does. Safe here because the upstream
        // never sees the client's request line: it gets the gateway's, re-serialized with single spaces.
        Case(name: "request line with two spaces: normalized, never passed on", origin: .attacksMD, bytes: { token in
            "GET  /api/data/x HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \(token)\r\n\r\n"
        }, statuses: [200], closes: false, forwarded: [Forwarded(method: "GET", target: "/api/data/x")]),
        .refused("request line with tabs") { token in "GET\t/api/data/x\tHTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \(token)\r\n\r\n" },
        .refused("HTTP/0.9 request line", status: 505) { _ in "GET /public/x\r\n\r\n" },
        .refused("HTTP/1.2", status: 505) { token in "GET /api/data/x HTTP/1.2\r\nHost: localhost\r\nAuthorization: Bearer \(token)\r\n\r\n" },
        Case(name: "Upgrade: h2c is never honoured; upgrade headers stripped, then close", origin: .attacksMD, bytes: { token in
            "GET /api/data/x HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \(token)\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n"
        }, statuses: [200], closes: true, forwarded: [Forwarded(method: "GET", target: "/api/data/x")]),
        Case(name: "a body that is a request is a body: re-serialized, never spliced", origin: .attacksMD, bytes: { token in
            upload(token, ["Content-Length: \(smuggled.utf8.count)"], smuggled)
        }, statuses: [200], closes: false, forwarded: [Forwarded(method: "POST", target: "/upload/x", bodyLength: smuggled.utf8.count)]),
    ]

    static let own: [Case] = [
        // RFC 9112 §5.2: obs-fold must be rejected (400) or replaced by SP; never a new header line.
        .refused("obs-fold continuation line", .own("RFC 9112 §5.2")) { token in
            "GET /api/data/x HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \(token)\r\nX-Note: a\r\n X-User-Id: admin\r\n\r\n"
        },
        // RFC 9112 §2.2: obs-fold-like whitespace before the first header line.
        .refused("whitespace before the first header line", .own("RFC 9112 §2.2")) { token in
            "GET /api/data/x HTTP/1.1\r\n Host: localhost\r\nAuthorization: Bearer \(token)\r\n\r\n"
        },
        // RFC 9112 §2.2: a bare CR is invalid; some servers end a line at it (header injection).
        .refused("bare CR inside a header value", .own("RFC 9112 §2.2")) { token in
            "GET /api/data/x HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \(token)\r\nX-Note: a\rX-User-Id: admin\r\n\r\n"
        },
        .refused("bare CR as the line end", .own("RFC 9112 §2.2")) { token in
            "GET /api/data/x HTTP/1.1\rHost: localhost\rAuthorization: Bearer \(token)\r\r"
        },
        // RFC 9112 §2.2: a recipient MAY accept a bare LF as the line terminator; the gateway never does (a
        // parser behind it that does would read these lines differently): 400, and the connection closes.
        .refused("bare LF line ends", .own("RFC 9112 §2.2")) { token in
            "GET /api/data/lf HTTP/1.1\nHost: localhost\nAuthorization: Bearer \(token)\n\n"
        },
        // RFC 9110 §5.5: NUL is never allowed in a field value (CVE-2019-16869-class parsers differ).
        .refused("NUL in a header value", .own("RFC 9110 §5.5")) { token in
            "GET /api/data/x HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \(token)\r\nX-Note: a\u{0}b\r\n\r\n"
        },
        .refused("NUL in a header name", .own("RFC 9110 §5.1")) { token in
            "GET /api/data/x HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \(token)\r\nX-User\u{0}-Id: admin\r\n\r\n"
        },
        // RFC 9112 §5.1: no whitespace between the field name and the colon: MUST be 400.
        .refused("whitespace between Content-Length and the colon", .own("RFC 9112 §5.1, CVE-2019-16869 (Netty)")) { token in
            upload(token, ["Content-Length : 5"], "hello" + smuggled)
        },
        .refused("header line without a colon", .own("RFC 9112 §5")) { token in
            "GET /api/data/x HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \(token)\r\nX-User-Id admin\r\n\r\n"
        },
        .refused("empty header name", .own("RFC 9110 §5.1")) { token in
            "GET /api/data/x HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \(token)\r\n: admin\r\n\r\n"
        },
        // RFC 9112 §6.1: HTTP/1.0 with Transfer-Encoding: framing faulty, close after answering.
        .refused("Transfer-Encoding: chunked on HTTP/1.0", .own("RFC 9112 §6.1")) { token in
            upload(token, ["Transfer-Encoding: chunked"], "5\r\nhello\r\n0\r\n\r\n" + smuggled, version: "HTTP/1.0")
        },
        .refused("two Transfer-Encoding lines, chunked and identity", .own("RFC 9112 §6.1, CVE-2020-7238 (Netty)")) { token in
            upload(token, ["Transfer-Encoding: chunked", "Transfer-Encoding: identity"], "0\r\n\r\n" + smuggled)
        },
        .refused("Transfer-Encoding: identity", .own("RFC 9112 §6.1 (identity removed), CVE-2020-7238")) { token in
            upload(token, ["Transfer-Encoding: identity", "Content-Length: 5"], "hello" + smuggled)
        },
        Case(name: "Transfer-Encoding: Chunked (case-insensitive coding name)", origin: .own("RFC 9112 §7"), bytes: { token in
            upload(token, ["Transfer-Encoding: Chunked"], "5\r\nhello\r\n0\r\n\r\n")
        }, statuses: [200], closes: false, forwarded: [Forwarded(method: "POST", target: "/upload/x", bodyLength: 5, chunked: true)]),
        // RFC 9112 §7.1: chunk-size is 1*HEXDIG; no prefix, no sign, no overflow.
        Case(name: "chunk size with a 0x prefix", origin: .own("RFC 9112 §7.1, CVE-2023-44487-era parser differentials"), bytes: { token in
            upload(token, ["Transfer-Encoding: chunked"], "0x5\r\nhello\r\n0\r\n\r\n" + smuggled)
        }, statuses: [400], closes: true, abortedUpstream: true),
        Case(name: "chunk size with a + sign", origin: .own("RFC 9112 §7.1"), bytes: { token in
            upload(token, ["Transfer-Encoding: chunked"], "+5\r\nhello\r\n0\r\n\r\n" + smuggled)
        }, statuses: [400], closes: true, abortedUpstream: true),
        Case(name: "chunk size overflowing 64 bits", origin: .own("RFC 9112 §7.1, CVE-2015-3183 (Apache)"), bytes: { token in
            upload(token, ["Transfer-Encoding: chunked"], "10000000000000005\r\nhello\r\n0\r\n\r\n" + smuggled)
        }, statuses: [400], closes: true, abortedUpstream: true),
        Case(name: "chunk size ended by a bare LF", origin: .own("RFC 9112 §7.1, §2.2"), bytes: { token in
            upload(token, ["Transfer-Encoding: chunked"], "5\nhello\r\n0\r\n\r\n" + smuggled)
        }, statuses: [400], closes: true, abortedUpstream: true),
        Case(name: "chunk data longer than its size", origin: .own("RFC 9112 §7.1"), bytes: { token in
            upload(token, ["Transfer-Encoding: chunked"], "3\r\nhello\r\n0\r\n\r\n" + smuggled)
        }, statuses: [400], closes: true, abortedUpstream: true),
        // RFC 9112 §7.1.1: extensions are dropped on re-serialization; a quoted CRLF inside one is refused.
        Case(name: "chunk extensions are dropped", origin: .own("RFC 9112 §7.1.1"), bytes: { token in
            upload(token, ["Transfer-Encoding: chunked"], "5;name=value;q=\"x\"\r\nhello\r\n0;end=1\r\n\r\n")
        }, statuses: [200], closes: false, forwarded: [Forwarded(method: "POST", target: "/upload/x", bodyLength: 5, chunked: true)]),
        Case(name: "chunk extension with a quoted CRLF", origin: .own("RFC 9112 §7.1.1, CVE-2024-24549-class"), bytes: { token in
            upload(token, ["Transfer-Encoding: chunked"], "5;a=\"x\r\n0\r\n\r\n" + smuggled + "\"\r\nhello\r\n0\r\n\r\n")
        }, statuses: [400], closes: true, abortedUpstream: true),
        Case(name: "chunk extension of 1 MiB", origin: .own("RFC 9112 §7.1.1, issue 11 (5)"), bytes: { token in
            upload(token, ["Transfer-Encoding: chunked"], "5;ext=" + String(repeating: "x", count: 1 << 20) + "\r\nhello\r\n0\r\n\r\n" + smuggled)
        }, statuses: [400], closes: true, abortedUpstream: true),
        Case(name: "chunk extensions of almost 4 KiB are read and dropped", origin: .own("RFC 9112 §7.1.1 (the bound's edge)"), bytes: { token in
            upload(token, ["Transfer-Encoding: chunked"], "5;ext=" + String(repeating: "x", count: 4000) + "\r\nhello\r\n0\r\n\r\n")
        }, statuses: [200], closes: false, forwarded: [Forwarded(method: "POST", target: "/upload/x", bodyLength: 5, chunked: true)]),
        // RFC 9110 §6.5.1: trailers may not carry framing, routing or authentication fields; the gateway drops them.
        Case(name: "trailer fields with Authorization and X-User-Id are dropped", origin: .own("RFC 9110 §6.5.1, §6.5.2"), bytes: { token in
            upload(token, ["Transfer-Encoding: chunked", "Trailer: Authorization, X-User-Id"],
                   "5\r\nhello\r\n0\r\nAuthorization: Bearer forged\r\nX-User-Id: admin\r\n\r\n")
        }, statuses: [200], closes: false, forwarded: [Forwarded(method: "POST", target: "/upload/x", bodyLength: 5, chunked: true)]),
        // Issue 11 (4): a framing field in trailers must not become a late refusal of a request already upstream.
        Case(name: "Content-Length in the trailer section is dropped; what follows is judged as a request", origin: .own("RFC 9110 §6.5.1 (framing fields never in trailers)"), bytes: { token in
            upload(token, ["Transfer-Encoding: chunked"], "5\r\nhello\r\n0\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n" + smuggled)
        }, statuses: [200, 401], closes: false, forwarded: [Forwarded(method: "POST", target: "/upload/x", bodyLength: 5, chunked: true)]),
        // RFC 9110 §10.1.1: no 100 Continue for a request that will be denied; the body is never read.
        Case(name: "Expect: 100-continue without a token: 401, no 100, body never read", origin: .own("RFC 9110 §10.1.1"), bytes: { _ in
            "POST /upload/x HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"
        }, statuses: [401], closes: true),
        Case(name: "Expect: 100-continue with a token: 100 then 200, Expect not forwarded", origin: .own("RFC 9110 §10.1.1"), bytes: { token in
            upload(token, ["Expect: 100-continue", "Content-Length: 5"], "hello")
        }, statuses: [100, 200], closes: false, forwarded: [Forwarded(method: "POST", target: "/upload/x", bodyLength: 5)]),
        // RFC 9110 §8.6: Content-Length is 1*DIGIT; leading zeros are the same number, re-serialized canonically.
        Case(name: "Content-Length with leading zeros", origin: .own("RFC 9110 §8.6"), bytes: { token in
            upload(token, ["Content-Length: 0005"], "hello")
        }, statuses: [200], closes: false, forwarded: [Forwarded(method: "POST", target: "/upload/x", bodyLength: 5)]),
        // CL.0 (Kettle 2022, "browser-powered desync"): a body the front end ignores becomes a request. Here the
        // gateway is the only parser: the extra bytes are a second request it judges itself (no token: 401).
        Case(name: "GET without Content-Length followed by a smuggled request", origin: .own("CL.0 desync (Kettle 2022)"), bytes: { token in
            "GET /api/data/cl0 HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \(token)\r\n\r\n" + smuggled
        }, statuses: [200, 401], closes: false, forwarded: [Forwarded(method: "GET", target: "/api/data/cl0")]),
        Case(name: "Content-Length shorter than the body: the rest is judged as a request", origin: .own("RFC 9112 §6.3, CL desync"), bytes: { token in
            upload(token, ["Content-Length: 5"], "hello" + smuggled)
        }, statuses: [200, 401], closes: false, forwarded: [Forwarded(method: "POST", target: "/upload/x", bodyLength: 5)]),
        Case(name: "a chunked body's tail after the last chunk is judged as a request", origin: .own("RFC 9112 §7.1"), bytes: { token in
            upload(token, ["Transfer-Encoding: chunked"], "5\r\nhello\r\n0\r\n\r\n" + smuggled)
        }, statuses: [200, 401], closes: false, forwarded: [Forwarded(method: "POST", target: "/upload/x", bodyLength: 5, chunked: true)]),
        // A denied request's unread body must never be parsed as the next request: the gateway closes instead.
        Case(name: "denied request with a body carrying a request: closed, the body never parsed", origin: .own("docs/SECURITY.md: denied bodies are not read"), bytes: { _ in
            "POST /upload/x HTTP/1.1\r\nHost: localhost\r\nContent-Length: \(smuggled.utf8.count)\r\n\r\n" + smuggled
        }, statuses: [401], closes: true),
        Case(name: "a request pipelined after a refused one is never served", origin: .own("RFC 9112 §9.6 (close after a framing error)"), bytes: { token in
            "GET /admin%2fx HTTP/1.1\r\nHost: localhost\r\n\r\nGET /api/data/after HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \(token)\r\n\r\n"
        }, statuses: [400], closes: true),
        Case(name: "Connection: close: later pipelined requests are ignored", origin: .own("RFC 9112 §9.6"), bytes: { token in
            "GET /api/data/first HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \(token)\r\nConnection: close\r\n\r\nGET /api/data/second HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \(token)\r\n\r\n"
        }, statuses: [200], closes: true, forwarded: [Forwarded(method: "GET", target: "/api/data/first")]),
        Case(name: "HTTP/1.0 without keep-alive closes after the answer", origin: .own("RFC 9112 §9.3"), bytes: { token in
            "GET /api/data/ten HTTP/1.0\r\nHost: localhost\r\nAuthorization: Bearer \(token)\r\n\r\n"
        }, statuses: [200], closes: true, forwarded: [Forwarded(method: "GET", target: "/api/data/ten")]),
        Case(name: "empty lines before the request line are ignored", origin: .own("RFC 9112 §2.2"), bytes: { token in
            "\r\n\r\nGET /api/data/lead HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \(token)\r\n\r\n"
        }, statuses: [200], closes: false, forwarded: [Forwarded(method: "GET", target: "/api/data/lead")]),
        Case(name: "Upgrade: websocket is stripped, then close", origin: .own("RFC 9110 §7.8; WebSocket smuggling (Mikhailov 2019)"), bytes: { token in
            "GET /api/data/ws HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \(token)\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        }, statuses: [200], closes: true, forwarded: [Forwarded(method: "GET", target: "/api/data/ws")]),
        .refused("HTTP/2 connection preface on an HTTP/1.1 connection", .own("RFC 9113 §3.4")) { _ in
            "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
        },
        .refused("HTTP/2.0 in an HTTP/1.1 request line", .own("RFC 9112 §2.3"), status: 505) { token in
            "GET /api/data/x HTTP/2.0\r\nHost: localhost\r\nAuthorization: Bearer \(token)\r\n\r\n"
        },
    ]

    static let allCases = fromAttacksMD + own

    @Test("framing attack, then a victim on another connection", arguments: allCases)
    func smuggling(_ attack: Case) async throws {
        let shared = try AttackGateway.shared()
        let marks = shared.begin()
        let token = try TokenForge(gateway: shared.gateway).signed(sub: "mallory", claims: ["scope": "read:data write:data"])
        let connection = try await shared.connect()
        try await connection.send(attack.bytes(token))
        let responses: [RawHTTPResponse] = await connection.responses(attack.statuses.count, timeout: 10)
        #expect(responses.map(\.status) == attack.statuses, "raw: \(connection.receivedText.prefix(1500))")
        if let last = responses.last, last.status >= 400 {
            let challenge: AttackGateway.Challenge? = last.status == 401 ? .missing : nil
            shared.expectAnswer(last, status: last.status, challenge: challenge, closes: attack.closes)
        } else if let last = responses.last {
            #expect(last.saysClose == attack.closes, "\(last)")
        }
        #expect(!responses.contains { $0.status == 101 }, "an upgrade was honoured")
        await shared.expectFate(connection, closes: attack.closes, answered: attack.statuses.count)

        // What the attack put upstream: exactly the expected, re-serialized requests.
        let requests = await shared.upstream.waitForRequests(attack.forwarded.count, since: marks.upstream, timeout: 5)
        #expect(requests.count == attack.forwarded.count, "\(requests.map { $0.requestLine ?? "" })")
        for (request, expected) in zip(requests, attack.forwarded) {
            shared.expectSanitized(request, method: expected.method, target: expected.target, subject: "mallory")
            #expect(request.bodyLength == expected.bodyLength)
            if let chunked = expected.chunked { #expect(request.chunked == chunked) }
            #expect(request.values("Transfer-Encoding").count + request.values("Content-Length").count <= 1,
                    "ambiguous framing upstream: \(request.headers ?? [])")
            for hopByHop in ["Upgrade", "HTTP2-Settings", "Expect", "Trailer", "TE"] {
                #expect(request.values(hopByHop).isEmpty, "\(hopByHop) forwarded")
            }
        }
        if attack.abortedUpstream {
            // The aborted request never completed upstream, and its upstream connection was closed: the
            // victim cannot ride on it.
            let events = await shared.upstream.settledEvents(since: marks.upstream, settle: 0.2)
            let aborted = Set(events.filter { $0.event == "incomplete" }.map { (event: UpstreamEvent) in event.conn })
            #expect(events.filter(\.isRequest).isEmpty, "an aborted request completed upstream")
            try await shared.expectVictimServed(since: shared.begin(), avoidingConnections: aborted)
        } else {
            try await shared.expectVictimServed(since: marks, attackForwarded: attack.forwarded.count)
        }
    }

    // MARK: Trailers after a streamed body (issue 11, class 4)

    /// A trailer section that arrives after the gateway already streamed the request's head and body upstream.
    struct LateTrailers: Sendable, CustomTestStringConvertible {
        let name: String
        let origin: AttackOrigin
        /// The trailer section after the last chunk, with its final empty line.
        let trailers: String
        /// 200: the trailers are dropped and the request completes; otherwise the gateway's answer (and close).
        let status: Int

        var testDescription: String { name }
    }

    static let lateTrailers: [LateTrailers] = [
        LateTrailers(name: "identity, credential, routing and framing fields in trailers: dropped, the request completes",
                     origin: .own("RFC 9110 §6.5.1, §6.5.2; issue 11 (4)"),
                     trailers: "X-User-Id: admin\r\nX_User_Id: admin\r\nX.Forwarded.For: 6.6.6.6\r\nAuthorization: Bearer forged\r\n"
                         + "Content-Length: 99\r\nTransfer-Encoding: chunked\r\nHost: admin.internal\r\nX-Original-URL: /admin/x\r\n\r\n",
                     status: 200),
        LateTrailers(name: "a trailer line that is not a field: 400, the upstream never gets a complete request",
                     origin: .own("RFC 9112 §7.1.2; issue 11 (4)"), trailers: "not a field\r\n\r\n", status: 400),
        LateTrailers(name: "obs-fold in a trailer field: 400, never a complete request",
                     origin: .own("RFC 9112 §5.2 (obs-fold), §7.1.2"), trailers: "X-A: 1\r\n X-User-Id: admin\r\n\r\n", status: 400),
        LateTrailers(name: "a bare LF inside the trailer section: 400, never a complete request",
                     origin: .own("RFC 9112 §2.2"), trailers: "X-A: 1\nX-User-Id: admin\r\n\r\n", status: 400),
        LateTrailers(name: "NUL in a trailer value: 400, never a complete request",
                     origin: .own("RFC 9110 §5.5"), trailers: "X-A: a\u{0}b\r\n\r\n", status: 400),
        LateTrailers(name: "a trailer section over max_header_bytes: 431, never a complete request",
                     origin: .own("RFC 9110 §6.5; resource limits"),
                     trailers: "X-A: " + String(repeating: "a", count: 20 * 1024) + "\r\n\r\n", status: 431),
    ]

    /// Issue 11 (4): the head and a body larger than `body_buffer_bytes` are already upstream (the test waits
    /// until the recording upstream has read the head) when the trailer section arrives. Forbidden fields there
    /// never become a late refusal; a malformed section is refused, and then the upstream never holds a request
    /// it could take as complete (the last chunk is written only at the request's end) and its connection is
    /// never reused.
    @Test("a trailer section after a streamed body", arguments: lateTrailers)
    func trailersAfterStreamedBody(_ attack: LateTrailers) async throws {
        let shared = try AttackGateway.shared()
        let marks = shared.begin()
        let token = try TokenForge(gateway: shared.gateway).signed(sub: "mallory", claims: ["scope": "read:data write:data"])
        let connection = try await shared.connect()
        let body = String(repeating: "b", count: 4096)
        try await connection.send(Self.upload(token, ["Transfer-Encoding: chunked"], "1000\r\n" + body + "\r\n"))
        let head = await shared.upstream.waitForHead("POST /upload/x ", since: marks.upstream)
        #expect(head != nil, "the gateway did not stream the request before its end; the case tests nothing late")
        try await connection.send("0\r\n" + attack.trailers)
        let response = await connection.response(timeout: 10)
        guard attack.status == 200 else {
            shared.expectAnswer(response, status: attack.status, closes: true)
            await shared.expectFate(connection, closes: true)
            let events = await shared.upstream.settledEvents(since: marks.upstream, settle: 0.2)
            #expect(events.filter(\.isRequest).isEmpty, "a refused request completed upstream: \(events.map { $0.event })")
            let aborted = Set(events.filter { $0.event == "incomplete" || $0.event == "head" }.map(\.conn))
            try await shared.expectVictimServed(since: shared.begin(), avoidingConnections: aborted)
            return
        }
        #expect(response?.status == 200, "\(String(describing: response))")
        let requests = await shared.forwarded(1, since: marks)
        if let request = requests.first {
            shared.expectSanitized(request, method: "POST", target: "/upload/x", subject: "mallory")
            #expect(request.bodyLength == 4096)
            #expect(request.chunked == true)
            let values = (request.headers ?? []).map { $0.joined(separator: ": ") }
            #expect(!values.contains { $0.contains("admin") || $0.contains("6.6.6.6") || $0.contains("forged") }, "\(values)")
        }
        await shared.expectFate(connection, closes: false)
        try await shared.expectVictimServed(since: shared.begin())
    }
}
