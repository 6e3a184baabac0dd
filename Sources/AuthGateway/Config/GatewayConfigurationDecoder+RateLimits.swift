import Yams

extension GatewayConfigurationDecoder {
    static var rateLimitsFields: [ConfigurationField<Configuration.RateLimits>] {
        [
            .integer("local_max_keys", \.localMaxKeys, in: 1...10_000_000),
            .optional("redis", \.redis) { decoder, node, _ in decoder.decodeRedis(node) },
            .choice("failure_mode", \.failureMode, noun: "failure mode"),
        ]
    }

    mutating func decodeRateLimits(_ node: Node) -> Configuration.RateLimits {
        var limits = Configuration.RateLimits()
        decodeSection(node, "`rate_limits`", into: &limits, Self.rateLimitsFields)
        return limits
    }

    struct RedisDraft {
        var redis = Configuration.Redis(host: "")
    }

    static var redisFields: [ConfigurationField<RedisDraft>] {
        [
            .value("address", \.redis.host) { $0.address($1, $2) },
            .integer("port", \.redis.port, in: 1...65535),
            .optional("password_file", \.redis.passwordFile) { $0.path($1, $2) },
            .optional("username", \.redis.username) { $0.nonEmptyString($1, $2) },
            .integer("database", \.redis.database, in: 0...1_000_000),
            .duration("timeout", \.redis.timeout),
            .duration("connect_timeout", \.redis.connectTimeout),
            .value("key_prefix", \.redis.keyPrefix) { $0.nonEmptyString($1, $2) },
        ]
    }

    mutating func decodeRedis(_ node: Node) -> Configuration.Redis? {
        let errorsBefore = reader.errorCount
        var draft = RedisDraft()
        guard let entries = decodeSection(node, "`rate_limits.redis`", into: &draft, Self.redisFields, required: ["address"])
        else { return nil }
        if draft.redis.username != nil, draft.redis.passwordFile == nil,
            let at = entries.first(where: { $0.key == "username" })?.value
        {
            reader.error("`username` needs `password_file`", at: at, hint: "Redis authenticates a user with a password")
        }
        return reader.errorCount == errorsBefore ? draft.redis : nil
    }
}
