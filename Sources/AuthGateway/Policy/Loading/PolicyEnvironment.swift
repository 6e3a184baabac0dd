/// What the gateway configuration knows, for checking names in policies: upstream names and issuer
/// strings. `nil` means "not checked" (offline linting without a gateway config).
package struct PolicyEnvironment: Sendable, Hashable {
    package var upstreams: [String]?
    package var issuers: [String]?

    package init(upstreams: [String]? = nil, issuers: [String]? = nil) {
        self.upstreams = upstreams
        self.issuers = issuers
    }

    /// Nothing is checked against a configuration.
    package static let unchecked = PolicyEnvironment()
}
