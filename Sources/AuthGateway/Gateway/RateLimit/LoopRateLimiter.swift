import NIOCore
import Logging
import GatewayPolicy
import GatewayConfig
import GatewayAdmission
import GatewayObservability
import GatewayRedis

/// The rate-limit stores of one event loop: its share of the local buckets, and the loop's Redis connection
/// when the configuration has one. Loop-confined, like the rest of ``LoopContext``.
///
/// Local buckets are sharded over the event loops by key: each bucket lives on one loop (its home, from a
/// hash of the rule and the key) and only that loop touches it, so no bucket needs a lock and a key is
/// counted exactly once per gateway process however its connections are spread. A check whose home is
/// another loop hops there and back (a task on that loop); one at home is answered at once.
final class LoopRateLimiter {
    /// A store's answer: at once (local, or Redis known to be away), or once Redis replies.
    enum Outcome {
        case answered(RateLimitAnswer)
        case pending(EventLoopFuture<RateLimitAnswer>)
    }

    private let eventLoop: EventLoop
    private let logger: Logger
    let metrics: RateLimitMetrics?
    private var local: LocalRateLimiter
    private var redis: RedisRateLimitStore?
    private var redisSettings: GatewayConfiguration.Redis?
    private var redisPassword: [UInt8]?
    /// Every loop's limiter, in one order for all (set once all loops have theirs), and this one's place.
    private var peers: [NIOLoopBound<LoopRateLimiter>] = []
    private var index = 0

    init(eventLoop: EventLoop, snapshot: GatewaySnapshot, metrics: RateLimitMetrics?, logger: Logger) {
        self.eventLoop = eventLoop
        self.logger = logger
        self.metrics = metrics
        self.local = LocalRateLimiter(capacity: snapshot.configuration.rateLimits.localMaxKeys)
        install(snapshot)
    }

    /// Takes a new snapshot's settings: a changed Redis (or password) gets a new connection; the local
    /// buckets are kept unless their bound changed.
    func install(_ snapshot: GatewaySnapshot) {
        let settings = snapshot.configuration.rateLimits
        if settings.localMaxKeys != local.capacity { local = LocalRateLimiter(capacity: settings.localMaxKeys) }
        guard settings.redis != redisSettings || snapshot.redisPassword != redisPassword else { return }
        redis?.client.shutdown()
        redisSettings = settings.redis
        redisPassword = snapshot.redisPassword
        redis = settings.redis.map { redis in
            let client = RedisClient(
                eventLoop: eventLoop,
                settings: RedisClient.Settings(
                    host: redis.host, port: redis.port, username: redis.username, password: snapshot.redisPassword,
                    database: redis.database, timeout: TimeAmount(redis.timeout), connectTimeout: TimeAmount(redis.connectTimeout)),
                logger: logger)
            return RedisRateLimitStore(client: client, keyPrefix: redis.keyPrefix)
        }
    }

    func check(_ request: RateLimitCheck) -> Outcome {
        switch request.rule.store {
        case .local:
            let home = Self.home(of: request, among: peers.count)
            guard home != index, peers.indices.contains(home) else { return .answered(checkHere(request)) }
            let peer = peers[home]
            return .pending(peer.eventLoop.submit { peer.value.checkHere(request) }.hop(to: eventLoop))
        case .redis:
            guard let redis else { return .answered(.unavailable(reason: "not_configured")) }
            return .pending(redis.check(request))
        }
    }

    /// Counts a decided check in the metrics: its result, and why the store could not answer when it could not.
    func record(_ result: RateLimitResult, answer: RateLimitAnswer, route: String?, check: RateLimitCheck) {
        guard let metrics else { return }
        let store = check.rule.store.rawValue
        metrics.counted(route: route ?? check.rule.name, store: store, result: result)
        if case .unavailable(let reason) = answer { metrics.storeFailed(store: store, reason: reason) }
    }

    /// Makes the limiters of all loops one sharded table: `peers` in the same order on every loop.
    func join(_ peers: [NIOLoopBound<LoopRateLimiter>], as index: Int) {
        self.peers = peers
        self.index = index
    }

    /// The loop whose table holds `request`'s bucket.
    static func home(of request: RateLimitCheck, among count: Int) -> Int {
        guard count > 1 else { return 0 }
        var hasher = Hasher()
        hasher.combine(request.rule.family)
        hasher.combine(request.bucket)
        return Int(UInt(bitPattern: hasher.finalize()) % UInt(count))
    }

    /// Counts `request` in this loop's table (its home).
    private func checkHere(_ request: RateLimitCheck) -> RateLimitAnswer {
        eventLoop.preconditionInEventLoop()
        let now = Int64(NIODeadline.now().uptimeNanoseconds)
        guard let result = local.check(request.rule, bucket: request.bucket, now: now) else {
            return .unavailable(reason: "table_full")
        }
        return .counted(result)
    }

    func shutdown() {
        redis?.client.shutdown()
    }
}

@available(*, unavailable)
extension LoopRateLimiter: Sendable {}
