import NIOCore
import NIOHTTP1
import GatewayConfig
import GatewayPolicy
import GatewayAdmission

/// Decision mode: the gateway as an external authorizer. The original request is read from the decision
/// request (``OriginalRequest``) and admitted by the same stages as a proxied one (``RequestAdmission``:
/// guard, canonical path, route, token and its cache, policy); the answer tells the fronting proxy whether
/// the request may pass and with which identity. Nothing is forwarded from here. No I/O.
///
/// - allowed: `200`, no body, the route's identity headers, ``identityHeaderList`` naming them (empty when
///   the route sets none) for proxies that copy a listed set, and ``targetHeader`` with the canonical target the
///   policy judged, for proxies that forward it instead of their own spelling of the URI (as the proxy mode does);
/// - denied: the proxy's answer unchanged (401/403 with the RFC 6750 challenge and the problem document,
///   404, 405, 400, 503), plus ``codeHeader`` with the stable code for proxies (nginx) that rebuild the body.
struct DecisionAdmission {
    /// The header of an allow answer that lists the identity headers it carries, comma-separated.
    static let identityHeaderList = "x-auth-gateway-identity-headers"
    /// The header of an allow answer with the canonical target (path and query) the policy judged.
    static let targetHeader = "x-auth-gateway-target"
    /// Envoy's ext_authz HTTP: request headers Envoy removes before it forwards an allowed request.
    static let envoyHeadersToRemove = "x-envoy-auth-headers-to-remove"
    /// The header of a deny answer with the problem document's stable code.
    static let codeHeader = "x-auth-gateway-code"

    let admission: RequestAdmission
    let settings: DecisionListener

    func admit(
        _ head: HTTPRequestHead, client: ClientConnection, requestID: RequestID, now: Double, eventLoop: EventLoop,
        mayRefetchKeys: Bool = true
    ) -> Admission {
        let original: HTTPRequestHead
        switch OriginalRequest.read(head, peer: client.address, settings: settings) {
        case .success(let read):
            original = read
        case .failure(let refusal):
            var outcome = RequestOutcome(verdict: .reject, reason: .gateway(refusal.code))
            outcome.mode = .decision
            return .answer(Self.denied(GatewayResponse(status: refusal.status, code: refusal.code)), outcome)
        }
        let evaluation = admission.evaluate(
            original, client: client, now: now, eventLoop: eventLoop, mayRefetchKeys: mayRefetchKeys)
        switch evaluation {
        case .retryAfter(let refetch):
            return .retryAfter(refetch)
        case .answer(let response, var outcome):
            outcome.mode = .decision
            outcome.originalMethod = original.method.rawValue
            // A CORS preflight the route allows passes without identity; the upstream or the proxy answers it.
            if response.status == .noContent, outcome.verdict == .allow, let path = outcome.path {
                let query = original.uri.firstIndex(of: "?").map { original.uri[$0...] } ?? ""
                return .answer(Self.allowed([], target: path + query), outcome)
            }
            return .answer(Self.denied(response), outcome)
        case .allowed(let allowed):
            var outcome = allowed.outcome
            outcome.mode = .decision
            outcome.originalMethod = original.method.rawValue
            var response = Self.allowed(allowed.identity, target: allowed.accepted.target.description)
            if settings.decisionProtocol.isEnvoy {
                let removed = headersToRemove(original.headers, keeping: allowed.identity)
                if !removed.isEmpty { response.extraHeaders.append((Self.envoyHeadersToRemove, removed)) }
            }
            // The route's rate limit counts what the gateway vouches for: the verified token's claims or the
            // route. The client's address is the proxy's here, so `client_address` limits are the proxy's job.
            guard let rule = allowed.route.rateLimit, rule.key != .clientAddress else { return .answer(response, outcome) }
            let check = RateLimitCheck(rule: rule, bucket: rule.bucket(claims: allowed.claims, clientAddress: ""))
            return .allowIfCounted(response, outcome, check)
        }
    }

    /// The final answer once the rate limit answered: the allow answer with the `RateLimit` fields, the
    /// gateway's 429 (with `Retry-After`, as a denial the proxy passes on), or what the failure mode says. Pure.
    static func counted(
        _ allow: GatewayResponse, _ outcome: RequestOutcome, _ check: RateLimitCheck, answer: RateLimitAnswer,
        failureMode: GatewayConfiguration.FailureMode
    ) -> (response: GatewayResponse, outcome: RequestOutcome, result: RateLimitResult) {
        let (effect, result) = answer.effect(rule: check.rule, failureMode: failureMode)
        switch effect {
        case .pass(let fields):
            var response = allow
            response.extraHeaders += fields
            return (response, outcome, result)
        case .refuse(let response, let verdict, let reason):
            var outcome = outcome
            outcome.verdict = verdict
            outcome.reason = reason
            return (denied(response), outcome, result)
        }
    }

    /// For Envoy, which overwrites the identity headers of the answer but keeps any other header of the client:
    /// every header of the check request that the proxy mode would strip as an identity spelling (in any
    /// case, `_` or `.`), and every identity header of the policies this answer does not set. Envoy passes
    /// only the headers its configuration includes in the check (`includeRequestHeadersInCheck`), so the
    /// mesh configuration includes the identity namespace (deploy/istio/).
    private func headersToRemove(_ headers: HTTPHeaders, keeping identity: [IdentityHeader]) -> String {
        // Envoy overwrites exactly the names it sets (in any case); `X_User_Id` is another header and goes.
        var seen = Set(identity.map { $0.name.lowercased() })
        let managed = Set((ClientHeaderDenylist.managed + Self.envoyOwned).map(ClientHeaderFilter.normalize))
        var names: [String] = []
        for name in headers.map(\.name) + admission.snapshot.policy.identityHeaderNames.sorted() {
            let lowered = name.lowercased()
            guard !managed.contains(ClientHeaderFilter.normalize(name)), !lowered.hasPrefix("x-envoy-"),
                admission.snapshot.headerFilter.strips(name),
                seen.insert(lowered).inserted
            else { continue }
            names.append(lowered)
        }
        return names.joined(separator: ", ")
    }

    /// What Envoy itself sets on the request it forwards (from the connection, not the client): never removed.
    private static let envoyOwned = [
        "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-forwarded-port", "x-forwarded-client-cert",
    ]

    /// `200` with the identity headers, their list and the canonical target.
    static func allowed(_ identity: [IdentityHeader], target: String) -> GatewayResponse {
        var response = GatewayResponse(status: .ok, code: .decisionAllow)
        response.extraHeaders = identity.map { ($0.name, $0.value) }
        response.extraHeaders.append((identityHeaderList, identity.map(\.name).joined(separator: ", ")))
        response.extraHeaders.append((targetHeader, target))
        return response
    }

    /// The gateway's own answer with its code in ``codeHeader``. The decision request itself was well-formed,
    /// so the proxy's connection stays open whatever the original request did wrong.
    static func denied(_ response: GatewayResponse) -> GatewayResponse {
        var response = response
        response.close = false
        response.extraHeaders.append((codeHeader, response.code.rawValue))
        return response
    }
}
