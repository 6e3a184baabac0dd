/// The outcome of the policy for one request: a value, never an error.
package enum Decision: Sendable, CustomStringConvertible {
    /// Forward to `route.upstream` with these identity headers (empty for a public route).
    case allow(route: Route, identityHeaders: [IdentityHeader])
    /// Answer from the gateway; nothing is sent upstream.
    case deny(Denial)

    /// 200 for allow (the upstream answers), else the denial's status.
    package var status: Int {
        switch self {
        case .allow: return 200
        case .deny(let denial): return denial.status
        }
    }

    /// The route the request matched, if any.
    package var route: Route? {
        switch self {
        case .allow(let route, _): return route
        case .deny(let denial): return denial.route
        }
    }

    /// The denial's reason code, or `nil` when allowed.
    package var reason: DenyReason? {
        if case .deny(let denial) = self { return denial.reason }
        return nil
    }

    package var description: String {
        switch self {
        case .allow(let route, let headers):
            let names = headers.map(\.name).joined(separator: ", ")
            return "allow (route \(route.name) → \(route.upstream))" + (names.isEmpty ? "" : "; sets \(names)")
        case .deny(let denial):
            return denial.description
        }
    }

    /// 400 for a request target that ``CanonicalPath`` rejected.
    package static func badPath(_ rejection: PathRejection) -> Decision {
        .deny(Denial(route: nil, status: 400, reason: .badPath, cause: .path(rejection), challenge: nil))
    }

    /// 401 `invalid_token` for a token the verifier rejected on a protected route; `code` is the verifier's
    /// reason code (for the log, never the token).
    package static func invalidToken(route: Route, code: String) -> Decision {
        .deny(Denial(route: route, status: 401, reason: .tokenInvalid, cause: .token(code), challenge: .invalidToken))
    }
}
