import JOSE

/// A verified token's claims, and the last route's decision made from them.
///
/// ``Policy/authorize(_:claims:)`` depends on nothing but the route and the claims, and a route is an
/// immutable object that a reload replaces. So the verified-token cache keeps this object, and a token that
/// comes back for the same route is authorized by comparing one reference: the requirement is not evaluated
/// again and the identity headers are not encoded again (they are kept, encoded, in the decision). The
/// memo holds its route strongly, so no other route can ever be found at the same address.
///
/// Not thread-safe: the gateway keeps it in one event loop's cache; tools make one per check.
package final class VerifiedClaims {
    package let fields: [String: JSONValue]
    private var memo: (route: Route, decision: Decision)?

    package init(_ fields: [String: JSONValue]) {
        self.fields = fields
    }

    /// `policy`'s decision for `route` with these claims: remembered for the last route asked about.
    package func decision(for route: Route, by policy: Policy) -> Decision {
        if let memo, memo.route === route { return memo.decision }
        let decision = policy.authorize(route, claims: fields)
        memo = (route, decision)
        return decision
    }
}

@available(*, unavailable)
extension VerifiedClaims: Sendable {}
