import Foundation
import NIOCore
import GatewayAdmission
import GatewayObservability
import GatewayAuth
import Logging

/// Everything one event loop owns: the current snapshot, the verified-token cache, the upstream pool,
/// the request-id generator and the observer. Requests on this loop use it without locks.
final class LoopContext {
    let eventLoop: EventLoop
    private(set) var snapshot: GatewaySnapshot
    let authenticator: TokenAuthenticator
    let pool: UpstreamPool
    let rateLimiter: LoopRateLimiter
    let observer: LoopObserver
    private var requestIDs = RequestID.Generator()

    init(
        eventLoop: EventLoop, snapshot: GatewaySnapshot, observer: GatewayObserver, metrics: GatewayMetrics?,
        logger: Logger = Logger(label: "auth-gateway")
    ) {
        self.eventLoop = eventLoop
        self.snapshot = snapshot
        self.observer = observer.makeLoopObserver(for: eventLoop)
        self.authenticator = TokenAuthenticator(
            cache: VerifiedTokenCache(capacity: snapshot.configuration.tokenCache.maxEntries, generation: snapshot.keyGeneration),
            metrics: metrics.map(AuthenticatorMetrics.init)
        )
        self.pool = UpstreamPool(eventLoop: eventLoop)
        self.rateLimiter = LoopRateLimiter(
            eventLoop: eventLoop, snapshot: snapshot, metrics: metrics.map(RateLimitMetrics.init),
            logger: logger)
    }

    /// Installs a new snapshot (on this loop). The token cache notices the key generation itself.
    func install(_ snapshot: GatewaySnapshot) {
        eventLoop.preconditionInEventLoop()
        self.snapshot = snapshot
        pool.closeIdle()
        rateLimiter.install(snapshot)
    }

    func nextRequestID() -> RequestID {
        requestIDs.next()
    }

    /// Wall-clock seconds since 1970, for token times.
    func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}

@available(*, unavailable)
extension LoopContext: Sendable {}
