internal import CryptoShim

/// Building an `EVP_PKEY` from JWK components, and reading them back.
extension PKey {
    /// JWK member name → OpenSSL RSA parameter name (RFC 7518 section 6.3).
    static let rsaParameters: [(jwk: String, openSSL: String)] = [
        ("n", "n"), ("e", "e"), ("d", "d"),
        ("p", "rsa-factor1"), ("q", "rsa-factor2"),
        ("dp", "rsa-exponent1"), ("dq", "rsa-exponent2"), ("qi", "rsa-coefficient1"),
    ]

    /// The key's JWK components as big-endian bytes: RSA `n e [d p q dp dq qi]`, EC `x y [d]`,
    /// Ed25519 `x [d]`. Private members only when `includePrivate`.
    func components(includePrivate: Bool) -> [String: [UInt8]] {
        switch algorithm.family {
        case .rsa, .rsaPSS:
            var out: [String: [UInt8]] = [:]
            for (jwk, name) in PKey.rsaParameters where includePrivate || jwk == "n" || jwk == "e" {
                if let value = bigNumber(name) { out[jwk] = value }
            }
            return out
        case .ecdsa:
            let width = ECDSASignature.width(for: algorithm)
            var out: [String: [UInt8]] = [:]
            out["x"] = bigNumber("qx", width: width)
            out["y"] = bigNumber("qy", width: width)
            if includePrivate { out["d"] = bigNumber("priv", width: width) }
            return out
        case .eddsa:
            var out: [String: [UInt8]] = [:]
            out["x"] = raw(EVP_PKEY_get_raw_public_key)
            if includePrivate { out["d"] = raw(EVP_PKEY_get_raw_private_key) }
            return out
        case .hmac:
            return [:]
        }
    }

    private func bigNumber(_ name: String, width: Int? = nil) -> [UInt8]? {
        var value: OpaquePointer?
        guard EVP_PKEY_get_bn_param(pointer, name, &value) == 1, let value else {
            OpenSSL.clearErrors()
            return nil
        }
        defer { BN_clear_free(value) }
        return OpenSSL.bytes(of: value, width: width)
    }

    private typealias RawGetter = (OpaquePointer?, UnsafeMutablePointer<UInt8>?, UnsafeMutablePointer<Int>?) -> Int32

    private func raw(_ getter: RawGetter) -> [UInt8]? {
        var length = 0
        guard getter(pointer, nil, &length) == 1 else {
            OpenSSL.clearErrors()
            return nil
        }
        var out = [UInt8](repeating: 0, count: length)
        guard out.withUnsafeMutableBufferPointer({ getter(pointer, $0.baseAddress, &length) }) == 1 else {
            OpenSSL.clearErrors()
            return nil
        }
        return out
    }

    /// Builds a key from JWK components (already base64url-decoded).
    static func make(
        algorithm: JWSAlgorithm,
        components: [String: [UInt8]]
    ) throws(JOSEError) -> PKey {
        let isPrivate = components["d"] != nil
        switch algorithm.family {
        case .rsa, .rsaPSS:
            let params = PKey.rsaParameters.compactMap { pair in
                components[pair.jwk].map { (pair.openSSL, $0) }
            }
            let pointer = try fromData(type: "RSA", bigNumbers: params, isPrivate: isPrivate)
            return try PKey(taking: pointer, algorithm: algorithm, isPrivate: isPrivate)
        case .ecdsa:
            guard let x = components["x"], let y = components["y"] else {
                throw JOSEError(.invalidKey, "EC key needs x and y")
            }
            let width = ECDSASignature.width(for: algorithm)
            guard x.count == width, y.count == width else {
                throw JOSEError(.invalidKey, "EC coordinates must be \(width) bytes for \(algorithm)")
            }
            let group = algorithm == .ES256 ? "P-256" : "P-384"
            let pointer = try fromData(
                type: "EC", bigNumbers: components["d"].map { [("priv", $0)] } ?? [],
                group: group, publicPoint: [0x04] + x + y, isPrivate: isPrivate
            )
            return try PKey(taking: pointer, algorithm: algorithm, isPrivate: isPrivate)
        case .eddsa:
            return try makeEd25519(components: components)
        case .hmac:
            throw JOSEError(.invalidKey, "\(algorithm) needs a shared secret")
        }
    }

    private static func makeEd25519(components: [String: [UInt8]]) throws(JOSEError) -> PKey {
        let pointer: OpaquePointer?
        if let d = components["d"] {
            guard d.count == 32 else { throw JOSEError(.invalidKey, "Ed25519 private key must be 32 bytes") }
            pointer = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nil, d, d.count)
        } else if let x = components["x"] {
            guard x.count == 32 else { throw JOSEError(.invalidKey, "Ed25519 public key must be 32 bytes") }
            pointer = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, x, x.count)
        } else {
            throw JOSEError(.invalidKey, "Ed25519 key needs x")
        }
        guard let pointer else { throw OpenSSL.error(.invalidKey, "invalid Ed25519 key") }
        let key = try PKey(taking: pointer, algorithm: .EdDSA, isPrivate: components["d"] != nil)
        if let x = components["x"], components["d"] != nil, key.components(includePrivate: false)["x"] != x {
            throw JOSEError(.invalidKey, "Ed25519 x does not match d")
        }
        return key
    }

    /// `EVP_PKEY_fromdata` over big numbers, and for EC a group name and encoded public point.
    private static func fromData(
        type: String,
        bigNumbers: [(String, [UInt8])],
        group: String? = nil,
        publicPoint: [UInt8]? = nil,
        isPrivate: Bool
    ) throws(JOSEError) -> OpaquePointer {
        guard let builder = OSSL_PARAM_BLD_new() else { throw OpenSSL.error(.cryptoFailure, "out of memory") }
        // The builder keeps pointers to names and strings until `to_param`: they must outlive it.
        var strings: [UnsafeMutablePointer<CChar>] = []
        var numbers: [OpaquePointer] = []
        defer {
            numbers.forEach { BN_clear_free($0) }
            strings.forEach { free($0) }
            OSSL_PARAM_BLD_free(builder)
        }
        func retained(_ text: String) -> UnsafeMutablePointer<CChar>? {
            guard let copy = strdup(text) else { return nil }
            strings.append(copy)
            return copy
        }
        var ok: Int32 = 1
        for (name, bytes) in bigNumbers {
            guard let number = BN_bin2bn(bytes, Int32(bytes.count), nil) else {
                throw OpenSSL.error(.cryptoFailure, "out of memory")
            }
            numbers.append(number)
            ok = ok == 1 ? OSSL_PARAM_BLD_push_BN(builder, retained(name), number) : ok
        }
        if let group {
            ok = ok == 1 ? OSSL_PARAM_BLD_push_utf8_string(builder, retained("group"), retained(group), 0) : ok
        }
        if let publicPoint, let copy = malloc(publicPoint.count) {
            strings.append(copy.assumingMemoryBound(to: CChar.self))
            publicPoint.withUnsafeBytes { copy.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            ok = ok == 1 ? OSSL_PARAM_BLD_push_octet_string(builder, retained("pub"), copy, publicPoint.count) : ok
        }
        guard ok == 1, let params = OSSL_PARAM_BLD_to_param(builder) else {
            throw OpenSSL.error(.cryptoFailure, "cannot build key parameters")
        }
        defer { OSSL_PARAM_free(params) }
        guard let ctx = EVP_PKEY_CTX_new_from_name(nil, type, nil) else {
            throw OpenSSL.error(.cryptoFailure, "no \(type) support")
        }
        defer { EVP_PKEY_CTX_free(ctx) }
        var pkey: OpaquePointer?
        let selection = isPrivate ? CryptoShim_EVP_PKEY_KEYPAIR() : CryptoShim_EVP_PKEY_PUBLIC_KEY()
        guard EVP_PKEY_fromdata_init(ctx) == 1, EVP_PKEY_fromdata(ctx, &pkey, selection, params) == 1,
            let pkey
        else {
            throw OpenSSL.error(.invalidKey, "invalid \(type) key")
        }
        return pkey
    }
}
