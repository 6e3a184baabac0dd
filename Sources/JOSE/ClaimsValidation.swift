/// The registered-claim checks (RFC 7519 section 4.1) applied to a verified token's claims.
///
/// The clock is a parameter: ``validate(_:now:)`` never reads the time itself. Checks run in a fixed order
/// (types of `exp`/`nbf`/`iat`, then `exp`, `nbf`, `iat`, lifetime, `iss`, `aud`, required claims) and the
/// first failure is thrown. Reasons name the claim and the times involved, never other token content.
public struct ClaimsValidation: Sendable, Hashable {
    /// The accepted issuers. Empty: `iss` is not checked. Otherwise `iss` must equal one of them exactly.
    public var issuers: [String]
    /// The accepted audiences. Empty: `aud` is not checked. Otherwise `aud` (a string or an array of strings)
    /// must contain one of them.
    public var audiences: [String]
    /// The clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
    public var leeway: Double
    /// Whether a token without `exp` is rejected.
    public var requireExpiration: Bool
    /// The longest accepted lifetime, `exp - iat` (or `exp - now` without `iat`), in seconds. `nil`: no limit.
    /// When set, `exp` is required.
    public var maxLifetime: Double?
    /// Claims that must be present and not `null`.
    public var requiredClaims: [String]
    /// The accepted header `typ` values (explicit typing, RFC 8725 section 3.11), compared without case and
    /// with or without `application/` (RFC 7515 section 4.1.9). Empty: any `typ`, or none. Checked by
    /// ``validateType(_:)``, which the verifier calls once the signature holds.
    public var acceptedTypes: [String]
    /// Header `typ` values of JWTs that are not access tokens, refused whatever ``acceptedTypes`` says
    /// (compared as ``acceptedTypes`` are). Default: ``nonAccessTokenTypes``.
    public var refusedTypes: [String]

    /// JWT kinds an identity provider or a client issues that must never pass as an access token: DPoP proofs
    /// (RFC 9449), security event tokens (RFC 8417) and OpenID back-channel logout tokens, JAR request objects
    /// (RFC 9101), token introspection responses (RFC 9701), SD-JWT key-binding JWTs, OpenID Federation entity
    /// statements and trust marks, signed JWK sets, verifiable credentials and presentations, client assertions.
    public static let nonAccessTokenTypes = [
        "dpop+jwt", "secevent+jwt", "logout+jwt", "oauth-authz-req+jwt", "token-introspection+jwt", "kb+jwt",
        "entity-statement+jwt", "trust-mark+jwt", "jwk-set+jwt", "vc+sd-jwt", "dc+sd-jwt", "vc+jwt", "vp+jwt",
        "client-authentication+jwt",
    ]

    /// Values of a payload `typ` claim that mark a token of another kind (Keycloak writes `Bearer` into its
    /// access tokens; `ID`, `Refresh`, `Offline` (offline refresh tokens), `Logout` and `Serialized-ID` into
    /// the others), compared without case.
    public static let nonAccessTokenClaimTypes = ["id", "refresh", "offline", "logout", "serialized-id"]

    /// Claims only an OpenID Connect ID token carries: the hashes that bind it to the access token, the code and
    /// the state it came with (OpenID Connect Core §3.1.3.6, §3.3.2.11; FAPI 1.0 §5.1 `s_hash`). An access token
    /// has no reason to hash itself, so their presence says "ID token" even where the IdP writes no `typ`.
    public static let idTokenClaims = ["at_hash", "c_hash", "s_hash"]

    /// Values of a `token_use` claim that mark another kind than an access token (Amazon Cognito writes `access`
    /// into its access tokens and `id` into its ID tokens, which are signed by the same keys), compared without
    /// case.
    public static let nonAccessTokenUses = ["id", "refresh"]

    /// The latest instant a time claim may name: 9999-12-31T23:59:59Z.
    private static let latestTime: Double = 253_402_300_799

    public init(
        issuers: [String] = [],
        audiences: [String] = [],
        leeway: Double = 60,
        requireExpiration: Bool = true,
        maxLifetime: Double? = nil,
        requiredClaims: [String] = [],
        acceptedTypes: [String] = [],
        refusedTypes: [String] = ClaimsValidation.nonAccessTokenTypes
    ) {
        self.refusedTypes = refusedTypes
        self.issuers = issuers
        self.audiences = audiences
        self.leeway = leeway
        self.requireExpiration = requireExpiration
        self.maxLifetime = maxLifetime
        self.requiredClaims = requiredClaims
        self.acceptedTypes = acceptedTypes
    }

    /// Refuses a token that says it is of another kind than an access token (RFC 8725 §3.11 cross-JWT
    /// confusion): a refused header `typ` (``refusedTypes``), a payload `typ` claim such as Keycloak's `ID` or
    /// `Refresh`, an `events` claim (security event tokens and logout tokens, RFC 8417 §2.2), an ID token's
    /// hash claims (``idTokenClaims``) or a Cognito `token_use` of `id`; then checks ``acceptedTypes``. The
    /// verifier calls it once the signature holds.
    public func validateKind(type: String?, claims: [String: JSONValue]) throws(JOSEError) {
        if let type, refusedTypes.contains(where: { Self.mediaType($0) == Self.mediaType(type) }) {
            throw JOSEError(.badType, "the token's typ says it is not an access token")
        }
        if case .string(let kind)? = claims["typ"], Self.nonAccessTokenClaimTypes.contains(kind.lowercased()) {
            throw JOSEError(.badType, "the token's typ claim says it is not an access token")
        }
        if claims["events"] != nil {
            throw JOSEError(.badType, "the token carries events: a security event or logout token, not an access token")
        }
        if let name = Self.idTokenClaims.first(where: { claims[$0] != nil }) {
            throw JOSEError(.badType, "the token carries \(name): an ID token, not an access token")
        }
        if case .string(let use)? = claims["token_use"], Self.nonAccessTokenUses.contains(use.lowercased()) {
            throw JOSEError(.badType, "the token's token_use says it is not an access token")
        }
        try validateType(type)
    }

    /// Checks the header's `typ` against ``acceptedTypes``.
    public func validateType(_ type: String?) throws(JOSEError) {
        guard !acceptedTypes.isEmpty else { return }
        guard let type else { throw JOSEError(.badType, "the token has no typ and this issuer requires one") }
        let given = Self.mediaType(type)
        guard acceptedTypes.contains(where: { Self.mediaType($0) == given }) else {
            throw JOSEError(.badType, "the token's typ is not one this issuer accepts")
        }
    }

    /// `typ` as a comparable media type: lower case, without the optional `application/`.
    static func mediaType(_ type: String) -> String {
        let lower = type.lowercased()
        return lower.hasPrefix("application/") ? String(lower.dropFirst("application/".count)) : lower
    }

    /// Checks `claims` at time `now` (seconds since 1970-01-01T00:00:00Z).
    ///
    /// Every comparison is written so that a NaN anywhere fails the check rather than passing it.
    public func validate(_ claims: [String: JSONValue], now: Double) throws(JOSEError) {
        let expiration = try Self.time("exp", in: claims)
        let notBefore = try Self.time("nbf", in: claims)
        let issuedAt = try Self.time("iat", in: claims)

        if let expiration {
            guard now < expiration + leeway else {
                throw JOSEError(
                    .tokenExpired,
                    "token expired \(Self.describe(now - expiration)) ago (leeway \(Self.describe(leeway)))"
                )
            }
        } else if requireExpiration {
            throw JOSEError(.missingClaim, "exp claim is missing")
        }

        if let notBefore {
            guard now + leeway >= notBefore else {
                throw JOSEError(
                    .tokenNotYetValid,
                    "token is not valid for another \(Self.describe(notBefore - now))"
                        + " (nbf, leeway \(Self.describe(leeway)))"
                )
            }
        }

        if let issuedAt {
            guard issuedAt <= now + leeway else {
                throw JOSEError(
                    .issuedInFuture,
                    "token issued \(Self.describe(issuedAt - now)) in the future (iat, leeway \(Self.describe(leeway)))"
                )
            }
        }

        if let maxLifetime {
            guard let expiration else {
                throw JOSEError(.missingClaim, "exp claim is missing (a maximum lifetime is configured)")
            }
            let lifetime = expiration - (issuedAt ?? now)
            guard lifetime <= maxLifetime else {
                throw JOSEError(
                    .lifetimeTooLong,
                    "token lifetime \(Self.describe(lifetime)) exceeds the maximum \(Self.describe(maxLifetime))"
                )
            }
        }

        if !issuers.isEmpty {
            switch claims["iss"] {
            case nil:
                throw JOSEError(.missingClaim, "iss claim is missing")
            case .string(let issuer)?:
                guard issuers.contains(issuer) else {
                    throw JOSEError(.badIssuer, "iss is not an accepted issuer")
                }
            case .some:
                throw JOSEError(.invalidClaim, "iss is not a string")
            }
        }

        if !audiences.isEmpty {
            switch claims["aud"] {
            case nil:
                throw JOSEError(.missingClaim, "aud claim is missing")
            case .string(let audience)?:
                guard audiences.contains(audience) else {
                    throw JOSEError(.badAudience, "aud does not name an accepted audience")
                }
            case .array(let elements)?:
                var matched = false
                for element in elements {
                    guard case .string(let audience) = element else {
                        throw JOSEError(.invalidClaim, "aud is not a string or an array of strings")
                    }
                    if audiences.contains(audience) { matched = true }
                }
                guard matched else {
                    throw JOSEError(.badAudience, "aud does not name an accepted audience")
                }
            case .some:
                throw JOSEError(.invalidClaim, "aud is not a string or an array of strings")
            }
        }

        for name in requiredClaims {
            switch claims[name] {
            case nil, .null?:
                throw JOSEError(.missingClaim, "required claim \(name) is missing")
            case .some:
                continue
            }
        }
    }

    /// The value of the NumericDate claim `name`, if present.
    private static func time(_ name: String, in claims: [String: JSONValue]) throws(JOSEError) -> Double? {
        let seconds: Double
        switch claims[name] {
        case nil:
            return nil
        case .int(let value)?:
            seconds = Double(value)
        case .double(let value)?:
            seconds = value
        case .some:
            throw JOSEError(.invalidClaim, "\(name) is not a number")
        }
        guard seconds >= 0, seconds <= latestTime else {
            throw JOSEError(.invalidClaim, "\(name) is out of range (0 to year 9999)")
        }
        return seconds
    }

    /// A duration for people: `3m12s`, `2d4h`, `0s`. Never traps, whatever the input.
    package static func describe(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "an unbounded time" }
        let magnitude = seconds.magnitude
        // Beyond ~3 million years the exact figure does not matter, and Int conversion must stay in range.
        guard magnitude < 1e14 else { return "a very long time" }
        var remaining = Int(magnitude)  // Truncation: the magnitude is non-negative and in range.
        guard remaining > 0 else { return magnitude > 0 ? "under 1s" : "0s" }
        var text = seconds < 0 ? "-" : ""
        let units: [(Int, String)] = [(86_400, "d"), (3_600, "h"), (60, "m"), (1, "s")]
        for (size, suffix) in units where remaining >= size {
            text += "\(remaining / size)\(suffix)"
            remaining %= size
        }
        return text
    }
}
