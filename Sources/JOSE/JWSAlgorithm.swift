/// The JWS algorithms this library implements (RFC 7518 section 3, RFC 8037).
///
/// There is deliberately no `none`: an unsigned token cannot be represented.
public enum JWSAlgorithm: String, Sendable, CaseIterable, Hashable, CustomStringConvertible {
    case HS256, HS384, HS512
    case RS256, RS384, RS512
    case PS256, PS384, PS512
    case ES256, ES384
    case EdDSA

    /// The family of keys the algorithm works with.
    public enum Family: Sendable, Hashable {
        case hmac, rsa, rsaPSS, ecdsa, eddsa
    }

    public var family: Family {
        switch self {
        case .HS256, .HS384, .HS512: return .hmac
        case .RS256, .RS384, .RS512: return .rsa
        case .PS256, .PS384, .PS512: return .rsaPSS
        case .ES256, .ES384: return .ecdsa
        case .EdDSA: return .eddsa
        }
    }

    /// The digest size in bytes of the algorithm's hash (EdDSA: 64, the size of its signature).
    public var hashLength: Int {
        switch self {
        case .HS256, .RS256, .PS256, .ES256: return 32
        case .HS384, .RS384, .PS384, .ES384: return 48
        case .HS512, .RS512, .PS512, .EdDSA: return 64
        }
    }

    public var description: String { rawValue }
}
