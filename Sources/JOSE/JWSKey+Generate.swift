internal import CryptoShim

/// Key generation with OpenSSL's CSPRNG.
extension JWSKey {
    /// A new key for `algorithm`: an HMAC secret of the hash length, an RSA key of `bits` (default
    /// 2048, at least 2048), an EC key on the algorithm's curve, or an Ed25519 key.
    public static func generate(
        algorithm: JWSAlgorithm,
        bits: Int? = nil,
        keyID: String? = nil
    ) throws(JOSEError) -> JWSKey {
        switch algorithm.family {
        case .hmac:
            let secret = try HMACSecret(try OpenSSL.randomBytes(bits.map { ($0 + 7) / 8 } ?? algorithm.hashLength), algorithm: algorithm)
            return try JWSKey(material: .secret(secret), algorithm: algorithm, keyID: keyID)
        case .rsa, .rsaPSS:
            let bits = bits ?? 2048
            guard bits >= 2048, bits <= 16384 else {
                throw JOSEError(.weakKey, "RSA keys must have 2048 to 16384 bits, not \(bits)")
            }
            return try make(type: "RSA", algorithm: algorithm, keyID: keyID) {
                EVP_PKEY_CTX_set_rsa_keygen_bits($0, Int32(bits))
            }
        case .ecdsa:
            let group = algorithm == .ES256 ? "P-256" : "P-384"
            return try make(type: "EC", algorithm: algorithm, keyID: keyID) { EVP_PKEY_CTX_set_group_name($0, group) }
        case .eddsa:
            return try make(type: "ED25519", algorithm: algorithm, keyID: keyID) { _ in 1 }
        }
    }

    private static func make(
        type: String,
        algorithm: JWSAlgorithm,
        keyID: String?,
        configure: (OpaquePointer) -> Int32
    ) throws(JOSEError) -> JWSKey {
        guard let ctx = EVP_PKEY_CTX_new_from_name(nil, type, nil) else {
            throw OpenSSL.error(.cryptoFailure, "no \(type) support")
        }
        defer { EVP_PKEY_CTX_free(ctx) }
        var pointer: OpaquePointer?
        guard EVP_PKEY_keygen_init(ctx) == 1, configure(ctx) == 1, EVP_PKEY_generate(ctx, &pointer) == 1,
            let pointer
        else {
            throw OpenSSL.error(.cryptoFailure, "\(type) key generation failed")
        }
        let pkey = try PKey(taking: pointer, algorithm: algorithm, isPrivate: true)
        return try JWSKey(material: .pair(pkey), algorithm: algorithm, keyID: keyID)
    }
}
