/// A token whose signature and claims were verified.
public struct VerifiedJWT: Sendable {
    public let header: JOSEHeader
    public let claims: JWTClaims
    /// The `kid` of the key that verified the token.
    public let keyID: String
}

/// Verifies compact JWTs: strict parsing, key selection, signature, then claims.
///
/// The order matters: nothing about a token's claims is reported before its signature holds, and no
/// cryptography runs for a token whose `alg` no configured key is bound to.
public struct JWTVerifier: Sendable {
    public var keys: JWKSet
    public var validation: ClaimsValidation
    public var limits: JWSParseLimits

    public init(keys: JWKSet, validation: ClaimsValidation = ClaimsValidation(), limits: JWSParseLimits = .default) {
        self.keys = keys
        self.validation = validation
        self.limits = limits
    }

    /// Verifies `token` at time `now` (seconds since 1970).
    public func verify(_ token: String, now: Double) throws(JOSEError) -> VerifiedJWT {
        try verify(parsed: try CompactJWS.parse(token, limits: limits), now: now)
    }

    /// Verifies the token in `bytes` at time `now`.
    public func verify(_ bytes: UnsafeRawBufferPointer, now: Double) throws(JOSEError) -> VerifiedJWT {
        try verify(parsed: try CompactJWS.parse(bytes, limits: limits), now: now)
    }

    /// Verifies an already parsed token.
    public func verify(parsed jws: CompactJWS, now: Double) throws(JOSEError) -> VerifiedJWT {
        let key = try verifiedKey(for: jws)
        try validation.validateKind(type: jws.header.type, claims: jws.claims)
        try validation.validate(jws.claims, now: now)
        return VerifiedJWT(header: jws.header, claims: JWTClaims(fields: jws.claims), keyID: key.keyID)
    }

    /// The key whose signature check passed, or `bad_signature`.
    private func verifiedKey(for jws: CompactJWS) throws(JOSEError) -> JWSKey {
        let candidates = try keys.candidates(keyID: jws.header.keyID, algorithm: jws.header.algorithm)
        let found = jws.signature.withUnsafeBytes { signature in
            jws.signingInput.withUnsafeBytes { message in
                candidates.first { $0.verify(signature: signature, message: message) }
            }
        }
        guard let found else { throw JOSEError(.badSignature, "the signature does not verify") }
        return found
    }
}
