extension GatewayConfiguration {
    /// `rate_limits:` — where the buckets of the policies' `rate_limit` rules live.
    package struct RateLimits: Sendable, Equatable {
        /// The most buckets each event loop keeps for `store: local` rules; a full bucket takes no room.
        package var localMaxKeys: Int = 100_000
        /// Redis for `store: redis` rules; `nil`: such rules are a policy error.
        package var redis: Redis?
        /// What a request gets while its store cannot count it (Redis down or slow, the local table full).
        package var failureMode: FailureMode = .failOpen

        package init(localMaxKeys: Int = 100_000, redis: Redis? = nil, failureMode: FailureMode = .failOpen) {
            self.localMaxKeys = localMaxKeys
            self.redis = redis
            self.failureMode = failureMode
        }
    }

    /// One Redis server (no cluster, no TLS): every gateway process that names it, with the same key prefix,
    /// shares its buckets.
    package struct Redis: Sendable, Equatable {
        package var host: String
        package var port: Int = 6379
        /// A file holding the password (`AUTH`); never in the configuration itself.
        package var passwordFile: String?
        /// The ACL user for `AUTH` (Redis 6+); only with a password.
        package var username: String?
        package var database: Int = 0
        /// How long a check may wait for Redis before the failure mode decides.
        package var timeout: Duration = .milliseconds(100)
        package var connectTimeout: Duration = .seconds(1)
        /// Prepended to every key, so that several deployments can share one Redis.
        package var keyPrefix: String = "auth-gateway:rl:"

        package init(host: String, port: Int = 6379) {
            self.host = host
            self.port = port
        }
    }

    /// `rate_limits.failure_mode`.
    package enum FailureMode: String, Sendable, CaseIterable {
        /// Let the request through (counted in `gateway_rate_limit_store_errors_total`): a limit protects
        /// capacity, and authorization never depends on it.
        case failOpen = "fail_open"
        /// Answer 503 `rate_limit_unavailable`.
        case failClosed = "fail_closed"
    }
}
