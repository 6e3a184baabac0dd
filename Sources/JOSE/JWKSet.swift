/// An immutable set of keys, selected by `kid` and algorithm.
///
/// `Sendable` and cheap to copy, so the gateway can build a new set and swap it in atomically.
public struct JWKSet: Sendable {
    public let keys: [JWSKey]
    private let byKeyID: [String: [JWSKey]]

    public init(_ keys: [JWSKey]) {
        self.keys = keys
        self.byKeyID = Dictionary(grouping: keys, by: \.keyID)
    }

    public var isEmpty: Bool { keys.isEmpty }

    /// The keys that may verify a token with this header.
    ///
    /// The header only *selects* among configured keys: with a `kid`, exactly the keys of that id;
    /// without, every key bound to the token's `alg`. A key bound to another algorithm is never
    /// used, whatever the token claims.
    public func candidates(keyID: String?, algorithm: JWSAlgorithm) throws(JOSEError) -> ArraySlice<JWSKey> {
        let named: [JWSKey]
        if let keyID {
            guard let found = byKeyID[keyID] else {
                throw JOSEError(.unknownKey, "no configured key has the token's kid")
            }
            named = found
        } else {
            named = keys
        }
        // Usually one key matches: avoid building a new array on the hot path when all fit.
        if named.allSatisfy({ $0.algorithm == algorithm }), !named.isEmpty { return named[...] }
        let fitting = named.filter { $0.algorithm == algorithm }
        guard !fitting.isEmpty else {
            if named.isEmpty { throw JOSEError(.unknownKey, "no key is configured") }
            throw JOSEError(.algNotAllowed, "the token's alg \(algorithm) is not the algorithm of its key")
        }
        return fitting[...]
    }

    /// The public keys as a JWKS document (RFC 7517 section 5). HMAC secrets are never included.
    public func publicJWKS() throws(JOSEError) -> JSONValue {
        var published: [JSONValue] = []
        for key in keys where !key.isSymmetric {
            published.append(try key.publicKey().jwk())
        }
        return .object(["keys": .array(published)])
    }
}
