import JOSE
import NIOCore
import NIOHTTP1

/// What happens to one request head: forwarded upstream with rewritten headers, or answered by the
/// gateway. Computed from the head, the connection, the snapshot and the verified claims; no I/O.
enum Admission {
    case forward(UpstreamRequest)
    case answer(GatewayResponse, RequestOutcome)
    /// Admit the request again once the issuer's keys were re-fetched (an unknown `kid`).
    case retryAfter(EventLoopFuture<Void>)
}

/// An authorized request, ready to send.
struct UpstreamRequest {
    let upstream: String
    let head: HTTPRequestHead
    let framing: RequestGuard.BodyFraming
    let outcome: RequestOutcome
}

/// What the access log and metrics record about a request's admission.
struct RequestOutcome {
    var route: String?
    var decision: String
    var reason: String?
    var subject: String?
    var path: String?
}

/// The facts about the client connection the gateway vouches for.
struct ClientConnection {
    let address: String
    let isHTTP2: Bool
}

/// The admission stages of DESIGN.md "One request", in order.
struct RequestAdmission {
    let snapshot: GatewaySnapshot
    let authenticator: TokenAuthenticator

    func admit(
        _ head: HTTPRequestHead, client: ClientConnection, requestID: RequestID, now: Double, eventLoop: EventLoop,
        mayRefetchKeys: Bool = true
    ) -> Admission {
        let configuration = snapshot.configuration
        let accepted: RequestGuard.Accepted
        switch RequestGuard.check(head, isHTTP2: client.isHTTP2, limits: configuration.limits) {
        case .success(let value):
            accepted = value
        case .failure(let rejection):
            let response = GatewayResponse(status: rejection.status, code: rejection.code, close: true)
            return .answer(response, RequestOutcome(decision: "reject", reason: rejection.code))
        }
        let path = accepted.target.path
        guard let route = snapshot.policy.route(method: head.method.rawValue, host: accepted.host, path: path) else {
            return unrouted(head, accepted: accepted, now: now, eventLoop: eventLoop, mayRefetchKeys: mayRefetchKeys)
        }
        let claims: [String: JSONValue]?
        if route.isPublic {
            claims = nil
        } else {
            let result = authenticator.authenticate(
                headers: head.headers, query: accepted.target.query, snapshot: snapshot, now: now, eventLoop: eventLoop,
                mayRefetch: mayRefetchKeys)
            switch result {
            case .anonymous:
                claims = nil
            case .verified(let verified):
                claims = verified
            case .rejected(let error):
                return deny(.invalidToken(route: route, code: error.code.rawValue), path: path, reason: error.code.rawValue)
            case .keysUnavailable:
                let response = GatewayResponse(status: .serviceUnavailable, code: "keys_unavailable")
                return .answer(response, RequestOutcome(route: route.name, decision: "error", reason: "keys_unavailable", path: path))
            case .awaitingKeys(let refetch):
                return .retryAfter(refetch)
            case .malformed:
                let response = GatewayResponse(
                    status: .badRequest, code: "invalid_request",
                    challenge: BearerChallenge.invalidRequest.headerValue(realm: configuration.identity.realm), close: true)
                return .answer(response, RequestOutcome(route: route.name, decision: "deny", reason: "invalid_request", path: path))
            }
        }
        let decision = snapshot.policy.authorize(route, claims: claims)
        switch decision {
        case .deny:
            return deny(decision, path: path, reason: nil)
        case .allow(_, let identity):
            if let rejection = RequestGuard.checkBodySize(accepted.framing, limits: configuration.limits) {
                let response = GatewayResponse(status: rejection.status, code: rejection.code, close: true)
                return .answer(response, RequestOutcome(route: route.name, decision: "reject", reason: rejection.code, path: path))
            }
            let outcome = RequestOutcome(
                route: route.name, decision: "allow", subject: claims?["sub"]?.stringValue, path: path)
            let rewritten = HeaderRewriter(filter: snapshot.headerFilter).upstreamHeaders(
                from: head.headers, route: route, identity: identity, host: accepted.host,
                client: client, requestID: requestID, framing: accepted.framing)
            var upstreamHead = HTTPRequestHead(version: .http1_1, method: head.method, uri: accepted.target.description, headers: rewritten)
            upstreamHead.headers = rewritten
            return .forward(UpstreamRequest(upstream: route.upstream, head: upstreamHead, framing: accepted.framing, outcome: outcome))
        }
    }

    /// No route for the method: 405 with the methods the client may learn of (protected routes' methods only
    /// with a valid token, which is then verified), else 404.
    private func unrouted(
        _ head: HTTPRequestHead, accepted: RequestGuard.Accepted, now: Double, eventLoop: EventLoop, mayRefetchKeys: Bool
    ) -> Admission {
        let path = accepted.target.path
        var authenticated = false
        if !snapshot.policy.routedMethods(host: accepted.host, path: path).protected.isEmpty {
            let result = authenticator.authenticate(
                headers: head.headers, query: accepted.target.query, snapshot: snapshot, now: now, eventLoop: eventLoop,
                mayRefetch: mayRefetchKeys)
            switch result {
            case .verified: authenticated = true
            case .awaitingKeys(let refetch): return .retryAfter(refetch)
            case .anonymous, .rejected, .malformed, .keysUnavailable: break
            }
        }
        let decision = snapshot.policy.unrouted(host: accepted.host, path: path, authenticated: authenticated)
        guard case .deny(let denial) = decision else { preconditionFailure("an unrouted request is never allowed") }
        let response = GatewayResponse(denial: denial, realm: snapshot.configuration.identity.realm, close: false)
        return .answer(response, RequestOutcome(decision: "deny", reason: denial.reason.rawValue, path: path))
    }

    private func deny(_ decision: Decision, path: String, reason: String?) -> Admission {
        guard case .deny(let denial) = decision else { preconditionFailure("deny called with an allow") }
        let response = GatewayResponse(denial: denial, realm: snapshot.configuration.identity.realm, close: false)
        let outcome = RequestOutcome(
            route: denial.route?.name, decision: "deny", reason: reason ?? denial.reason.rawValue, path: path)
        return .answer(response, outcome)
    }
}
