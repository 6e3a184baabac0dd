import GRPCCore
import NIOCore
import NIOHTTP1
import GatewayConfig
import GatewayAdmission
import GatewayObservability

/// Envoy's `envoy.service.auth.v3.Authorization/Check` for a decision listener with `protocol:
/// envoy_ext_authz_grpc`. Thin: each call is translated (``ExtAuthzCheck``) and decided on one of the
/// gateway's event loops by ``DecisionAdmission``, with that loop's snapshot, verified-token cache and
/// observers, exactly as an HTTP decision request; a token naming a key the provider may just have published
/// waits for one re-fetch, as on the other listeners.
@available(macOS 15.0, iOS 18.0, watchOS 11.0, tvOS 18.0, visionOS 2.0, *)
struct ExtAuthzService: Envoy_Service_Auth_V3_Authorization.SimpleServiceProtocol {
    let loops: [NIOLoopBound<LoopContext>]
    let settings: DecisionListener

    func check(
        request: Envoy_Service_Auth_V3_CheckRequest, context: ServerContext
    ) async throws -> Envoy_Service_Auth_V3_CheckResponse {
        guard let bound = loops.randomElement() else { throw RPCError(code: .unavailable, message: "no event loop") }
        let head = ExtAuthzCheck.head(request)
        let peer = ExtAuthzCheck.peerAddress(context.remotePeer)
        let settings = settings
        return try await bound.eventLoop.flatSubmit {
            Self.decide(bound, head, peer: peer, settings: settings, requestID: nil, started: nil, mayRefetchKeys: true)
        }.get()
    }

    /// Decides on `bound`'s loop; reports the request once it is answered.
    private static func decide(
        _ bound: NIOLoopBound<LoopContext>, _ head: HTTPRequestHead, peer: String, settings: DecisionListener,
        requestID: RequestID?, started: Double?, mayRefetchKeys: Bool
    ) -> EventLoopFuture<Envoy_Service_Auth_V3_CheckResponse> {
        let loop = bound.value
        let requestID = requestID ?? loop.nextRequestID()
        let started = started ?? loop.now()
        let client = ClientConnection(address: peer, isHTTP2: true)
        let admission = DecisionAdmission(
            admission: RequestAdmission(snapshot: loop.snapshot, authenticator: loop.authenticator), settings: settings)
        switch admission.admit(
            head, client: client, requestID: requestID, now: loop.now(), eventLoop: loop.eventLoop,
            mayRefetchKeys: mayRefetchKeys)
        {
        case .retryAfter(let refetch):
            // Admitted once more whether or not the re-fetch succeeded (then without another re-fetch).
            return refetch.recover { _ in }.flatMap {
                decide(
                    bound, head, peer: peer, settings: settings, requestID: requestID, started: started,
                    mayRefetchKeys: false)
            }
        case .answer(let response, let outcome):
            let answer = ExtAuthzCheck.response(response, requestID: requestID.text)
            loop.observer.requestFinished(record(
                head, outcome, status: Int(response.status.code), peer: peer, requestID: requestID, started: started,
                now: loop.now(), bytesOut: answer.deniedResponse.body.utf8.count))
            return loop.eventLoop.makeSucceededFuture(answer)
        case .allowIfCounted(let allow, let outcome, let check):
            let counted: EventLoopFuture<RateLimitAnswer>
            switch loop.rateLimiter.check(check) {
            case .answered(let answer): counted = loop.eventLoop.makeSucceededFuture(answer)
            case .pending(let reply): counted = reply
            }
            return counted.recover { _ in .unavailable(reason: "error") }.assumeIsolated().map { answer in
                let failureMode = loop.snapshot.configuration.rateLimits.failureMode
                let final = DecisionAdmission.counted(allow, outcome, check, answer: answer, failureMode: failureMode)
                loop.rateLimiter.record(final.result, answer: answer, route: outcome.route, check: check)
                let response = ExtAuthzCheck.response(final.response, requestID: requestID.text)
                loop.observer.requestFinished(record(
                    head, final.outcome, status: Int(final.response.status.code), peer: peer, requestID: requestID,
                    started: started, now: loop.now(), bytesOut: response.deniedResponse.body.utf8.count))
                return response
            }.nonisolated()
        case .forward, .awaitingCount:
            // Decision mode never forwards; should it ever, the request is refused rather than allowed.
            return loop.eventLoop.makeFailedFuture(RPCError(code: .internalError, message: "no decision"))
        }
    }

    private static func record(
        _ head: HTTPRequestHead, _ outcome: RequestOutcome, status: Int, peer: String, requestID: RequestID,
        started: Double, now: Double, bytesOut: Int
    ) -> RequestRecord {
        RequestRecord(
            requestID: requestID.text, clientAddress: peer, method: outcome.originalMethod ?? head.method.rawValue,
            path: outcome.path ?? "-", route: outcome.route, verdict: outcome.verdict, reason: outcome.reason,
            subject: outcome.subject, issuer: outcome.issuer, status: status, upstream: nil, upstreamTarget: nil,
            startedAt: started, duration: now - started, upstreamDuration: nil, bytesIn: 0, bytesOut: bytesOut,
            protocolName: "gRPC", host: outcome.host, userAgent: head.headers.first(name: "user-agent"),
            deniedBy: outcome.deniedBy, mode: .decision)
    }
}
