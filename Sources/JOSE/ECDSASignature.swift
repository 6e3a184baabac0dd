internal import CryptoShim

/// Converts ECDSA signatures between JWS's fixed-width `R || S` (RFC 7518 section 3.4) and the DER
/// `ECDSA-Sig-Value` that OpenSSL produces and expects.
enum ECDSASignature {
    /// The byte width of R and S for an algorithm.
    static func width(for algorithm: JWSAlgorithm) -> Int {
        algorithm == .ES256 ? 32 : 48
    }

    /// DER from raw; `nil` when the raw signature has the wrong length.
    static func der(fromRaw raw: UnsafeRawBufferPointer, width: Int) -> [UInt8]? {
        guard raw.count == 2 * width, let sig = ECDSA_SIG_new() else { return nil }
        defer { ECDSA_SIG_free(sig) }
        let bytes = raw.assumingMemoryBound(to: UInt8.self)
        guard let r = BN_bin2bn(bytes.baseAddress, Int32(width), nil) else { return nil }
        guard let s = BN_bin2bn(bytes.baseAddress.map { $0 + width }, Int32(width), nil) else {
            BN_free(r)
            return nil
        }
        guard ECDSA_SIG_set0(sig, r, s) == 1 else {
            BN_free(r)
            BN_free(s)
            return nil
        }
        let length = i2d_ECDSA_SIG(sig, nil)
        guard length > 0 else { return nil }
        var out = [UInt8](repeating: 0, count: Int(length))
        out.withUnsafeMutableBufferPointer { buffer in
            var cursor = buffer.baseAddress
            _ = i2d_ECDSA_SIG(sig, &cursor)
        }
        return out
    }

    /// Raw `R || S` from DER.
    static func raw(fromDER der: [UInt8], width: Int) throws(JOSEError) -> [UInt8] {
        let sig: OpaquePointer? = der.withUnsafeBufferPointer { buffer in
            var cursor = buffer.baseAddress
            return d2i_ECDSA_SIG(nil, &cursor, buffer.count)
        }
        guard let sig else { throw OpenSSL.error(.cryptoFailure, "bad ECDSA signature from OpenSSL") }
        defer { ECDSA_SIG_free(sig) }
        guard let r = ECDSA_SIG_get0_r(sig), let s = ECDSA_SIG_get0_s(sig) else {
            throw JOSEError(.cryptoFailure, "bad ECDSA signature from OpenSSL")
        }
        return OpenSSL.bytes(of: r, width: width) + OpenSSL.bytes(of: s, width: width)
    }
}
