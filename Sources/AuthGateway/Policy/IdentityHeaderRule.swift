/// One identity header a route sends upstream: its name and the claim it carries.
package struct IdentityHeaderRule: Sendable, Hashable, CustomStringConvertible {
    /// Where a header's value comes from.
    package enum Source: Sendable, Hashable, CustomStringConvertible {
        /// A claim by path (`sub`, `iss`, `realm_access.roles`).
        case claim(ClaimPath)
        /// `$scopes`: the scopes from `scope` and `scp`, in that order, without duplicates.
        case scopes
        /// `$roles`: the roles claim of the file (`defaults.roles_claim`, default `roles`).
        case roles(ClaimPath)

        package var description: String {
            switch self {
            case .claim(let path): return path.description
            case .scopes: return "$scopes"
            case .roles(let path): return "$roles (\(path))"
            }
        }
    }

    /// The header name as written in the policy.
    package let name: String
    package let source: Source
    /// Whether the request may go on without this header when its source is missing, `null` or empty.
    /// Otherwise (a required header) such a token is denied: 401 `claim_missing`.
    package let optional: Bool

    package init(name: String, source: Source, optional: Bool = false) {
        self.name = name
        self.source = source
        self.optional = optional
    }

    package var description: String { "\(name): \(source)\(optional ? " (optional)" : "")" }

    /// The headers a route sends when its file names none: subject (required: RFC 9068 §2.2 makes `sub`
    /// part of every access token), scopes and roles (optional: a token may carry none), issuer (present in
    /// every verified token; optional so that offline policy tests need not write it).
    package static func defaults(rolesClaim: ClaimPath) -> [IdentityHeaderRule] {
        [
            IdentityHeaderRule(name: "X-User-Id", source: .claim(ClaimPath(components: ["sub"]))),
            IdentityHeaderRule(name: "X-User-Scopes", source: .scopes, optional: true),
            IdentityHeaderRule(name: "X-User-Roles", source: .roles(rolesClaim), optional: true),
            IdentityHeaderRule(name: "X-Token-Issuer", source: .claim(ClaimPath(components: ["iss"])), optional: true),
        ]
    }
}

/// A header the gateway sets on an allowed request.
package struct IdentityHeader: Sendable, Hashable, CustomStringConvertible {
    package let name: String
    package let value: String

    package init(name: String, value: String) {
        self.name = name
        self.value = value
    }

    package var description: String { "\(name): \(value)" }
}
