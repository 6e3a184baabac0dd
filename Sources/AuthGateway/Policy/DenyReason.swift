/// A stable reason code for a denied request: the access log's reason, a metric label, and what
/// `keytool policy test` cases expect. Codes never change meaning.
package struct DenyReason: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    package let rawValue: String
    package init(rawValue: String) { self.rawValue = rawValue }
    package var description: String { rawValue }

    /// 400: the request target is not acceptable (see ``PathRejection``).
    package static let badPath = DenyReason(rawValue: "bad_path")
    /// 404: no route matches method, host and path.
    package static let noRoute = DenyReason(rawValue: "no_route")
    /// 405: routes take the path for other methods (named in `Allow`). Protected routes' methods are named
    /// only to a client with a valid token; otherwise the answer is 404 `no_route`.
    package static let methodNotAllowed = DenyReason(rawValue: "method_not_allowed")
    /// 401: a protected route and no token.
    package static let tokenMissing = DenyReason(rawValue: "token_missing")
    /// 401: the token did not verify (the gateway's verifier decided; the policy only words the answer).
    package static let tokenInvalid = DenyReason(rawValue: "token_invalid")
    /// 401: the route restricts issuers and the token's `iss` is not one of them.
    package static let issuerNotAllowed = DenyReason(rawValue: "issuer_not_allowed")
    /// 401: a claim mapped to an identity header cannot be sent safely (control characters, commas,
    /// non-ASCII, nested values). The request is denied rather than forwarded without the header.
    package static let claimUnencodable = DenyReason(rawValue: "claim_unencodable")
    /// 401: a claim a required identity header carries is missing, `null` or empty (a token without `sub`,
    /// for one): the upstream would otherwise get no identity and might fall back to a default one.
    package static let claimMissing = DenyReason(rawValue: "claim_missing")
    /// 403: a scope clause failed.
    package static let insufficientScope = DenyReason(rawValue: "insufficient_scope")
    /// 403: a role clause failed.
    package static let missingRole = DenyReason(rawValue: "missing_role")
    /// 403: a claim clause (or a `not`, or a mixed `any`) failed.
    package static let claimMismatch = DenyReason(rawValue: "claim_mismatch")
}
