/// One identity header a route sends upstream: its name and the claim it carries.
public struct IdentityHeaderRule: Sendable, Hashable, CustomStringConvertible {
    /// Where a header's value comes from.
    public enum Source: Sendable, Hashable, CustomStringConvertible {
        /// A claim by path (`sub`, `iss`, `realm_access.roles`).
        case claim(ClaimPath)
        /// `$scopes`: the scopes from `scope` and `scp`, in that order, without duplicates.
        case scopes
        /// `$roles`: the roles claim of the file (`defaults.roles_claim`, default `roles`).
        case roles(ClaimPath)

        public var description: String {
            switch self {
            case .claim(let path): return path.description
            case .scopes: return "$scopes"
            case .roles(let path): return "$roles (\(path))"
            }
        }
    }

    /// The header name as written in the policy.
    public let name: String
    public let source: Source
    /// Whether the request may go on without this header when its source is missing, `null` or empty.
    /// Otherwise (a required header) such a token is denied: 401 `claim_missing`.
    public let optional: Bool

    public init(name: String, source: Source, optional: Bool = false) {
        self.name = name
        self.source = source
        self.optional = optional
    }

    public var description: String { "\(name): \(source)\(optional ? " (optional)" : "")" }

    /// The headers a route sends when its file names none: subject (required: RFC 9068 §2.2 makes `sub`
    /// part of every access token), scopes and roles (optional: a token may carry none), issuer (present in
    /// every verified token; optional so that offline policy tests need not write it).
    public static func defaults(rolesClaim: ClaimPath) -> [IdentityHeaderRule] {
        [
            IdentityHeaderRule(name: "X-User-Id", source: .claim(ClaimPath(components: ["sub"]))),
            IdentityHeaderRule(name: "X-User-Scopes", source: .scopes, optional: true),
            IdentityHeaderRule(name: "X-User-Roles", source: .roles(rolesClaim), optional: true),
            IdentityHeaderRule(name: "X-Token-Issuer", source: .claim(ClaimPath(components: ["iss"])), optional: true),
        ]
    }
}

/// A header the gateway sets on an allowed request.
public struct IdentityHeader: Sendable, Hashable, CustomStringConvertible {
    public let name: String
    public let value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }

    public var description: String { "\(name): \(value)" }
}
