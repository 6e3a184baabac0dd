import GatewayPolicy
import JOSE

/// A stable code of the gateway's own: in its answers' problem documents, the access log's `reason` and the
/// metrics. Codes never change meaning. The policy's codes are ``DenyReason``s; the token verifier's are
/// ``JOSEError/Code``s; these are the rest.
package struct GatewayCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    package let rawValue: String
    package init(rawValue: String) { self.rawValue = rawValue }
    package var description: String { rawValue }

    /// The answer's code for a policy denial.
    package init(_ reason: DenyReason) { self.init(rawValue: reason.rawValue) }

    // Requests the gateway cannot take (400, 413, 414, 431, 501, 505): the connection closes.
    package static let badRequest = GatewayCode(rawValue: "bad_request")
    /// A CORS preflight the route allows, answered by the gateway (204).
    package static let corsPreflight = GatewayCode(rawValue: "cors_preflight")
    package static let badPath = GatewayCode(rawValue: "bad_path")
    package static let badHost = GatewayCode(rawValue: "bad_host")
    package static let badFraming = GatewayCode(rawValue: "bad_framing")
    package static let httpVersion = GatewayCode(rawValue: "http_version")
    package static let uriTooLong = GatewayCode(rawValue: "uri_too_long")
    package static let tooManyHeaders = GatewayCode(rawValue: "too_many_headers")
    package static let headersTooLarge = GatewayCode(rawValue: "headers_too_large")
    package static let bodyTooLarge = GatewayCode(rawValue: "body_too_large")
    /// Two credentials, or a token in the query (RFC 6750 §3.1 `invalid_request`).
    package static let invalidRequest = GatewayCode(rawValue: "invalid_request")

    // The gateway's clocks on an exchange: a body too slow or stopped (408), an answer the client does not take.
    package static let bodyTimeout = GatewayCode(rawValue: "body_timeout")
    package static let bodyTooSlow = GatewayCode(rawValue: "body_too_slow")
    package static let sendTimeout = GatewayCode(rawValue: "send_timeout")

    /// 429: the route's `rate_limit` refused the request.
    package static let rateLimited = GatewayCode(rawValue: "rate_limited")
    /// 503: the rate-limit store could not count the request and its failure mode is `fail_closed`.
    package static let rateLimitUnavailable = GatewayCode(rawValue: "rate_limit_unavailable")

    /// 503: an issuer's keys are not available.
    package static let keysUnavailable = GatewayCode(rawValue: "keys_unavailable")

    // Answers for upstream failures (see ``UpstreamFailure``).
    package static let upstreamError = GatewayCode(rawValue: "upstream_error")
    package static let upstreamTimeout = GatewayCode(rawValue: "upstream_timeout")
    package static let noHealthyUpstream = GatewayCode(rawValue: "no_healthy_upstream")
    package static let upstreamSaturated = GatewayCode(rawValue: "upstream_saturated")

    // Decision mode (docs/CONFIGURATION.md, "Decision mode").
    /// 200: the original request may pass.
    package static let decisionAllow = GatewayCode(rawValue: "allow")
    /// 403: a decision request from a peer outside the listener's `trusted_peers`.
    package static let untrustedPeer = GatewayCode(rawValue: "untrusted_peer")
    /// 400: a decision request that does not say which request it is about (a header missing or doubled, a
    /// method or URI that cannot be read, a path outside Envoy's prefix).
    package static let badDecisionRequest = GatewayCode(rawValue: "bad_decision_request")
}

/// How the listener served a request: proxied, or answered as a decision for a fronting proxy.
package enum ServingMode: String, Sendable {
    case proxy
    case decision
}

/// How a request ended, in one word: the access log's `decision` and a metric label.
package enum Verdict: String, Sendable, CaseIterable {
    /// Admitted and forwarded.
    case allow
    /// Refused by the policy or the token check (401, 403, 404, 405).
    case deny
    /// Refused as malformed or over a limit (400, 408, 413, 414, 431, ...).
    case reject
    /// The gateway or an upstream failed it (502, 503, 504).
    case error
}

/// Why a request ended as it did: one typed vocabulary from admission to the access log and the metrics.
package enum OutcomeReason: Hashable, Sendable, CustomStringConvertible {
    /// The policy denied it (its reason code).
    case denied(DenyReason)
    /// The token verifier refused the token (its reason code).
    case token(JOSEError.Code)
    /// The gateway refused the request, or cut an exchange it had admitted.
    case gateway(GatewayCode)
    /// The issuer's keys were not available.
    case keysUnavailable
    /// The upstream exchange failed.
    case upstream(UpstreamFailure)

    /// The stable code, as the access log prints it.
    package var code: String {
        switch self {
        case .denied(let reason): return reason.rawValue
        case .token(let code): return code.rawValue
        case .gateway(let code): return code.rawValue
        case .keysUnavailable: return GatewayCode.keysUnavailable.rawValue
        case .upstream(let failure): return failure.label
        }
    }

    package var description: String { code }
}

/// What the access log and the metrics record about a request's admission.
package struct RequestOutcome: Sendable {
    package var route: String?
    package var verdict: Verdict
    package var reason: OutcomeReason?
    /// The verified token's `sub` and `iss`, when a token was verified (allowed or not).
    package var subject: String?
    package var issuer: String?
    package var path: String?
    /// The `Host` the request was routed on, once validated.
    package var host: String?
    /// For a policy denial, what denied it (``Denial/deniedBy``).
    package var deniedBy: String?
    /// Decision mode: the answer was a decision, about a request with this method.
    package var mode = ServingMode.proxy
    package var originalMethod: String?

    package init(
        route: String? = nil, verdict: Verdict, reason: OutcomeReason? = nil, path: String? = nil, host: String? = nil,
        claims: [String: JSONValue]? = nil
    ) {
        self.route = route
        self.verdict = verdict
        self.reason = reason
        self.path = path
        self.host = host
        self.subject = claims?["sub"]?.stringValue
        self.issuer = claims?["iss"]?.stringValue
    }
}
