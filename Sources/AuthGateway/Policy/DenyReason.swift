/// A stable reason code for a denied request: the access log's reason, a metric label, and what
/// `keytool policy test` cases expect. Codes never change meaning.
public struct DenyReason: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    /// 400: the request target is not acceptable (see ``PathRejection``).
    public static let badPath = DenyReason(rawValue: "bad_path")
    /// 404: no route matches method, host and path.
    public static let noRoute = DenyReason(rawValue: "no_route")
    /// 405: routes take the path for other methods (named in `Allow`). Protected routes' methods are named
    /// only to a client with a valid token; otherwise the answer is 404 `no_route`.
    public static let methodNotAllowed = DenyReason(rawValue: "method_not_allowed")
    /// 401: a protected route and no token.
    public static let tokenMissing = DenyReason(rawValue: "token_missing")
    /// 401: the token did not verify (the gateway's verifier decided; the policy only words the answer).
    public static let tokenInvalid = DenyReason(rawValue: "token_invalid")
    /// 401: the route restricts issuers and the token's `iss` is not one of them.
    public static let issuerNotAllowed = DenyReason(rawValue: "issuer_not_allowed")
    /// 401: a claim mapped to an identity header cannot be sent safely (control characters, commas,
    /// non-ASCII, nested values). The request is denied rather than forwarded without the header.
    public static let claimUnencodable = DenyReason(rawValue: "claim_unencodable")
    /// 401: a claim a required identity header carries is missing, `null` or empty (a token without `sub`,
    /// for one): the upstream would otherwise get no identity and might fall back to a default one.
    public static let claimMissing = DenyReason(rawValue: "claim_missing")
    /// 403: a scope clause failed.
    public static let insufficientScope = DenyReason(rawValue: "insufficient_scope")
    /// 403: a role clause failed.
    public static let missingRole = DenyReason(rawValue: "missing_role")
    /// 403: a claim clause (or a `not`, or a mixed `any`) failed.
    public static let claimMismatch = DenyReason(rawValue: "claim_mismatch")
}
