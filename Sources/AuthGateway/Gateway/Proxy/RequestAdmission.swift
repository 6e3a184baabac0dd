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
    /// The request waits for its rate-limit store; its admission follows with
    /// ``ExchangeStateMachine/counted(_:serial:responseTimeout:now:)``.
    case awaitingCount
    /// Decision mode: an allow answer that its route's rate limit still has to count
    /// (``DecisionAdmission/counted(_:_:_:answer:failureMode:)`` makes the final answer).
    case allowIfCounted(GatewayResponse, RequestOutcome, RateLimitCheck)
}

/// The admission stages of docs/ARCHITECTURE.md "One request", in order.
struct RequestAdmission {
    let snapshot: GatewaySnapshot
    let authenticator: TokenAuthenticator

    /// A request the policy allowed, before anything is built for the upstream: the proxy forwards it
    /// (``admit(_:client:requestID:now:eventLoop:mayRefetchKeys:)``), decision mode answers 200 with `identity`.
    struct Allowed {
        let route: Route
        let identity: [IdentityHeader]
        let accepted: RequestGuard.Accepted
        let outcome: RequestOutcome
        /// The verified claims (a rate limit's bucket may be keyed by one).
        let claims: [String: JSONValue]?
    }

    /// What the admission stages decided about `head`, shared by the proxy and decision mode.
    enum Evaluation {
        case allowed(Allowed)
        case answer(GatewayResponse, RequestOutcome)
        case retryAfter(EventLoopFuture<Void>)
    }

    func admit(
        _ head: HTTPRequestHead, client: ClientConnection, requestID: RequestID, now: Double, eventLoop: EventLoop,
        mayRefetchKeys: Bool = true
    ) -> Admission {
        switch evaluate(head, client: client, now: now, eventLoop: eventLoop, mayRefetchKeys: mayRefetchKeys) {
        case .retryAfter(let refetch):
            return .retryAfter(refetch)
        case .answer(let response, let outcome):
            return .answer(response, outcome)
        case .allowed(let allowed):
            let rewritten = HeaderRewriter(filter: snapshot.headerFilter).upstreamHeaders(
                from: head.headers, route: allowed.route, identity: allowed.identity, host: allowed.accepted.host,
                client: client, requestID: requestID, framing: allowed.accepted.framing)
            let upstreamHead = HTTPRequestHead(
                version: .http1_1, method: head.method, uri: allowed.accepted.target.description, headers: rewritten)
            return .forward(UpstreamRequest(
                upstream: allowed.route.upstream, head: upstreamHead, framing: allowed.accepted.framing,
                outcome: allowed.outcome,
                corsHeaders: allowed.route.cors?.responseHeaders(origin: head.headers.first(name: "origin")),
                rateLimit: allowed.route.rateLimit.map {
                    RateLimitCheck(rule: $0, bucket: $0.bucket(claims: allowed.claims, clientAddress: client.poolKey))
                }))
        }
    }

    func evaluate(
        _ head: HTTPRequestHead, client: ClientConnection, now: Double, eventLoop: EventLoop, mayRefetchKeys: Bool = true
    ) -> Evaluation {
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
        // A CORS preflight never carries a token: one its route allows is answered here, before authentication.
        if let answer = preflight(head, accepted) { return answer }
        let outcome = AdmissionCore.decide(snapshot.policy, method: head.method.rawValue, host: accepted.host, path: path) {
            authenticator.authenticate(
                headers: head.headers, query: accepted.target.query, keys: snapshot.tokenKeys, now: now, eventLoop: eventLoop,
                mayRefetch: mayRefetchKeys)
        }
        switch outcome {
        case .needsKeys(let refetch):
            return .retryAfter(refetch)
        case .keysUnavailable(let route):
            let response = GatewayResponse(status: .serviceUnavailable, code: .keysUnavailable)
            return .answer(response, RequestOutcome(route: route.name, verdict: .error, reason: .keysUnavailable, path: path, host: accepted.host))
        case .invalidRequest(let route):
            let response = GatewayResponse(
                status: .badRequest, code: .invalidRequest,
                challenge: BearerChallenge.invalidRequest.headerValue(realm: configuration.identity.realm), close: true)
            return .answer(response, RequestOutcome(
                route: route.name, verdict: .deny, reason: .gateway(.invalidRequest), path: path, host: accepted.host))
        case .decided(.deny(let denial), let claims, let tokenError):
            return deny(denial, accepted, reason: tokenError.map { .token($0.code) }, claims: claims, head: head)
        case .decided(.allow(let route, let identity), let claims, _):
            if let rejection = RequestGuard.checkBodySize(accepted.framing, limits: configuration.limits) {
                let response = GatewayResponse(status: rejection.status, code: rejection.code, close: true)
                return .answer(response, RequestOutcome(
                    route: route.name, verdict: .reject, reason: .gateway(rejection.code), path: path,
                    host: accepted.host, claims: claims))
            }
            let outcome = RequestOutcome(route: route.name, verdict: .allow, path: path, host: accepted.host, claims: claims)
            return .allowed(Allowed(route: route, identity: identity, accepted: accepted, outcome: outcome, claims: claims))
        }
    }

    /// A denial; `claims` (once a token was verified) name the subject and issuer in the record.
    private func deny(
        _ denial: Denial, _ accepted: RequestGuard.Accepted, reason: OutcomeReason?, claims: [String: JSONValue]?,
        head: HTTPRequestHead
    ) -> Evaluation {
        var response = GatewayResponse(denial: denial, realm: snapshot.configuration.identity.realm, close: false)
        // A browser page may read the gateway's 401 or 403 when its origin is allowed.
        if let cors = denial.route?.cors { response.extraHeaders = cors.responseHeaders(origin: origin(of: head)) }
        var outcome = RequestOutcome(
            route: denial.route?.name, verdict: .deny, reason: reason ?? .denied(denial.reason),
            path: accepted.target.path, host: accepted.host, claims: claims)
        outcome.deniedBy = denial.deniedBy
        return .answer(response, outcome)
    }

    private func origin(of head: HTTPRequestHead) -> String? { head.headers.first(name: "origin") }

    /// `OPTIONS` with `Origin` and `Access-Control-Request-Method` on a path whose route for the requested
    /// method allows that origin, method and headers: `204` with the CORS headers. Anything else is an ordinary
    /// request (no CORS headers, so the browser refuses the real request).
    private func preflight(_ head: HTTPRequestHead, _ accepted: RequestGuard.Accepted) -> Evaluation? {
        guard head.method == .OPTIONS, let origin = origin(of: head),
            let method = head.headers.first(name: "access-control-request-method"),
            let route = snapshot.policy.route(method: method, host: accepted.host, path: accepted.target.path),
            let cors = route.cors
        else { return nil }
        let requested = head.headers.listElements("access-control-request-headers").map(String.init)
        guard let headers = cors.preflight(origin: origin, method: method, requestHeaders: requested, routeMethods: route.methods)
        else { return nil }
        return .answer(.preflight(headers), RequestOutcome(
            route: route.name, verdict: .allow, reason: .gateway(.corsPreflight), path: accepted.target.path, host: accepted.host))
    }
}