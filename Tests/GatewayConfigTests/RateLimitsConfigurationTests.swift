import Testing
@testable import GatewayConfig

/// `rate_limits:` in the gateway configuration: the Redis connection, the failure mode, the local bound.
@Suite("Configuration: rate_limits")
struct RateLimitsConfigurationTests {
    typealias Loader = GatewayConfigurationLoaderTests

    @Test("every field lands in the model; omitted ones take the defaults")
    func fields() throws {
        let configuration = try Loader.load(Loader.minimal(adding: """
            rate_limits:
              local_max_keys: 5000
              failure_mode: fail_closed
              redis:
                address: redis.internal
                port: 6380
                username: gateway
                password_file: secrets/redis
                database: 2
                timeout: 20ms
                connect_timeout: 2s
                key_prefix: "prod:rl:"
            """))
        let limits = configuration.rateLimits
        #expect(limits.localMaxKeys == 5000 && limits.failureMode == .failClosed)
        let redis = try #require(limits.redis)
        #expect(redis.host == "redis.internal" && redis.port == 6380 && redis.username == "gateway" && redis.database == 2)
        #expect(redis.passwordFile == "/etc/gw/secrets/redis")
        #expect(redis.timeout == .milliseconds(20) && redis.connectTimeout == .seconds(2) && redis.keyPrefix == "prod:rl:")
        let defaults = try Loader.load(Loader.minimal(adding: "rate_limits: { redis: { address: 127.0.0.1 } }")).rateLimits
        #expect(defaults.failureMode == .failOpen && defaults.localMaxKeys == 100_000)
        #expect(defaults.redis?.port == 6379 && defaults.redis?.timeout == .milliseconds(100) && defaults.redis?.keyPrefix == "auth-gateway:rl:")
        #expect(try Loader.load(Loader.minimal).rateLimits.redis == nil)
    }

    @Test("mistakes are errors at their lines", arguments: [
        ("rate_limits: { failure_mode: fail_shut }", "failure mode"),
        ("rate_limits: { redis: { port: 6379 } }", "address"),
        ("rate_limits: { redis: { address: 127.0.0.1, username: u } }", "`username` needs `password_file`"),
        ("rate_limits: { redis: { address: 127.0.0.1, password: hunter2 } }", "password"),
        ("rate_limits: { local_max_keys: 0 }", "local_max_keys"),
        ("rate_limits: { redis: { address: \"redis://127.0.0.1\" } }", "not an IP address or host name"),
    ])
    func mistakes(_ section: String, _ expected: String) {
        let errors = Loader.errors(Loader.minimal(adding: section))
        #expect(errors.count == 1 && errors[0].contains(expected), "\(errors)")
    }
}
