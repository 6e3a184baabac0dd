/// One compiled route: what it matches, where it sends the request, and what it requires.
/// Immutable and shared by reference, so handing one to a decision costs a retain.
package final class Route: Sendable, CustomStringConvertible {
    /// Who may use a route.
    package enum Access: Sendable {
        /// `auth: public`: no token needed, no identity headers sent.
        case `public`
        /// A verified token, from one of `issuers` when the route restricts them, meeting `requirement`
        /// when there is one.
        case token(issuers: [String]?, requirement: Requirement?)
    }

    /// The route's name, unique across all policy files; appears in logs, metrics and decisions.
    package let name: String
    package let methods: HTTPMethodSet
    /// The host the route is limited to (lower-case, no port), or `nil` for every host.
    package let host: String?
    package let pattern: PathPattern
    /// The upstream name from the gateway configuration.
    package let upstream: String
    package let access: Access
    /// The identity headers sent with an allowed request, in order.
    package let identityHeaders: [IdentityHeaderRule]
    /// Whether the client's `Authorization` header is forwarded upstream (default: stripped).
    package let forwardsAuthorization: Bool
    /// Allowlist mode (`forward_headers`): the only client headers that reach the upstream, besides those the
    /// gateway manages (`Host`, the body framing, `X-Forwarded-*`, `X-Request-Id`, `traceparent`, identity
    /// headers, and `Authorization` where forwarded). `nil`: every client header the denylist leaves.
    package let forwardHeaders: [String]?
    /// ``forwardHeaders`` lower-cased, as bytes, for the per-request comparison.
    package let forwardHeaderKeys: [[UInt8]]?
    /// Where the route is written.
    package let location: SourceLocation
    /// The scopes a 403 challenge names: every scope in the requirement outside a `not`.
    package let challengeScopes: [String]
    /// For a public route, why it is public (`public_reason:`): the reviewer's acknowledgement, which lint
    /// then does not warn about.
    package let publicReason: String?
    /// Which browser origins may call the route (`cors:`); `nil`: no CORS answers, upstream headers pass.
    package let cors: CORSRule?
    /// How many requests may pass (`rate_limit:`), counted once the request is allowed; `nil`: no limit.
    package let rateLimit: RateLimitRule?

    package init(
        name: String, methods: HTTPMethodSet, host: String?, pattern: PathPattern, upstream: String,
        access: Access, identityHeaders: [IdentityHeaderRule], forwardsAuthorization: Bool,
        forwardHeaders: [String]? = nil, publicReason: String? = nil, cors: CORSRule? = nil, rateLimit: RateLimitRule? = nil,
        location: SourceLocation
    ) {
        self.publicReason = publicReason
        self.rateLimit = rateLimit
        self.cors = cors
        self.forwardHeaders = forwardHeaders
        self.forwardHeaderKeys = forwardHeaders?.map { Array($0.lowercased().utf8) }
        self.name = name
        self.methods = methods
        self.host = host.map(HostName.normalize)
        self.pattern = pattern
        self.upstream = upstream
        self.access = access
        self.identityHeaders = identityHeaders
        self.forwardsAuthorization = forwardsAuthorization
        self.location = location
        if case .token(_, let requirement?) = access {
            var scopes: [String] = []
            for scope in requirement.namedScopes where !scopes.contains(scope) { scopes.append(scope) }
            challengeScopes = scopes
        } else {
            challengeScopes = []
        }
    }

    /// True for `auth: public`.
    package var isPublic: Bool {
        if case .public = access { return true }
        return false
    }

    /// `name (METHODS [host]pattern → upstream)`.
    package var description: String {
        "\(name) (\(methods) \(host ?? "")\(pattern) → \(upstream))"
    }
}
