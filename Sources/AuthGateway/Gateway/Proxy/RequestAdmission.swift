import JOSE
import NIOCore
import NIOHTTP1
import GatewayPolicy
import GatewayAdmission
import GatewayAuth

/// What happens to one request head: forwarded upstream with rewritten headers, or answered by the
/// gateway. Computed from the head, the connection, the snapshot and the verified claims; no I/O.
enum Admission {
    case forward(UpstreamRequest)
    case answer(GatewayResponse, RequestOutcome)
    /// Admit the request again once the issuer's keys were re-fetched (an unknown `kid`).
    case retryAfter(EventLoopFuture<Void>)
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
            return .answer(response, RequestOutcome(verdict: .reject, reason: .gateway(rejection.code)))
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
                headers: head.headers, query: accepted.target.query, keys: snapshot.tokenKeys, now: now, eventLoop: eventLoop,
                mayRefetch: mayRefetchKeys)
            switch result {
            case .anonymous:
                claims = nil
            case .verified(let verified):
                claims = verified
            case .rejected(let error):
                return deny(
                    .invalidToken(route: route, code: error.code.rawValue), accepted, reason: .token(error.code), claims: nil)
            case .keysUnavailable:
                let response = GatewayResponse(status: .serviceUnavailable, code: .keysUnavailable)
                return .answer(response, RequestOutcome(route: route.name, verdict: .error, reason: .keysUnavailable, path: path, host: accepted.host))
            case .awaitingKeys(let refetch):
                return .retryAfter(refetch)
            case .invalidRequest:
                let response = GatewayResponse(
                    status: .badRequest, code: .invalidRequest,
                    challenge: BearerChallenge.invalidRequest.headerValue(realm: configuration.identity.realm), close: true)
                return .answer(response, RequestOutcome(
                    route: route.name, verdict: .deny, reason: .gateway(.invalidRequest), path: path, host: accepted.host))
            }
        }
        let decision = snapshot.policy.authorize(route, claims: claims)
        switch decision {
        case .deny:
            return deny(decision, accepted, reason: nil, claims: claims)
        case .allow(_, let identity):
            if let rejection = RequestGuard.checkBodySize(accepted.framing, limits: configuration.limits) {
                let response = GatewayResponse(status: rejection.status, code: rejection.code, close: true)
                return .answer(response, RequestOutcome(
                    route: route.name, verdict: .reject, reason: .gateway(rejection.code), path: path,
                    host: accepted.host, claims: claims))
            }
            let outcome = RequestOutcome(route: route.name, verdict: .allow, path: path, host: accepted.host, claims: claims)
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
        let routed = snapshot.policy.routedMethods(host: accepted.host, path: path)
        if !routed.protected.isEmpty {
            let result = authenticator.authenticate(
                headers: head.headers, query: accepted.target.query, keys: snapshot.tokenKeys, now: now, eventLoop: eventLoop,
                mayRefetch: mayRefetchKeys)
            switch result {
            case .verified: authenticated = true
            case .awaitingKeys(let refetch): return .retryAfter(refetch)
            case .anonymous, .rejected, .invalidRequest, .keysUnavailable: break
            }
        }
        let decision = snapshot.policy.unrouted(routed, authenticated: authenticated)
        guard case .deny(let denial) = decision else { preconditionFailure("an unrouted request is never allowed") }
        let response = GatewayResponse(denial: denial, realm: snapshot.configuration.identity.realm, close: false)
        return .answer(response, RequestOutcome(verdict: .deny, reason: .denied(denial.reason), path: path, host: accepted.host))
    }

    /// A denial; `claims` (once a token was verified) name the subject and issuer in the record.
    private func deny(
        _ decision: Decision, _ accepted: RequestGuard.Accepted, reason: OutcomeReason?, claims: [String: JSONValue]?
    ) -> Admission {
        guard case .deny(let denial) = decision else { preconditionFailure("deny called with an allow") }
        let response = GatewayResponse(denial: denial, realm: snapshot.configuration.identity.realm, close: false)
        let outcome = RequestOutcome(
            route: denial.route?.name, verdict: .deny, reason: reason ?? .denied(denial.reason),
            path: accepted.target.path, host: accepted.host, claims: claims)
        return .answer(response, outcome)
    }
}
