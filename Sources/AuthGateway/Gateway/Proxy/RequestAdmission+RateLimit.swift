import GatewayConfig
import GatewayAdmission
import GatewayObservability

extension RequestAdmission {
    /// What an allowed request becomes once its rate limit answered: forwarded with the `RateLimit` fields,
    /// 429 with them and `Retry-After`, or, when the store could not count it, what the failure mode says
    /// (forwarded without the fields, or 503 `rate_limit_unavailable`). Pure.
    static func counted(
        _ request: UpstreamRequest, _ answer: RateLimitAnswer, failureMode: GatewayConfiguration.FailureMode
    ) -> (Admission, RateLimitMetrics.Result) {
        guard let check = request.rateLimit else { return (.forward(request), .allowed) }
        switch answer {
        case .counted(let result) where result.allowed:
            var request = request
            request.addedResponseHeaders = RateLimitAnswer.fields(result, rule: check.rule)
            return (.forward(request), .allowed)
        case .counted(let result):
            var outcome = request.outcome
            outcome.verdict = .reject
            outcome.reason = .gateway(.rateLimited)
            var response = RateLimitAnswer.refusal(result, rule: check.rule)
            response.extraHeaders += request.corsHeaders ?? []
            return (.answer(response, outcome), .limited)
        case .unavailable:
            guard failureMode == .failClosed else { return (.forward(request), .failedOpen) }
            var outcome = request.outcome
            outcome.verdict = .error
            outcome.reason = .gateway(.rateLimitUnavailable)
            var response = RateLimitAnswer.unavailableResponse
            response.extraHeaders = request.corsHeaders ?? []
            return (.answer(response, outcome), .failedClosed)
        }
    }
}
