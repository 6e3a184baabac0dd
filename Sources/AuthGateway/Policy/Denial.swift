import JOSE
/// Why and how a request is refused: the status to answer, a stable reason code, what failed,
/// and the `WWW-Authenticate` challenge to send.
package struct Denial: Sendable, CustomStringConvertible {
    /// What exactly failed.
    package enum Cause: Sendable {
        /// A requirement clause did not hold (or could not be decided).
        case clause(Requirement)
        /// The route restricts issuers; the token's `iss` (if it was a string) is not accepted.
        case issuer(String?)
        /// The claim behind this identity header cannot be sent safely, or is missing (see the reason).
        case identityHeader(String)
        /// The request target was rejected before routing.
        case path(PathRejection)
        /// The token was rejected by the verifier; the text is its reason code.
        case token(String)
    }

    /// The matched route, or `nil` for `no_route` and `bad_path`.
    package let route: Route?
    /// 400, 401, 403, 404 or 405.
    package let status: Int
    package let reason: DenyReason
    package let cause: Cause?
    /// The challenge for `WWW-Authenticate`, for 401 and 403 answers.
    package let challenge: BearerChallenge?
    /// For 405: the methods routed for the path, for the `Allow` header.
    package let allow: HTTPMethodSet?

    package init(
        route: Route?, status: Int, reason: DenyReason, cause: Cause?, challenge: BearerChallenge?,
        allow: HTTPMethodSet? = nil
    ) {
        self.route = route
        self.status = status
        self.reason = reason
        self.cause = cause
        self.challenge = challenge
        self.allow = allow
    }

    /// The clause that failed, if a requirement is what denied the request.
    package var failedClause: Requirement? {
        if case .clause(let clause)? = cause { return clause }
        return nil
    }

    /// What denied the request, for the audit trail (the access log's `denied_by`): the failed clause as
    /// `explain` shows it (`roles any [admin]`), the route's issuer list, or the identity header whose claim is
    /// missing or unsendable. Policy text only, never a token's value.
    package var deniedBy: String? {
        switch cause {
        case .clause(let clause)?: return clause.description
        case .issuer?: return "issuers"
        case .identityHeader(let name)?: return "identity_headers.\(name)"
        case .path?, .token?, nil: return nil
        }
    }

    /// A one-line explanation for logs and `explain`: never contains a token or a secret.
    package var description: String {
        var text = "deny \(status) \(reason)"
        if let route { text += " (route \(route.name))" }
        if let allow { text += ": allowed methods \(allow.methodNames.joined(separator: ", "))" }
        switch cause {
        case .clause(let clause)?: text += ": \(clause) at \(clause.location)"
        case .issuer(let issuer)?: text += ": issuer \(issuer.map(JSONSerializer.quote) ?? "missing") is not accepted"
        case .identityHeader(let name)? where reason == .claimMissing:
            text += ": the token has no value for the required identity header \(name)"
        case .identityHeader(let name)?: text += ": the claim for \(name) cannot be sent as a header"
        case .path(let rejection)?: text += ": \(rejection)"
        case .token(let code)?: text += ": \(code)"
        case nil: break
        }
        return text
    }
}
