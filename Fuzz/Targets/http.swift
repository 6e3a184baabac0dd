// Fuzz target `http`: raw bytes from a client → the gateway's HTTP/1.1 parser (HTTP1RequestParser, with the
// limits ConnectionInitializer gives it) → for every parsed request head, the gateway's admission:
// RequestGuard, the canonical path, route match, bearer token extraction and verification, authorization,
// HeaderRewriter. Each head is admitted as HTTP/1.1 and again as if it came from an HTTP/2 stream.
//
// Invariants of the parser: the parts do not depend on how the bytes are split into reads (all at once, byte
// by byte, in reads of a size taken from the input); every request is a head, body parts and an end; a
// Content-Length body is exactly that long; field names are tokens, values hold no CR, LF, NUL or other
// control byte but HTAB; nothing is parsed after an error or after a head whose framing the guard refuses.
//
// Invariants for a forwarded request: it went to the route the policy picks for its canonical path; a token
// route's request carried exactly one bearer token that an independently configured JWTVerifier accepts and
// the policy allows; its headers hold no CR/LF/NUL or other control bytes and only token names; no
// hop-by-hop header, no header the client's `Connection` names, no `Authorization` (unless the route forwards
// it), no client value in the identity namespace or in the forwarding headers: identity headers are exactly
// the policy's for the verified claims, X-Forwarded-* / X-Request-Id / traceparent exactly the gateway's,
// framing headers exactly the accepted framing. For an answered (denied) request: nothing is forwarded (by
// construction), the status is one the gateway documents, and the rendered answer never echoes the token.

import Foundation
import JOSE
import NIOCore
import NIOEmbedded
import NIOHTTP1

@testable import AuthGateway
@testable import GatewayAdmission
@testable import GatewayAuth
@testable import GatewayConfig
@testable import GatewayPolicy

/// The target's clock: tokens in the seed corpus are valid at this instant.
private let now: Double = 1_300_819_000
private let clientAddress = "192.0.2.7"
private let issuer = "https://idp.example.com"
/// RFC 7515 appendix A.1's HS256 key (a public test key), as the gateway's only issuer key.
private let hmacJWK =
    #"{"kty":"oct","alg":"HS256","kid":"hs-1","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"}"#

private let policyText = """
    version: 1
    routes:
      - name: admin
        match: { methods: [GET, HEAD, POST, PUT, PATCH, DELETE], path: /admin/** }
        upstream: service-a
        require: { roles: { any: [admin] } }
      - name: data
        match: { methods: [GET, POST], path: /api/data/** }
        upstream: service-a
        require: { scopes: { all: ["read:data"] } }
      - name: pass
        match: { methods: [GET, POST, PUT], path: "/pass/{id}" }
        upstream: service-b
        forward_authorization: true
        identity_headers: { X-User-Id: sub, X-User-Email: email, X-Token-Tenant: tenant }
      - name: tenant
        match: { methods: [GET], path: /**, host: internal.example.com }
        upstream: service-b
        require: { claims: { tenant: { equals: acme } } }
      - name: public
        match: { methods: [GET, POST, OPTIONS], path: /public/** }
        upstream: service-b
        auth: public
      - name: health
        match: { methods: [GET], path: /healthz }
        upstream: service-a
        auth: public

    """

/// The snapshot every input is admitted against: written to a temporary directory once, loaded as the
/// gateway loads it.
private let snapshot: GatewaySnapshot = {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("auth-gateway-fuzz-http-\(getpid())")
    let policies = directory.appendingPathComponent("policies")
    let keyFile = directory.appendingPathComponent("hs-1.jwk")
    do {
        try FileManager.default.createDirectory(at: policies, withIntermediateDirectories: true)
        try Data(policyText.utf8).write(to: policies.appendingPathComponent("policy.yaml"))
        try Data(hmacJWK.utf8).write(to: keyFile)
        let configuration = GatewayConfiguration(
            listeners: [], admin: nil,
            issuers: [.init(issuer: issuer, audiences: ["api"], keys: [.init(file: keyFile.path)], leeway: .seconds(60))],
            upstreams: [
                "service-a": .init(targets: [.init(host: "127.0.0.1", port: 9)]),
                "service-b": .init(targets: [.init(host: "127.0.0.1", port: 9)]),
            ],
            policyDirectory: policies.path)
        let loaded = try GatewaySnapshot.load(configuration: configuration, keyGeneration: 1)
        try? FileManager.default.removeItem(at: directory)
        return loaded
    } catch {
        fatalError("the http fuzz target's snapshot does not load: \(error)")
    }
}()

/// The oracle for "a token route's request carried a valid token": configured independently of the
/// gateway's issuer table and token authenticator.
private let referenceVerifier: JWTVerifier = {
    do {
        let key = try JWSKey(jwk: JSONParser.parse(hmacJWK))
        return JWTVerifier(
            keys: JWKSet([key]), validation: ClaimsValidation(issuers: [issuer], audiences: ["api"], leeway: 60))
    } catch {
        fatalError("the reference key does not load: \(error)")
    }
}()

/// Hop-by-hop headers and the headers only the gateway may set, normalized (lower case, `_` and `.` as `-`).
private let neverFromClient: Set<String> = [
    "connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade", "proxy-authorization",
    "proxy-authenticate", "http2-settings", "expect", "forwarded", "x-real-ip", "x-client-ip", "x-forwarded-port",
    "x-forwarded-prefix", "tracestate",
]
private let gatewaySet: Set<String> = [
    "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-request-id", "traceparent",
]

/// What the parser made of a client's bytes: each request's head, its body bytes and whether it ended, and
/// the error that stopped it, if one did.
private struct Parsed: Equatable {
    var heads: [HTTPRequestHead] = []
    var bodies: [[UInt8]] = []
    var ended: [Bool] = []
    var error: HTTP1ParseError?
}

private func parse(_ input: [UInt8], readSize: Int) -> Parsed {
    let limits = snapshot.configuration.limits
    var parser = HTTP1RequestParser(limits: .init(
        maxHeaderBytes: limits.maxHeaderBytes, maxHeaderCount: limits.maxHeaderCount, maxURIBytes: limits.maxURIBytes))
    var parsed = Parsed()
    var buffer = ByteBuffer()
    var offset = 0
    reading: while offset < input.count {
        let end = min(input.count, offset + readSize)
        buffer.writeBytes(input[offset..<end])
        offset = end
        while !parser.isDone {
            let part: HTTP1RequestParser.Part?
            do {
                part = try parser.next(from: &buffer)
            } catch {
                parsed.error = error
                break reading
            }
            guard let part else { break }
            switch part {
            case .head(let head):
                invariant(parsed.ended.last ?? true, "a head before the previous request ended")
                parsed.heads.append(head)
                parsed.bodies.append([])
                parsed.ended.append(false)
            case .body(let slice):
                invariant(!(parsed.ended.last ?? true), "a body part outside a request")
                invariant(slice.readableBytes > 0, "an empty body part")
                parsed.bodies[parsed.bodies.count - 1] += slice.readableBytesView
            case .end:
                invariant(!(parsed.ended.last ?? true), "an end outside a request")
                parsed.ended[parsed.ended.count - 1] = true
            }
        }
    }
    if parser.isDone, parsed.error == nil {
        invariant(parsed.ended.last == false, "the parser stopped after a complete request without an error")
    }
    return parsed
}

private func checkParsed(_ parsed: Parsed) {
    for (index, head) in parsed.heads.enumerated() {
        for (name, value) in head.headers {
            invariant(HTTPSyntax.isToken(name), "a field name that is not a token")
            invariant(value.utf8.allSatisfy { $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7F) }, "a control byte in a field value")
            invariant(value.first != " " && value.last != " ", "a field value with surrounding whitespace")
        }
        let framing = RequestGuard.framing(of: head.headers, version: head.version)
        switch framing {
        case .failure:
            invariant(index == parsed.heads.count - 1 && !parsed.ended[index], "something was parsed after an unframed head")
        case .success(.none):
            invariant(parsed.bodies[index].isEmpty, "a body for a request without one")
        case .success(.contentLength(let length)):
            invariant(parsed.bodies[index].count <= length, "a body longer than its Content-Length")
            if parsed.ended[index] { invariant(parsed.bodies[index].count == length, "a request ended short of its Content-Length") }
        case .success(.streamed):
            break
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    let loop = EmbeddedEventLoop()
    let parsed = parse(input, readSize: max(input.count, 1))
    checkParsed(parsed)
    invariant(parse(input, readSize: 1) == parsed, "byte-by-byte reads parse differently")
    let readSize = Int(input.first ?? 0) % 61 + 2
    invariant(parse(input, readSize: readSize) == parsed, "reads of \(readSize) bytes parse differently")
    let heads = parsed.heads

    // One authenticator (and so one verified-token cache) per connection, as on one event loop.
    let authenticator = TokenAuthenticator(cache: VerifiedTokenCache(capacity: 16, generation: 1), metrics: nil)
    let admission = RequestAdmission(snapshot: snapshot, authenticator: authenticator)
    var requestIDs = RequestID.Generator()
    for head in heads.prefix(16) {
        for isHTTP2 in [false, true] {
            var admitted = head
            if isHTTP2 { admitted.version = HTTPVersion(major: 2, minor: 0) }
            let client = ClientConnection(address: clientAddress, isHTTP2: isHTTP2)
            let result = admission.admit(
                admitted, client: client, requestID: requestIDs.next(), now: now, eventLoop: loop)
            switch result {
            case .forward(let request): checkForwarded(request, from: admitted, isHTTP2: isHTTP2)
            case .answer(let response, _): checkAnswer(response, to: admitted)
            case .retryAfter: invariant(false, "a re-fetch was requested without remote keys")
            }
        }
    }
    return 0
}

private func normalized(_ name: String) -> String {
    String(decoding: name.utf8.map(ClientHeaderFilter.fold), as: UTF8.self)
}

private func checkForwarded(_ request: UpstreamRequest, from client: HTTPRequestHead, isHTTP2: Bool) {
    let forwarded = request.head
    invariant(forwarded.method == client.method, "the method changed")

    // The target: canonical, and the route is the policy's choice for it.
    guard case .success(let target) = CanonicalPath.canonicalize(client.uri) else {
        invariant(false, "forwarded a request whose target does not canonicalize")
        return
    }
    invariant(forwarded.uri == target.description, "the forwarded target is not the canonical target")
    let hosts = client.headers["host"]
    invariant(hosts.count == 1, "forwarded a request with \(hosts.count) Host headers")
    guard let route = snapshot.policy.routes.first(where: { $0.name == request.outcome.route }) else {
        invariant(false, "forwarded without a route")
        return
    }
    invariant(
        snapshot.policy.route(method: client.method.rawValue, host: hosts.first, path: target.path) === route,
        "forwarded to a route the policy does not pick for this path")
    invariant(request.upstream == route.upstream, "forwarded to another upstream than the route's")

    // Framing the gateway accepted from the client.
    let lengths = client.headers["content-length"]
    let encodings = client.headers["transfer-encoding"]
    invariant(lengths.isEmpty || encodings.isEmpty, "forwarded a request with Content-Length and Transfer-Encoding")
    invariant(lengths.count <= 1 && encodings.count <= 1, "forwarded a request with repeated framing headers")
    if let encoding = encodings.first {
        invariant(encoding.lowercased() == "chunked", "forwarded Transfer-Encoding \(encoding)")
    }

    // A token route: exactly one Authorization, whose bearer token the reference verifier accepts.
    var expectedIdentity: [(String, String)] = []
    if !route.isPublic {
        let authorizations = client.headers.filter { $0.name.lowercased() == "authorization" }
        invariant(
            authorizations.count == 1,
            "forwarded a token route's request with \(authorizations.count) Authorization headers")
        guard let credential = authorizations.first?.value, let token = bearerToken(credential) else {
            invariant(false, "forwarded a token route's request without a bearer token")
            return
        }
        let claims: [String: JSONValue]
        do {
            claims = try referenceVerifier.verify(token, now: now).claims.fields
        } catch {
            invariant(
                false, "forwarded a token route's request whose token the reference verifier refuses (\(error.code))")
            return
        }
        guard case .allow(_, let identity) = snapshot.policy.authorize(route, claims: claims) else {
            invariant(false, "forwarded a request the policy denies")
            return
        }
        expectedIdentity = identity.map { ($0.name, $0.value) }
    }

    let clientAuthorization = client.headers.filter { $0.name.lowercased() == "authorization" }.map(\.value)
    let connectionNamed = Set(client.headers.connectionListedNames.map(normalized))
    let identityNames = Set(route.identityHeaders.map { normalized($0.name) })
    let filter = snapshot.headerFilter
    var counts: [String: Int] = [:]
    var identity: [(String, String)] = []
    var authorization: [String] = []
    for (name, value) in forwarded.headers {
        let key = normalized(name)
        counts[key, default: 0] += 1
        invariant(!name.isEmpty && name.utf8.allSatisfy(isTokenByte), "a forwarded header name is not a token")
        invariant(
            value.utf8.allSatisfy { $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7F) },
            "a forwarded header value holds a control byte")
        invariant(!neverFromClient.contains(key), "forwarded the hop-by-hop or gateway-owned header \(key)")
        if connectionNamed.contains(key) {
            invariant(
                gatewaySet.contains(key) || identityNames.contains(key)
                    || ["content-length", "transfer-encoding"].contains(key),
                "forwarded a header the client's Connection header lists")
        }
        // What the filter strips and the gateway writes itself (forwarding, framing, Host) is checked below.
        if filter.strips(name) && !gatewaySet.contains(key) && !["transfer-encoding", "content-length", "host"].contains(key) {
            identity.append((name, value))
        }
        if key == "authorization" { authorization.append(value) }
    }
    invariant(
        identity.count == expectedIdentity.count && zip(identity, expectedIdentity).allSatisfy { $0 == $1 },
        "the identity headers forwarded are not exactly the policy's for the verified claims")
    if route.forwardsAuthorization {
        invariant(authorization == clientAuthorization, "the forwarded Authorization is not the client's")
    } else {
        invariant(authorization.isEmpty, "forwarded Authorization on a route that strips it")
    }
    for name in gatewaySet { invariant(counts[name] == 1, "\(name) appears \(counts[name] ?? 0) times") }
    invariant(
        forwarded.headers["x-forwarded-for"] == [clientAddress], "X-Forwarded-For is not the connection's address")
    invariant(forwarded.headers["x-forwarded-proto"] == ["https"], "X-Forwarded-Proto is not https")
    invariant(forwarded.headers["x-forwarded-host"] == hosts, "X-Forwarded-Host is not the validated Host")
    invariant(forwarded.headers["host"] == hosts, "Host is not exactly the validated Host")
    switch request.framing {
    case .none:
        invariant(
            counts["content-length"] == nil && counts["transfer-encoding"] == nil, "framing headers without a body")
    case .contentLength(let length):
        invariant(forwarded.headers["content-length"] == [String(length)], "Content-Length is not the accepted length")
        invariant(counts["transfer-encoding"] == nil, "Transfer-Encoding next to Content-Length")
    case .streamed:
        invariant(forwarded.headers["transfer-encoding"] == ["chunked"], "a streamed body is not sent chunked")
        invariant(counts["content-length"] == nil, "Content-Length next to chunked")
    }
    if !isHTTP2 {
        invariant(request.framing != .streamed || !encodings.isEmpty, "HTTP/1.1 body streamed without chunked")
    }
}

private func checkAnswer(_ response: GatewayResponse, to client: HTTPRequestHead) {
    // 204: a CORS preflight the route allows; 405: a known path, another method (with `Allow`).
    let documented: Set<UInt> = [204, 400, 401, 403, 404, 405, 413, 414, 431, 501, 503, 505]
    invariant(documented.contains(response.status.code), "answered with status \(response.status.code)")
    let (head, body) = response.render(requestID: "00000000000000000000000000000000", version: client.version)
    let rendered = Array(body.readableBytesView) + head.headers.flatMap { Array($0.name.utf8) + Array($0.value.utf8) }
    for (name, value) in head.headers {
        invariant(name.utf8.allSatisfy(isTokenByte), "an answer header name is not a token")
        invariant(
            value.utf8.allSatisfy { $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7F) },
            "an answer header value holds a control byte")
    }
    for (name, value) in client.headers where name.lowercased() == "authorization" {
        guard let token = bearerToken(value), token.utf8.count >= 16 else { continue }
        invariant(!contains(rendered, Array(token.utf8)), "an answer echoes the client's token")
    }
}

/// `Bearer <token>`, read the plain way: scheme case-insensitive, spaces around.
private func bearerToken(_ credential: String) -> String? {
    let trimmed = credential.trimmingCharacters(in: .whitespaces)
    guard let space = trimmed.firstIndex(of: " "), trimmed[..<space].lowercased() == "bearer" else { return nil }
    let token = trimmed[space...].trimmingCharacters(in: .whitespaces)
    return token.isEmpty ? nil : token
}

private func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard !needle.isEmpty, haystack.count >= needle.count else { return false }
    return (0...(haystack.count - needle.count)).contains { haystack[$0..<($0 + needle.count)].elementsEqual(needle) }
}

private func isTokenByte(_ byte: UInt8) -> Bool {
    switch byte {
    case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
    default: return Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
    }
}
