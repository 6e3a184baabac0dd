import GatewayConfig
import GatewayAdmission

extension RequestAdmission {
    /// What an allowed request becomes once its rate limit answered: forwarded with the `RateLimit` fields,
    /// 429 with them and `Retry-After`, or, when the store could not count it, what the failure mode says
    /// (forwarded without the fields, or 503 `rate_limit_unavailable`). Pure.
    static func counted(
        _ request: UpstreamRequest, _ answer: RateLimitAnswer, failureMode: GatewayConfiguration.FailureMode
    ) -> (Admission, RateLimitResult) {
        guard let check = request.rateLimit else { return (.forward(request), .allowed) }
        let (effect, result) = answer.effect(rule: check.rule, failureMode: failureMode)
        switch effect {
        case .pass(let fields):
            var request = request
            request.addedResponseHeaders = fields
            return (.forward(request), result)
        case .refuse(var response, let verdict, let reason):
            var outcome = request.outcome
            outcome.verdict = verdict
            outcome.reason = reason
            // A browser page may read the refusal when its origin is allowed.
            response.extraHeaders += request.corsHeaders ?? []
            return (.answer(response, outcome), result)
        }
    }
}
