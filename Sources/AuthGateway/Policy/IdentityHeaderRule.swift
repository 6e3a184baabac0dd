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

    public init(name: String, source: Source) {
        self.name = name
        self.source = source
    }

    public var description: String { "\(name): \(source)" }

    /// The headers a route sends when its file names none: subject, scopes, roles and issuer.
    public static func defaults(rolesClaim: ClaimPath) -> [IdentityHeaderRule] {
        [
            IdentityHeaderRule(name: "X-User-Id", source: .claim(ClaimPath(components: ["sub"]))),
            IdentityHeaderRule(name: "X-User-Scopes", source: .scopes),
            IdentityHeaderRule(name: "X-User-Roles", source: .roles(rolesClaim)),
            IdentityHeaderRule(name: "X-Token-Issuer", source: .claim(ClaimPath(components: ["iss"]))),
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
