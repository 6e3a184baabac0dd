/// What the gateway configuration knows, for checking names in policies: upstream names and issuer
/// strings. `nil` means "not checked" (offline linting without a gateway config).
public struct PolicyEnvironment: Sendable, Hashable {
    public var upstreams: [String]?
    public var issuers: [String]?

    public init(upstreams: [String]? = nil, issuers: [String]? = nil) {
        self.upstreams = upstreams
        self.issuers = issuers
    }

    /// Nothing is checked against a configuration.
    public static let unchecked = PolicyEnvironment()
}
