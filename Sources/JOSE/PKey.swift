internal import CryptoShim

/// Owns one OpenSSL `EVP_PKEY` bound to one JWS algorithm, with a verify context prepared once.
///
/// Immutable after init: concurrent verifications only read the key and duplicate the prepared
/// context, which OpenSSL allows from several threads at once.
final class PKey: @unchecked Sendable {
    let pointer: OpaquePointer
    let algorithm: JWSAlgorithm
    let isPrivate: Bool
    /// The RSA modulus length in bytes: an RSA signature must be exactly this long (RFC 8017 §8.1.2 and
    /// §8.2.2, step 1), though OpenSSL would accept one whose leading zero bytes were dropped.
    private let rsaSignatureLength: Int?
    /// An `EVP_PKEY_CTX` initialised for verification with padding and digest set (not EdDSA); each
    /// thread verifies with its own copy from ``ThreadContexts``.
    private let verifyTemplate: OpaquePointer?
    /// Keys this object's per-thread contexts.
    private let identity = KeyIdentity.next()

    /// Takes ownership of `pointer` (freed on failure too) after checking it fits `algorithm`.
    init(taking pointer: OpaquePointer, algorithm: JWSAlgorithm, isPrivate: Bool) throws(JOSEError) {
        do {
            try PKey.check(pointer, fits: algorithm)
            self.verifyTemplate = try PKey.prepareContext(pointer, algorithm: algorithm, forSigning: false)
        } catch {
            EVP_PKEY_free(pointer)
            throw error
        }
        self.pointer = pointer
        self.algorithm = algorithm
        self.isPrivate = isPrivate
        self.rsaSignatureLength = algorithm.family == .rsa || algorithm.family == .rsaPSS ? Int(EVP_PKEY_get_size(pointer)) : nil
    }

    deinit {
        if let verifyTemplate { EVP_PKEY_CTX_free(verifyTemplate) }
        EVP_PKEY_free(pointer)
    }

    /// Refuses keys of the wrong type or curve for `algorithm`, and weak RSA keys.
    private static func check(_ pkey: OpaquePointer, fits algorithm: JWSAlgorithm) throws(JOSEError) {
        switch algorithm.family {
        case .hmac:
            throw JOSEError(.invalidKey, "\(algorithm) needs a shared secret, not a public-key key pair")
        case .rsa, .rsaPSS:
            guard EVP_PKEY_is_a(pkey, "RSA") == 1 else {
                throw JOSEError(.invalidKey, "\(algorithm) needs an RSA key")
            }
            try checkRSAStrength(pkey)
        case .ecdsa:
            let wanted = algorithm == .ES256 ? "prime256v1" : "secp384r1"
            guard EVP_PKEY_is_a(pkey, "EC") == 1, curveName(pkey) == wanted else {
                throw JOSEError(.invalidKey, "\(algorithm) needs an EC key on \(algorithm == .ES256 ? "P-256" : "P-384")")
            }
        case .eddsa:
            guard EVP_PKEY_is_a(pkey, "ED25519") == 1 else {
                throw JOSEError(.invalidKey, "EdDSA needs an Ed25519 key")
            }
        }
    }

    /// RSA keys must have at least 2048 bits and an odd public exponent of at least 65537.
    private static func checkRSAStrength(_ pkey: OpaquePointer) throws(JOSEError) {
        let bits = EVP_PKEY_get_bits(pkey)
        guard bits >= 2048 else {
            throw JOSEError(.weakKey, "RSA key has \(bits) bits; at least 2048 are required")
        }
        var exponent: OpaquePointer?
        guard EVP_PKEY_get_bn_param(pkey, "e", &exponent) == 1, let exponent else {
            throw OpenSSL.error(.invalidKey, "RSA key has no public exponent")
        }
        defer { BN_free(exponent) }
        guard BN_is_odd(exponent) == 1, BN_num_bits(exponent) >= 17 else {
            throw JOSEError(.weakKey, "RSA public exponent must be odd and at least 65537")
        }
    }

    /// The curve's OpenSSL name, such as `prime256v1`.
    static func curveName(_ pkey: OpaquePointer) -> String? {
        var buffer = [CChar](repeating: 0, count: 64)
        var length = 0
        let ok = buffer.withUnsafeMutableBufferPointer {
            EVP_PKEY_get_utf8_string_param(pkey, "group", $0.baseAddress, $0.count, &length)
        }
        guard ok == 1 else {
            OpenSSL.clearErrors()
            return nil
        }
        return String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// An `EVP_PKEY_CTX` ready to sign or verify a digest for `algorithm`; `nil` for EdDSA, which
    /// signs the message itself.
    static func prepareContext(
        _ pkey: OpaquePointer,
        algorithm: JWSAlgorithm,
        forSigning: Bool
    ) throws(JOSEError) -> OpaquePointer? {
        guard let md = OpenSSL.digest(for: algorithm) else { return nil }
        guard let ctx = EVP_PKEY_CTX_new_from_pkey(nil, pkey, nil) else {
            throw OpenSSL.error(.cryptoFailure, "cannot create a key context")
        }
        var ok = forSigning ? EVP_PKEY_sign_init(ctx) : EVP_PKEY_verify_init(ctx)
        switch algorithm.family {
        case .rsa:
            ok = ok == 1 ? EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) : ok
        case .rsaPSS:
            ok = ok == 1 ? EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) : ok
            // RFC 7518 section 3.5: the salt is as long as the digest, MGF1 uses the same hash.
            ok = ok == 1 ? EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, CryptoShim_RSA_PSS_SALTLEN_DIGEST()) : ok
            ok = ok == 1 ? EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) : ok
        default:
            break
        }
        ok = ok == 1 ? EVP_PKEY_CTX_set_signature_md(ctx, md) : ok
        guard ok == 1 else {
            EVP_PKEY_CTX_free(ctx)
            throw OpenSSL.error(.cryptoFailure, "cannot prepare the key for \(algorithm)")
        }
        return ctx
    }

    /// Verifies `signature` (DER for ECDSA) over `message`. A wrong signature is `false`, not an error.
    func verify(signature: UnsafeRawBufferPointer, message: UnsafeRawBufferPointer) -> Bool {
        if let rsaSignatureLength, signature.count != rsaSignatureLength { return false }
        guard let verifyTemplate, let md = OpenSSL.digest(for: algorithm) else {
            return verifyEdDSA(signature: signature, message: message)
        }
        let prepared = ThreadContexts.current.context(
            for: identity, make: { EVP_PKEY_CTX_dup(verifyTemplate) }, free: { EVP_PKEY_CTX_free($0) }
        )
        guard let ctx = prepared else {
            OpenSSL.clearErrors()
            return false
        }
        let result = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Int(EVP_MAX_MD_SIZE)) { digest in
            let length = OpenSSL.hash(message, md: md, into: digest)
            guard length > 0 else { return Int32(0) }
            return EVP_PKEY_verify(
                ctx, signature.assumingMemoryBound(to: UInt8.self).baseAddress, signature.count, digest.baseAddress, length
            )
        }
        if result != 1 { OpenSSL.clearErrors() }
        return result == 1
    }

    private func verifyEdDSA(signature: UnsafeRawBufferPointer, message: UnsafeRawBufferPointer) -> Bool {
        guard let ctx = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(ctx) }
        guard EVP_DigestVerifyInit_ex(ctx, nil, nil, nil, nil, pointer, nil) == 1 else {
            OpenSSL.clearErrors()
            return false
        }
        let result = EVP_DigestVerify(
            ctx,
            signature.assumingMemoryBound(to: UInt8.self).baseAddress, signature.count,
            message.assumingMemoryBound(to: UInt8.self).baseAddress, message.count
        )
        if result != 1 { OpenSSL.clearErrors() }
        return result == 1
    }

    /// Signs `message`; ECDSA signatures come back DER-encoded.
    func sign(message: UnsafeRawBufferPointer) throws(JOSEError) -> [UInt8] {
        guard isPrivate else { throw JOSEError(.invalidKey, "a public key cannot sign") }
        guard let md = OpenSSL.digest(for: algorithm) else { return try signEdDSA(message: message) }
        let digest = try OpenSSL.hash(message, md: md)
        guard let ctx = try PKey.prepareContext(pointer, algorithm: algorithm, forSigning: true) else {
            throw JOSEError(.cryptoFailure, "no signing context")
        }
        defer { EVP_PKEY_CTX_free(ctx) }
        var length = 0
        guard EVP_PKEY_sign(ctx, nil, &length, digest, digest.count) == 1 else {
            throw OpenSSL.error(.cryptoFailure, "signing failed")
        }
        var out = [UInt8](repeating: 0, count: length)
        let ok = out.withUnsafeMutableBufferPointer {
            EVP_PKEY_sign(ctx, $0.baseAddress, &length, digest, digest.count)
        }
        guard ok == 1 else { throw OpenSSL.error(.cryptoFailure, "signing failed") }
        out.removeLast(out.count - length)
        return out
    }

    private func signEdDSA(message: UnsafeRawBufferPointer) throws(JOSEError) -> [UInt8] {
        guard let ctx = EVP_MD_CTX_new() else { throw OpenSSL.error(.cryptoFailure, "out of memory") }
        defer { EVP_MD_CTX_free(ctx) }
        guard EVP_DigestSignInit_ex(ctx, nil, nil, nil, nil, pointer, nil) == 1 else {
            throw OpenSSL.error(.cryptoFailure, "cannot initialise EdDSA signing")
        }
        var out = [UInt8](repeating: 0, count: 64)
        var length = out.count
        let ok = out.withUnsafeMutableBufferPointer {
            EVP_DigestSign(ctx, $0.baseAddress, &length, message.assumingMemoryBound(to: UInt8.self).baseAddress, message.count)
        }
        guard ok == 1, length == 64 else { throw OpenSSL.error(.cryptoFailure, "EdDSA signing failed") }
        return out
    }
}
