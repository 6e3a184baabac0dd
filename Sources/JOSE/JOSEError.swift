/// An error from the JOSE library: a stable machine-readable ``code`` and a human ``reason``.
///
/// The code becomes the gateway's log reason and metric label, so codes never change meaning.
/// Equality compares the code only. A reason never contains a token, a secret or key material.
public struct JOSEError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable reason code, such as `token_expired` or `bad_signature`.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        // Token format.
        /// Not three canonical base64url segments, bad JSON, wrong JSON types in the header.
        public static let malformedToken = Code(rawValue: "malformed_token")
        /// The token, its header or its payload exceeds a size limit.
        public static let tokenTooLarge = Code(rawValue: "token_too_large")

        // Header and key selection.
        /// `alg` missing, `none`, unknown, or not the algorithm the selected key is bound to.
        public static let algNotAllowed = Code(rawValue: "alg_not_allowed")
        /// No configured key matches the token's `kid` and `alg`.
        public static let unknownKey = Code(rawValue: "unknown_key")
        /// `crit` names an extension this library does not understand.
        public static let unknownCrit = Code(rawValue: "unknown_crit")
        /// The header carries key material or a key URL (`jwk`, `jku`, `x5u`, `x5c`).
        public static let embeddedKey = Code(rawValue: "embedded_key")
        /// The signature does not verify under the selected key.
        public static let badSignature = Code(rawValue: "bad_signature")

        // Claims.
        public static let tokenExpired = Code(rawValue: "token_expired")
        public static let tokenNotYetValid = Code(rawValue: "token_not_yet_valid")
        public static let issuedInFuture = Code(rawValue: "iat_in_future")
        public static let missingClaim = Code(rawValue: "missing_claim")
        public static let invalidClaim = Code(rawValue: "invalid_claim")
        public static let badIssuer = Code(rawValue: "bad_issuer")
        public static let badAudience = Code(rawValue: "bad_audience")
        public static let lifetimeTooLong = Code(rawValue: "lifetime_too_long")
        /// The header's `typ` is missing or not one the issuer's tokens carry (RFC 8725 section 3.11).
        public static let badType = Code(rawValue: "bad_type")

        // Keys.
        /// Key material that is well formed but too weak (short HMAC secret, small RSA modulus, bad exponent).
        public static let weakKey = Code(rawValue: "weak_key")
        /// Key material that cannot be parsed or does not fit the requested algorithm.
        public static let invalidKey = Code(rawValue: "invalid_key")

        /// OpenSSL reported a failure that is not the caller's input.
        public static let cryptoFailure = Code(rawValue: "crypto_failure")
    }

    public let code: Code
    public let reason: String

    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public static func == (lhs: JOSEError, rhs: JOSEError) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }
    public var description: String { "\(code.rawValue): \(reason)" }
}
