import NIOHTTP1
import GatewayPolicy
import GatewayConfig

/// One request's turn with a rate limit: the rule and the bucket it counts against, set by admission on an
/// allowed request whose route has a `rate_limit`.
package struct RateLimitCheck: Sendable {
    package let rule: RateLimitRule
    package let bucket: String

    package init(rule: RateLimitRule, bucket: String) {
        self.rule = rule
        self.bucket = bucket
    }
}

/// What a rate-limit store answered for one request, and what follows from it: forward with the
/// `RateLimit` fields, 429, or (the store could not answer) the failure mode.
package enum RateLimitAnswer: Sendable {
    case counted(RateLimitGCRA.Result)
    /// The store could not count the request (Redis down or slow, the local table full); `reason` is the
    /// metric label.
    case unavailable(reason: String)

    /// The response fields of draft-ietf-httpapi-ratelimit-headers for a counted request: `RateLimit-Policy`
    /// and `RateLimit`, plus `Retry-After` (RFC 9110 §10.2.3) when refused. Times in whole seconds, rounded up.
    package static func fields(_ result: RateLimitGCRA.Result, rule: RateLimitRule, nanosecondsPerUnit: Int64 = 1) -> [(String, String)] {
        func seconds(_ value: Int64) -> Int64 {
            let nanoseconds = value * nanosecondsPerUnit
            return max(0, (nanoseconds + 999_999_999) / 1_000_000_000)
        }
        var fields = [
            ("ratelimit-policy", rule.policyFieldValue),
            ("ratelimit", "\(rule.structuredName);r=\(result.remaining);t=\(seconds(result.reset))"),
        ]
        if !result.allowed { fields.append(("retry-after", String(max(1, seconds(result.retryAfter))))) }
        return fields
    }

    /// The gateway's 429 for a refused request.
    package static func refusal(_ result: RateLimitGCRA.Result, rule: RateLimitRule, nanosecondsPerUnit: Int64 = 1) -> GatewayResponse {
        var response = GatewayResponse(status: .tooManyRequests, code: .rateLimited)
        response.extraHeaders = fields(result, rule: rule, nanosecondsPerUnit: nanosecondsPerUnit)
        return response
    }

    /// The gateway's 503 while the store cannot answer under `fail_closed`.
    package static let unavailableResponse = GatewayResponse(status: .serviceUnavailable, code: .rateLimitUnavailable)

    /// What the answer does to the request, however the gateway serves it (proxied, or as a decision).
    package enum Effect {
        /// Let it through, with these response fields (none when the store could not count it: `fail_open`).
        case pass(fields: [(String, String)])
        /// Answer it with this response, recorded with this verdict and reason.
        case refuse(GatewayResponse, verdict: Verdict, reason: OutcomeReason)
    }

    /// The answer's effect under `failureMode`, and how the metrics count it.
    package func effect(rule: RateLimitRule, failureMode: GatewayConfiguration.FailureMode) -> (Effect, RateLimitResult) {
        switch self {
        case .counted(let result) where result.allowed:
            return (.pass(fields: Self.fields(result, rule: rule)), .allowed)
        case .counted(let result):
            return (.refuse(Self.refusal(result, rule: rule), verdict: .reject, reason: .gateway(.rateLimited)), .limited)
        case .unavailable:
            guard failureMode == .failClosed else { return (.pass(fields: []), .failedOpen) }
            return (.refuse(Self.unavailableResponse, verdict: .error, reason: .gateway(.rateLimitUnavailable)), .failedClosed)
        }
    }
}

/// How one rate-limited request was decided: the `result` label of `gateway_rate_limit_checks_total`.
package enum RateLimitResult: String, Sendable {
    case allowed
    case limited
    /// The store could not answer; `fail_open` let the request through.
    case failedOpen = "failed_open"
    /// The store could not answer; `fail_closed` answered 503.
    case failedClosed = "failed_closed"
}
