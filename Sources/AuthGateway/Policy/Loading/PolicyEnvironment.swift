/// What the gateway configuration knows, for checking names in policies: upstream names and issuer
/// strings. `nil` means "not checked" (offline linting without a gateway config).
package struct PolicyEnvironment: Sendable, Hashable {
    package var upstreams: [String]?
    package var issuers: [String]?
    /// Whether the configuration has Redis for `rate_limit` rules with `store: redis`.
    package var redisRateLimits: Bool?

    package init(upstreams: [String]? = nil, issuers: [String]? = nil, redisRateLimits: Bool? = nil) {
        self.upstreams = upstreams
        self.issuers = issuers
        self.redisRateLimits = redisRateLimits
    }

    /// Nothing is checked against a configuration.
    package static let unchecked = PolicyEnvironment()
}
