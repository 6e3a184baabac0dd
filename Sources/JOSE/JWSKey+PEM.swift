internal import CryptoShim

/// PEM import and export: SPKI, PKCS#1 and PKCS#8 keys, and X.509 certificates for public keys.
extension JWSKey {
    /// Reads a PEM (or DER) private key, public key or certificate for `algorithm`.
    ///
    /// A PEM file carries no algorithm, so the caller names it: the key fixes the algorithm.
    public init(pem: [UInt8], algorithm: JWSAlgorithm, keyID: String? = nil) throws(JOSEError) {
        guard algorithm.family != .hmac else {
            throw JOSEError(.invalidKey, "\(algorithm) takes a shared secret as a JWK {\"kty\":\"oct\"}, not a PEM key")
        }
        let (pointer, isPrivate) = try JWSKey.decodePEM(pem)
        let pkey = try PKey(taking: pointer, algorithm: algorithm, isPrivate: isPrivate)
        try self.init(material: .pair(pkey), algorithm: algorithm, keyID: keyID)
    }

    /// Decodes a private key first, then a public key, then a certificate's public key.
    private static func decodePEM(_ bytes: [UInt8]) throws(JOSEError) -> (OpaquePointer, Bool) {
        if containsMarker(bytes, "-----BEGIN CERTIFICATE-----") {
            return (try publicKey(fromCertificate: bytes), false)
        }
        if let pkey = decode(bytes, selection: CryptoShim_EVP_PKEY_KEYPAIR()) { return (pkey, true) }
        if let pkey = decode(bytes, selection: CryptoShim_EVP_PKEY_PUBLIC_KEY()) { return (pkey, false) }
        throw OpenSSL.error(
            .invalidKey,
            "not a PEM key or certificate (expected PRIVATE KEY, RSA PRIVATE KEY, EC PRIVATE KEY, PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE)"
        )
    }

    private static func decode(_ bytes: [UInt8], selection: Int32) -> OpaquePointer? {
        var pkey: OpaquePointer?
        guard let ctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, nil, nil, nil, selection, nil, nil) else {
            OpenSSL.clearErrors()
            return nil
        }
        defer { OSSL_DECODER_CTX_free(ctx) }
        let ok = bytes.withUnsafeBufferPointer { buffer in
            var cursor = buffer.baseAddress
            var remaining = buffer.count
            return OSSL_DECODER_from_data(ctx, &cursor, &remaining)
        }
        guard ok == 1, let pkey else {
            OpenSSL.clearErrors()
            return nil
        }
        return pkey
    }

    private static func publicKey(fromCertificate bytes: [UInt8]) throws(JOSEError) -> OpaquePointer {
        guard let bio = bytes.withUnsafeBufferPointer({ BIO_new_mem_buf($0.baseAddress, Int32($0.count)) }) else {
            throw OpenSSL.error(.cryptoFailure, "out of memory")
        }
        defer { BIO_free(bio) }
        guard let certificate = PEM_read_bio_X509(bio, nil, nil, nil) else {
            throw OpenSSL.error(.invalidKey, "not a valid PEM certificate")
        }
        defer { X509_free(certificate) }
        guard let pkey = X509_get_pubkey(certificate) else {
            throw OpenSSL.error(.invalidKey, "certificate has no usable public key")
        }
        return pkey
    }

    private static func containsMarker(_ bytes: [UInt8], _ marker: String) -> Bool {
        let needle = Array(marker.utf8)
        guard bytes.count >= needle.count else { return false }
        return (0...(bytes.count - needle.count)).contains { start in
            bytes[start..<(start + needle.count)].elementsEqual(needle)
        }
    }

    /// The private key as PKCS#8 PEM (label `PRIVATE KEY`).
    public func privateKeyPEM() throws(JOSEError) -> String {
        guard case .pair(let pkey) = material, pkey.isPrivate else {
            throw JOSEError(.invalidKey, "only a private key pair has a private PEM form")
        }
        return try JWSKey.writePEM { PEM_write_bio_PrivateKey($0, pkey.pointer, nil, nil, 0, nil, nil) }
    }

    /// The public key as SPKI PEM (label `PUBLIC KEY`).
    public func publicKeyPEM() throws(JOSEError) -> String {
        guard case .pair(let pkey) = material else {
            throw JOSEError(.invalidKey, "an HMAC secret has no public key")
        }
        return try JWSKey.writePEM { PEM_write_bio_PUBKEY($0, pkey.pointer) }
    }

    private static func writePEM(_ write: (OpaquePointer) -> Int32) throws(JOSEError) -> String {
        guard let bio = BIO_new(BIO_s_mem()) else { throw OpenSSL.error(.cryptoFailure, "out of memory") }
        defer { BIO_free(bio) }
        guard write(bio) == 1 else { throw OpenSSL.error(.cryptoFailure, "cannot write PEM") }
        return String(decoding: OpenSSL.contents(of: bio), as: UTF8.self)
    }
}
