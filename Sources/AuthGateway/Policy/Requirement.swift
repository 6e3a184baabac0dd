import JOSE

/// One clause of a route's requirement, compiled from the policy file. Clauses compose with
/// ``Kind/all(_:)``, ``Kind/any(_:)`` and ``Kind/not(_:)``; leaves test scopes, roles or any claim.
package struct Requirement: Sendable, CustomStringConvertible {
    /// Whether every listed value is needed, or one of them is enough.
    package enum Quantifier: String, Sendable, Hashable {
        case all
        case any
    }

    /// A test on one claim's value.
    package enum Condition: Sendable, Hashable {
        /// The claim is a string, integer or boolean equal to this value (no type conversion).
        case equals(JSONValue)
        /// The claim equals one of these values.
        case oneOf([JSONValue])
        /// The claim is present and not `null` (`true`), or absent or `null` (`false`).
        case exists(Bool)
    }

    /// What the clause tests.
    package indirect enum Kind: Sendable {
        /// Scopes from the `scope` claim (space-separated) and the `scp` claim (array or space-separated).
        case scopes(Quantifier, [String])
        /// Roles: the claim at `claim` must be an array of strings.
        case roles(claim: ClaimPath, Quantifier, [String])
        /// Any claim by path.
        case claim(ClaimPath, Condition)
        /// Every sub-clause holds.
        case all([Requirement])
        /// At least one sub-clause holds.
        case any([Requirement])
        /// The sub-clause definitely does not hold (a sub-clause that cannot be decided makes `not` fail too).
        case not(Requirement)
    }

    package let kind: Kind
    /// Where the clause is written.
    package let location: SourceLocation

    package init(_ kind: Kind, at location: SourceLocation) {
        self.kind = kind
        self.location = location
    }

    /// The reason code a denial names when this clause is the one that failed.
    package var denyReason: DenyReason {
        switch kind {
        case .scopes: return .insufficientScope
        case .roles: return .missingRole
        case .claim, .not: return .claimMismatch
        case .all(let clauses), .any(let clauses):
            let reasons = Set(clauses.map(\.denyReason))
            return reasons.count == 1 ? reasons.first ?? .claimMismatch : .claimMismatch
        }
    }

    /// Scopes named outside any `not`: what a 403 challenge's `scope` attribute lists.
    package var namedScopes: [String] {
        switch kind {
        case .scopes(_, let scopes): return scopes
        case .roles, .claim, .not: return []
        case .all(let clauses), .any(let clauses): return clauses.flatMap(\.namedScopes)
        }
    }

    /// A one-line description, as `explain` and the access log show it.
    package var description: String {
        switch kind {
        case .scopes(let quantifier, let scopes):
            return "scopes \(quantifier.rawValue) [\(scopes.joined(separator: ", "))]"
        case .roles(let claim, let quantifier, let roles):
            let source = claim.components == ["roles"] ? "" : " (claim \(claim))"
            return "roles \(quantifier.rawValue) [\(roles.joined(separator: ", "))]\(source)"
        case .claim(let path, let condition):
            return "claim \(path) \(Self.describe(condition))"
        case .all(let clauses):
            return "all of \(clauses.count) clauses"
        case .any(let clauses):
            return "any of [\(clauses.map(\.description).joined(separator: "; "))]"
        case .not(let clause):
            return "not (\(clause))"
        }
    }

    static func describe(_ condition: Condition) -> String {
        switch condition {
        case .equals(let value): return "equals \(JSONSerializer.serialize(value))"
        case .oneOf(let values): return "in [\(values.map { JSONSerializer.serialize($0) }.joined(separator: ", "))]"
        case .exists(let present): return "exists \(present)"
        }
    }
}
