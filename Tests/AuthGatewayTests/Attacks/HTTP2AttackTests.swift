import Foundation
import Testing
import GatewayPolicy

/// the attack catalogue "HTTP/2", plus our own cases from RFC 9113, RFC 7541 and public advisories: frames built
/// exactly by Tests/e2e/h2_attack.py (Python `h2`/`hyperframe`/`hpack`), sent through the real gateway.
///
/// Every case checks the stream's fate (the gateway's own answer with its headers, or RST_STREAM with its
/// code), the connection's fate (GOAWAY and closed by the server, or still usable: a probe request on the
/// same connection is answered 404 by the gateway itself), that the recording upstream received nothing
/// (or, where a request is allowed, exactly the sanitized request) and that the canary saw nothing.
@Suite("Attacks: HTTP/2", .serialized, .attackGateway())
struct HTTP2AttackTests {
    typealias Challenge = AttackGateway.Challenge

    /// How the gateway must treat the attack.
    enum Fate: Sendable {
        /// RST_STREAM with this code on stream 1 and no answer; the connection serves the next request.
        case streamReset(String)
        /// The gateway answers on stream 1 itself (problem document, `code`, challenge); the connection
        /// serves the next request. `reset`: the stream is also reset (the request went on after the answer).
        case answer(Int, code: String?, challenge: Challenge? = nil, reset: String? = nil)
        /// GOAWAY with this code, then the server closes the connection (RFC 9113 §5.4.1).
        case goAway(String)
    }

    /// What the upstream may have seen.
    enum Upstream: Sendable {
        /// Nothing: no connection, no request.
        case untouched
        /// An allowed request whose body went bad after its head was forwarded: the upstream may see the
        /// head and part of the body on a connection the gateway then closes, never a complete request.
        case noCompleteRequest
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let scenario: String
        let origin: AttackOrigin
        let fate: Fate
        var upstream = Upstream.untouched
        var withToken = false
        var count: Int?

        var testDescription: String { scenario }

        init(_ scenario: String, _ origin: AttackOrigin, _ fate: Fate, upstream: Upstream = .untouched,
             withToken: Bool = false, count: Int? = nil) {
            self.scenario = scenario
            self.origin = origin
            self.fate = fate
            self.upstream = upstream
            self.withToken = withToken
            self.count = count
        }
    }

    static let malformed = Fate.streamReset("PROTOCOL_ERROR")
    static let badPath = Fate.answer(400, code: "bad_path")
    static let badHost = Fate.answer(400, code: "bad_host")

    /// the attack catalogue "HTTP/2".
    static let fromAttacksMD: [Case] = [
        // RFC 9113 §8.2.1: field names are lower case; uppercase makes the request malformed.
        Case("uppercase_name", .attacksMD, malformed),
        Case("uppercase_authorization", .attacksMD, malformed),
        // RFC 9113 §8.2.2: connection-specific fields, and TE other than "trailers", are malformed.
        Case("connection_header", .attacksMD, malformed),
        Case("keep_alive_header", .attacksMD, malformed),
        Case("proxy_connection_header", .attacksMD, malformed),
        Case("transfer_encoding_header", .attacksMD, malformed),
        Case("upgrade_header", .attacksMD, malformed),
        Case("te_gzip", .attacksMD, malformed),
        // RFC 9113 §8.2.1: CR, LF or NUL anywhere in a value (the H2→H1 header-injection vector).
        Case("value_crlf_injection", .attacksMD, malformed),
        Case("value_lf", .attacksMD, malformed),
        Case("value_cr", .attacksMD, malformed),
        Case("value_nul", .attacksMD, malformed),
        Case("value_request_injection", .attacksMD, malformed),
        // RFC 9113 §8.3.1 `:path`: empty is malformed; relative, `*` (non-OPTIONS) and absolute-form are refused
        // by the one canonical-path check; SP/CR/LF/NUL are malformed pseudo-header values.
        Case("path_relative", .attacksMD, badPath),
        Case("path_empty", .attacksMD, malformed),
        Case("path_asterisk", .attacksMD, badPath),
        Case("path_absolute_form", .attacksMD, badPath),
        Case("path_space", .attacksMD, malformed),
        Case("path_crlf", .attacksMD, malformed),
        Case("path_nul", .attacksMD, malformed),
        // RFC 9113 §8.3.1: a Host that disagrees with :authority is malformed (the gateway used to route on the
        // Host and drop the :authority silently).
        Case("authority_host_mismatch", .attacksMD, badHost),
        // RFC 9113 §8.1.1: content-length must equal the DATA received, more and less.
        Case("content_length_more_data", .attacksMD, malformed, upstream: .noCompleteRequest, withToken: true),
        Case("content_length_less_data", .attacksMD, malformed, upstream: .noCompleteRequest, withToken: true),
        // The refusal comes after the whole declared body was streamed: the last part was held back, so the
        // upstream never has every declared byte (a request it could take as complete).
        Case("content_length_more_data_streamed", .own("issue: late refusals; RFC 9113 §8.1.1"), malformed,
             upstream: .noCompleteRequest, withToken: true),
        // CVE-2023-44487 (rapid reset): HEADERS + RST_STREAM(CANCEL) 1,000 times; the reset-rate limit answers.
        Case("rapid_reset", .attacksMD, .goAway("ENHANCE_YOUR_CALM"), count: 1000),
        // CVE-2024-27316 and the April 2024 CONTINUATION advisories (VU#421644): a header block that never ends.
        Case("continuation_flood", .attacksMD, .goAway("ENHANCE_YOUR_CALM"), count: 1000),
    ]

    /// Our own cases.
    static let own: [Case] = [
        // RFC 9113 §8.3.1: exactly one :method, :scheme, :path.
        Case("missing_method", .own("RFC 9113 §8.3.1"), malformed),
        Case("missing_path", .own("RFC 9113 §8.3.1"), malformed),
        Case("missing_scheme", .own("RFC 9113 §8.3.1"), malformed),
        Case("duplicate_path", .own("RFC 9113 §8.3.1"), malformed),
        Case("duplicate_method", .own("RFC 9113 §8.3.1"), malformed),
        Case("duplicate_authority", .own("RFC 9113 §8.3.1"), malformed),
        // RFC 9113 §8.3: pseudo-headers come first; unknown and response pseudo-headers are malformed.
        Case("pseudo_after_regular", .own("RFC 9113 §8.3"), malformed),
        Case("unknown_pseudo", .own("RFC 9113 §8.3"), malformed),
        Case("response_pseudo_in_request", .own("RFC 9113 §8.3.2"), malformed),
        // RFC 9113 §8.5: CONNECT carries no :path; plain CONNECT (to the canary) is never tunnelled.
        Case("connect_with_path", .own("RFC 9113 §8.5"), malformed),
        Case("connect_plain", .own("RFC 9113 §8.5; open-proxy abuse"), .streamReset("CANCEL")),
        Case("extended_connect_protocol", .own("RFC 8441 §4 (not offered by the gateway)"), malformed),
        // Pseudo-header values: no SP or controls in :method (request-line injection after H2→H1).
        Case("method_with_space", .own("RFC 9113 §8.3.1; H2→H1 request-line injection"), malformed),
        // RFC 9113 §8.2.1, §8.3.1: white space around a value, a :method that is not a token and a :scheme the
        // gateway does not serve are malformed: a stream error, nothing forwarded.
        Case("method_not_token", .own("RFC 9113 §8.3.1, RFC 9110 §9.1"), malformed),
        Case("scheme_garbage", .own("RFC 9113 §8.3.1, RFC 3986 §3.1"), malformed),
        Case("scheme_uri", .own("RFC 9113 §8.3.1"), malformed),
        Case("scheme_other", .own("RFC 9113 §8.3.1 (a scheme the gateway does not serve)"), malformed),
        Case("value_leading_space", .own("RFC 9113 §8.2.1"), malformed),
        Case("value_trailing_space", .own("RFC 9113 §8.2.1"), malformed),
        Case("value_trailing_tab", .own("RFC 9113 §8.2.1"), malformed),
        Case("authority_trailing_space", .own("RFC 9113 §8.2.1"), malformed),
        Case("path_trailing_space", .own("RFC 9113 §8.2.1"), malformed),
        // Methods are case-sensitive (RFC 9110 §9.1): `get` matches no route; the path is public for GET (405).
        // Methods are case-sensitive; `get` is no method the gateway reads, on HTTP/2 as on HTTP/1.1.
        Case("method_lowercase", .own("RFC 9110 §9.1"), .answer(400, code: "bad_request")),
        // Field names: token characters only, never empty (RFC 9110 §5.1, RFC 9113 §8.2).
        Case("name_with_colon", .own("RFC 9110 §5.1"), malformed),
        Case("name_with_space", .own("RFC 9110 §5.1"), malformed),
        Case("empty_name", .own("RFC 9113 §8.2 (zero-length name)"), .goAway("COMPRESSION_ERROR")),
        // Two credentials in one HEADERS block: docs/POLICY.md "Decisions", 400 invalid_request.
        Case("two_authorization_headers", .own("RFC 6750 §2; docs/POLICY.md Decisions"),
             .answer(400, code: "invalid_request", challenge: .invalidRequest), withToken: true),
        Case("two_host_headers", .own("RFC 9112 §3.2 via H2→H1"), badHost),
        Case("authority_userinfo", .own("RFC 9113 §8.3.1: no userinfo in :authority"), badHost),
        // :path tricks reaching the protected /admin/**: canonicalized, then denied (no token).
        Case("path_dot_segments_to_admin", .own("RFC 3986 §5.2.4 over HTTP/2"),
             .answer(401, code: "token_missing", challenge: .missing)),
        Case("path_double_slash_admin", .own("RFC 3986 over HTTP/2"), .answer(401, code: "token_missing", challenge: .missing)),
        Case("path_encoded_slash", .own("CVE-2021-41773 class over HTTP/2"), badPath),
        Case("path_backslash", .own("path normalization over HTTP/2"), badPath),
        Case("path_fragment", .own("RFC 9113 §8.3.1: no fragment in :path"), badPath),
        // Framing: H2.CL and H2.TE request smuggling (PortSwigger 2021 "HTTP/2: the sequel is always worse").
        Case("content_length_zero_smuggle", .own("H2.CL smuggling"), malformed, upstream: .noCompleteRequest, withToken: true),
        Case("transfer_encoding_smuggle", .own("H2.TE smuggling; RFC 9113 §8.2.2"), malformed, withToken: true),
        Case("content_length_duplicate", .own("RFC 9110 §8.6 list form"), .answer(400, code: "bad_framing"), withToken: true),
        Case("content_length_two_fields", .own("RFC 9113 §8.1.1"), malformed, withToken: true),
        Case("content_length_negative", .own("RFC 9110 §8.6"), malformed, withToken: true),
        Case("content_length_more_data_no_token", .own("RFC 9113 §8.1.1, denied route"),
             .answer(401, code: "token_missing", challenge: .missing, reset: "PROTOCOL_ERROR")),
        // Trailers authenticate nothing (RFC 9110 §6.5.1) and may not carry pseudo-headers (RFC 9113 §8.1).
        Case("trailers_authorization", .own("RFC 9110 §6.5.1"), .answer(401, code: "token_missing", challenge: .missing),
             withToken: true),
        Case("trailers_pseudo_header", .own("RFC 9113 §8.1"), malformed, upstream: .noCompleteRequest, withToken: true),
        Case("trailers_without_end_stream", .own("RFC 9113 §8.1"), malformed, upstream: .noCompleteRequest, withToken: true),
        // Stream states (RFC 9113 §5.1, §5.1.1).
        Case("data_on_closed_stream", .own("RFC 9113 §5.1"), .goAway("STREAM_CLOSED")),
        Case("data_on_half_closed_stream", .own("RFC 9113 §5.1"),
             .answer(401, code: "token_missing", challenge: .missing, reset: "STREAM_CLOSED")),
        Case("data_on_idle_stream", .own("RFC 9113 §5.1"), .goAway("PROTOCOL_ERROR")),
        Case("stream_id_reuse", .own("RFC 9113 §5.1.1"), .goAway("PROTOCOL_ERROR")),
        Case("stream_id_decreasing", .own("RFC 9113 §5.1.1"), .goAway("PROTOCOL_ERROR")),
        Case("even_stream_id", .own("RFC 9113 §5.1.1"), .goAway("PROTOCOL_ERROR")),
        Case("stream_id_zero", .own("RFC 9113 §6.2"), .goAway("PROTOCOL_ERROR")),
        Case("priority_self_dependency", .own("RFC 9113 §5.3.1"), .goAway("PROTOCOL_ERROR")),
        Case("push_promise_from_client", .own("RFC 9113 §8.4"), .goAway("PROTOCOL_ERROR")),
        // Flow control (RFC 9113 §6.9, §6.9.1).
        Case("window_update_overflow_connection", .own("RFC 9113 §6.9.1"), .goAway("FLOW_CONTROL_ERROR")),
        Case("window_update_overflow_stream", .own("RFC 9113 §6.9.1"),
             .answer(401, code: "token_missing", challenge: .missing, reset: "FLOW_CONTROL_ERROR")),
        Case("window_update_zero", .own("RFC 9113 §6.9"), .goAway("PROTOCOL_ERROR")),
        // SETTINGS values (RFC 9113 §6.5.2).
        Case("settings_invalid_enable_push", .own("RFC 9113 §6.5.2"), .goAway("PROTOCOL_ERROR")),
        Case("settings_invalid_window", .own("RFC 9113 §6.5.2"), .goAway("FLOW_CONTROL_ERROR")),
        Case("settings_invalid_frame_size", .own("RFC 9113 §6.5.2"), .goAway("PROTOCOL_ERROR")),
        Case("frame_too_large", .own("RFC 9113 §4.2"), .goAway("FRAME_SIZE_ERROR")),
        // Floods (the 2019 Netflix/Google advisories).
        Case("settings_flood", .own("CVE-2019-9515"), .goAway("ENHANCE_YOUR_CALM"), count: 1000),
        Case("ping_flood", .own("CVE-2019-9512"), .goAway("ENHANCE_YOUR_CALM"), count: 1000),
        Case("empty_data_flood", .own("CVE-2019-9518"), .goAway("ENHANCE_YOUR_CALM"), count: 1000),
        Case("continuation_empty_flood", .own("CVE-2024-27983 class (empty CONTINUATION)"), .goAway("ENHANCE_YOUR_CALM"),
             count: 1000),
        // HPACK (RFC 7541): a decompression bomb, table-size and index abuse.
        Case("hpack_bomb", .own("CVE-2016-6581 (HPACK bomb)"), .goAway("COMPRESSION_ERROR"), count: 100),
        Case("hpack_table_size_overflow", .own("RFC 7541 §6.3"), .goAway("COMPRESSION_ERROR")),
        Case("hpack_invalid_index", .own("RFC 7541 §2.3.3"), .goAway("COMPRESSION_ERROR")),
        // Header list above SETTINGS_MAX_HEADER_LIST_SIZE (max_header_bytes), and too many fields.
        Case("header_list_too_large", .own("RFC 9113 §10.5.1"), .goAway("PROTOCOL_ERROR"), count: 20_000),
        Case("huge_header", .own("RFC 9113 §4.2, §10.5.1"), .goAway("FRAME_SIZE_ERROR"), count: 20_000),
        Case("too_many_headers", .own("RFC 9113 §10.5.1; the attack catalogue resource limits over HTTP/2"),
             .answer(431, code: "too_many_headers"), count: 150),
    ]

    @Test("HTTP/2 attack from the attack catalogue", arguments: fromAttacksMD)
    func listedAttack(_ attack: Case) async throws {
        try await run(attack)
    }

    @Test("HTTP/2 attack of our own", arguments: own)
    func ownAttack(_ attack: Case) async throws {
        try await run(attack)
    }

    private func run(_ attack: Case, sourceLocation: Testing.SourceLocation = #_sourceLocation) async throws {
        let oracle = try AttackGateway.shared()
        let marks = oracle.begin()
        let token = attack.withToken ? try oracle.gateway.token(scope: "read:data write:data") : nil
        let result = try await H2AttackClient.run(
            oracle.gateway, attack.scenario, token: token, count: attack.count, evil: oracle.canary.hostPort)
        #expect(result.alpn == "h2", "\(result)")
        switch attack.fate {
        case .streamReset(let code):
            let stream = try #require(result.stream(1), "\(result)")
            #expect(stream.reset == code, "\(result)")
            #expect(stream.status == nil, "\(result)")
            expectUsable(result)
        case .answer(let status, let code, let challenge, let reset):
            let stream = try #require(result.stream(1), "\(result)")
            #expect(stream.status == status, "\(result)")
            #expect(stream.values("content-type") == ["application/problem+json"], "\(result)")
            #expect(stream.values("www-authenticate") == (challenge.map { [$0.headerValue] } ?? []), "\(result)")
            #expect(stream.values("x-request-id").count == 1, "\(result)")
            // A reset may cut the answer's body short; the head is what the client surely has.
            if let code, reset == nil { #expect(stream.json?["code"] as? String == code, "\(stream.body)") }
            #expect(!stream.body.contains("eyJ"), "a problem document echoed a token")
            #expect(stream.reset == reset, "\(result)")
            expectUsable(result)
        case .goAway(let code):
            let goAway = try #require(result.goaway, "\(result)")
            #expect(goAway.error == code, "\(result)")
            #expect(result.closedByServer, "the gateway kept the connection after GOAWAY \(code): \(result)")
            #expect(result.followUp == nil)
        }
        switch attack.upstream {
        case .untouched:
            await oracle.expectUntouched(since: marks)
        case .noCompleteRequest:
            let events = await oracle.upstream.settledEvents(since: marks.upstream, settle: 0.2)
            #expect(events.filter(\.isRequest).isEmpty, "a complete request reached the upstream: \(events.map { $0.requestLine ?? $0.event })")
            #expect(!events.contains { ($0.requestLine ?? "").contains("/admin") }, "a smuggled request reached the upstream")
            await oracle.expectCanaryUntouched(since: marks)
        }
    }

    /// The connection survived the stream's fate: the follow-up request was answered by the gateway (404
    /// for `/probe/follow-up`, no route, nothing upstream).
    private func expectUsable(_ result: H2AttackResult, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        #expect(result.goaway == nil, "\(result)", sourceLocation: sourceLocation)
        #expect(!result.closedByServer, "\(result)", sourceLocation: sourceLocation)
        #expect(result.followUp?.status == 404, "the connection did not serve the next request: \(result)",
                sourceLocation: sourceLocation)
    }

    // MARK: Allowed requests: exactly the sanitized request reaches the upstream

    @Test("RFC 9113 §8.2.3: cookie crumbs reach the HTTP/1.1 upstream joined into one Cookie field")
    func cookieCrumbs() async throws {
        let oracle = try AttackGateway.shared()
        let marks = oracle.begin()
        let result = try await H2AttackClient.run(oracle.gateway, "cookie_crumbs")
        #expect(result.stream(1)?.status == 200, "\(result)")
        expectUsable(result)
        let requests = await oracle.forwarded(1, since: marks)
        let request = try #require(requests.first)
        oracle.expectSanitized(request, target: "/public/x", subject: nil)
        #expect(request.values("Cookie") == ["a=1; b=2; c=3"], "\(request.headers ?? [])")
    }

    @Test("RFC 9113 §8.3.1: :authority and an equal host are one Host upstream")
    func authorityAndEqualHost() async throws {
        let oracle = try AttackGateway.shared()
        let marks = oracle.begin()
        let result = try await H2AttackClient.run(oracle.gateway, "authority_host_same")
        #expect(result.stream(1)?.status == 200, "\(result)")
        let requests = await oracle.forwarded(1, since: marks)
        let request = try #require(requests.first)
        oracle.expectSanitized(request, target: "/public/x", subject: nil)
        #expect(request.values("Host") == ["localhost"])
    }

    @Test("a client-chosen :scheme http is not vouched for: X-Forwarded-Proto comes from the connection")
    func schemeIsNotTrusted() async throws {
        let oracle = try AttackGateway.shared()
        for scenario in ["scheme_http"] {
            let marks = oracle.begin()
            let result = try await H2AttackClient.run(oracle.gateway, scenario)
            #expect(result.stream(1)?.status == 200, "\(result)")
            let requests = await oracle.forwarded(1, since: marks)
            let request = try #require(requests.first)
            oracle.expectSanitized(request, target: "/public/x", subject: nil)
            #expect(request.values("X-Forwarded-Proto") == ["https"])
        }
    }

    @Test("identity headers sent over HTTP/2 (any spelling) are replaced by the gateway's")
    func identityOverHTTP2() async throws {
        let oracle = try AttackGateway.shared()
        let marks = oracle.begin()
        let result = try await H2AttackClient.run(
            oracle.gateway, "authorization_and_identity_header", token: try oracle.gateway.token(sub: "alice"))
        #expect(result.stream(1)?.status == 200, "\(result)")
        let requests = await oracle.forwarded(1, since: marks)
        let request = try #require(requests.first)
        oracle.expectSanitized(request, target: "/api/data/x", subject: "alice")
        #expect(request.values("X-Forwarded-User").isEmpty)
        #expect(request.values("X_User_Id").isEmpty)
    }

    @Test("trailers with authorization and identity headers: the body is forwarded, the trailers are not")
    func trailersAreNotForwarded() async throws {
        let oracle = try AttackGateway.shared()
        let marks = oracle.begin()
        let result = try await H2AttackClient.run(
            oracle.gateway, "trailers_identity", token: try oracle.gateway.token(sub: "alice", scope: "write:data"))
        #expect(result.stream(1)?.status == 200, "\(result)")
        expectUsable(result)
        let requests = await oracle.forwarded(1, since: marks)
        let request = try #require(requests.first)
        oracle.expectSanitized(request, method: "POST", target: "/upload/x", subject: "alice")
        #expect(request.bodyLength == 5)
        #expect(request.chunked == true, "a body of unknown length is re-framed as chunked")
    }

    /// Runs `scenario`, whose trailers leave only once the upstream has read the request's head (they arrive
    /// late), and checks it completed as the sanitized request with the whole body; returns what the upstream got.
    private func streamedWithLateTrailers(
        _ scenario: String, sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) async throws -> UpstreamEvent {
        let oracle = try AttackGateway.shared()
        let marks = oracle.begin()
        let result = try await H2AttackClient.run(
            oracle.gateway, scenario, token: try oracle.gateway.token(sub: "alice", scope: "write:data"),
            upstreamRecords: oracle.upstream.recordsPath)
        #expect(result.counts["upstream_head_before_trailers"] == 1, "\(result)", sourceLocation: sourceLocation)
        #expect(result.stream(1)?.status == 200, "\(result)", sourceLocation: sourceLocation)
        expectUsable(result, sourceLocation: sourceLocation)
        let requests = await oracle.forwarded(1, since: marks, sourceLocation: sourceLocation)
        let request = try #require(requests.first, sourceLocation: sourceLocation)
        oracle.expectSanitized(request, method: "POST", target: "/upload/x", subject: "alice", sourceLocation: sourceLocation)
        #expect(request.bodyLength == 4000, sourceLocation: sourceLocation)
        return request
    }

    @Test("trailers after a body already streamed upstream: dropped, the request completes (issue 11, class 4)")
    func trailersAfterStreamedBody() async throws {
        let request = try await streamedWithLateTrailers("trailers_identity_streamed")
        #expect(request.chunked == true)
        let values = (request.headers ?? []).map { $0.joined(separator: ": ") }
        #expect(!values.contains { $0.contains("admin") || $0.contains("6.6.6.6") || $0.contains("Bearer") }, "\(values)")
    }

    @Test("content-length in trailers after a streamed body: a framing field in trailers is dropped, the request completes")
    func contentLengthTrailerAfterStreamedBody() async throws {
        let request = try await streamedWithLateTrailers("trailers_content_length_streamed")
        #expect(request.values("Content-Length").isEmpty, "\(request.headers ?? [])")
    }

    @Test("a streamed HTTP/2 body without content-length is forwarded (chunked) and answered")
    func streamedBody() async throws {
        let oracle = try AttackGateway.shared()
        let marks = oracle.begin()
        let result = try await H2AttackClient.run(
            oracle.gateway, "streamed_post", token: try oracle.gateway.token(sub: "alice", scope: "write:data"))
        #expect(result.stream(1)?.status == 200, "\(result)")
        expectUsable(result)
        let requests = await oracle.forwarded(1, since: marks)
        let request = try #require(requests.first)
        oracle.expectSanitized(request, method: "POST", target: "/upload/x", subject: "alice")
        #expect(request.bodyLength == 5)
        #expect(request.values("Transfer-Encoding") == ["chunked"])
    }

    @Test("te: trailers is the one TE allowed (RFC 9113 §8.2.2) and is not forwarded")
    func teTrailers() async throws {
        let oracle = try AttackGateway.shared()
        let marks = oracle.begin()
        let result = try await H2AttackClient.run(oracle.gateway, "te_trailers")
        #expect(result.stream(1)?.status == 200, "\(result)")
        let requests = await oracle.forwarded(1, since: marks)
        let request = try #require(requests.first)
        oracle.expectSanitized(request, target: "/public/x", subject: nil)
        #expect(request.values("TE").isEmpty)
    }

    // MARK: HTTP/1.1 on the same port

    @Test("h2c upgrade over HTTP/1.1 (Upgrade: h2c + HTTP2-Settings) is never honoured; upgrade headers are stripped")
    func h2cUpgrade() async throws {
        let oracle = try AttackGateway.shared()
        let marks = oracle.begin()
        let result = try await H2AttackClient.run(oracle.gateway, "h2c_upgrade", timeout: 3)
        let raw = try #require(result.raw, "\(result)")
        #expect(raw.hasPrefix("HTTP/1.1 200 "), "\(raw.prefix(300))")
        #expect(!raw.contains("101 Switching"), "\(raw.prefix(300))")
        let requests = await oracle.forwarded(1, since: marks)
        let request = try #require(requests.first)
        oracle.expectSanitized(request, target: "/public/x", subject: nil)
        #expect(request.values("Upgrade").isEmpty)
        #expect(request.values("HTTP2-Settings").isEmpty)
        #expect(request.values("Connection").isEmpty)
    }

    @Test("the HTTP/2 preface on a connection that negotiated http/1.1 is a 400 and a close")
    func priorKnowledgeOnHTTP1() async throws {
        let oracle = try AttackGateway.shared()
        let marks = oracle.begin()
        let result = try await H2AttackClient.run(oracle.gateway, "prior_knowledge_on_http1")
        let raw = try #require(result.raw, "\(result)")
        #expect(raw.hasPrefix("HTTP/1.1 400 "), "\(raw.prefix(300))")
        #expect(raw.lowercased().contains("connection: close"), "\(raw.prefix(300))")
        #expect(result.closedByServer, "\(result)")
        await oracle.expectUntouched(since: marks)
    }
}
