import GatewayAdmission
import GatewayConfig
import GatewayObservability
import GatewayPolicy
import NIOHTTP1
import Testing

@testable import AuthGateway

/// What a store's answer makes of an allowed request: forwarded with the fields, 429, or the failure mode.
@Suite("Rate-limited admission")
struct RateLimitAdmissionTests {
    static let rule = RateLimitRule(name: "data", key: .sub, requests: 10, periodSeconds: 60, burst: 5, store: .redis)

    static func request() -> UpstreamRequest {
        var outcome = RequestOutcome(route: "data", verdict: .allow, path: "/x", claims: ["sub": "alice", "iss": "https://idp"])
        outcome.deniedBy = nil
        return UpstreamRequest(
            upstream: "svc", head: HTTPRequestHead(version: .http1_1, method: .GET, uri: "/x"), framing: .none,
            outcome: outcome, corsHeaders: [("access-control-allow-origin", "https://app.example")],
            rateLimit: RateLimitCheck(rule: rule, bucket: "alice"))
    }

    @Test("allowed: forwarded, and the client's answer will carry RateLimit-Policy and RateLimit")
    func allowed() {
        let result = RateLimitGCRA.Result(allowed: true, tat: 0, remaining: 3, retryAfter: 0, reset: 12_000_000_000)
        let (admission, metric) = RequestAdmission.counted(Self.request(), .counted(result), failureMode: .failClosed)
        guard case .forward(let request) = admission else {
            Issue.record("\(admission)")
            return
        }
        #expect(metric == .allowed)
        #expect(request.addedResponseHeaders.map(\.0) == ["ratelimit-policy", "ratelimit"])
        #expect(request.addedResponseHeaders.last?.1 == #""data";r=3;t=12"#)
    }

    @Test("refused: 429 rate_limited with Retry-After and the CORS headers, recorded as reject with the subject")
    func refused() {
        let result = RateLimitGCRA.Result(allowed: false, tat: 0, remaining: 0, retryAfter: 5_500_000_000, reset: 30_000_000_000)
        let (admission, metric) = RequestAdmission.counted(Self.request(), .counted(result), failureMode: .failOpen)
        guard case .answer(let response, let outcome) = admission else {
            Issue.record("\(admission)")
            return
        }
        #expect(metric == .limited)
        #expect(response.status == .tooManyRequests && response.code == .rateLimited)
        #expect(response.extraHeaders.contains { $0 == ("retry-after", "6") })
        #expect(response.extraHeaders.contains { $0.0 == "access-control-allow-origin" })
        #expect(outcome.verdict == .reject && outcome.reason == .gateway(.rateLimited) && outcome.subject == "alice")
    }

    @Test("the store could not count: fail_open forwards without fields, fail_closed answers 503")
    func unavailable() {
        let (open, openMetric) = RequestAdmission.counted(Self.request(), .unavailable(reason: "down"), failureMode: .failOpen)
        guard case .forward(let request) = open else {
            Issue.record("\(open)")
            return
        }
        #expect(openMetric == .failedOpen && request.addedResponseHeaders.isEmpty)
        let (closed, closedMetric) = RequestAdmission.counted(Self.request(), .unavailable(reason: "down"), failureMode: .failClosed)
        guard case .answer(let response, let outcome) = closed else {
            Issue.record("\(closed)")
            return
        }
        #expect(closedMetric == .failedClosed)
        #expect(response.status == .serviceUnavailable && response.code == .rateLimitUnavailable)
        #expect(outcome.verdict == .error)
    }
}
