internal import CryptoShim

/// Small helpers around libcrypto: error-queue draining, pre-fetched digests, scoped C objects.
enum OpenSSL {
    /// Drains OpenSSL's thread-local error queue into one line, so one call's errors never leak into
    /// the next, and returns a `JOSEError` carrying `context` and OpenSSL's first reason.
    static func error(_ code: JOSEError.Code, _ context: String) -> JOSEError {
        var first: String?
        while true {
            let packed = ERR_get_error()
            if packed == 0 { break }
            if first == nil, let text = ERR_reason_error_string(packed) {
                first = String(cString: text)
            }
        }
        if let first { return JOSEError(code, "\(context) (\(first))") }
        return JOSEError(code, context)
    }

    /// Clears the error queue after an expected failure (for example a wrong signature).
    static func clearErrors() {
        ERR_clear_error()
    }

    /// Digests fetched once: in OpenSSL 3 an implicit fetch on every use costs a locked lookup.
    final class Digests: @unchecked Sendable {
        let sha256: OpaquePointer
        let sha384: OpaquePointer
        let sha512: OpaquePointer

        static let shared = Digests()

        private init() {
            // A libcrypto without SHA-2 is a broken installation, not a runtime condition.
            guard let sha256 = EVP_MD_fetch(nil, "SHA256", nil),
                let sha384 = EVP_MD_fetch(nil, "SHA384", nil),
                let sha512 = EVP_MD_fetch(nil, "SHA512", nil)
            else { fatalError("libcrypto has no SHA-2 digests") }
            self.sha256 = sha256
            self.sha384 = sha384
            self.sha512 = sha512
        }
    }

    /// The pre-fetched digest for an algorithm (EdDSA has none).
    static func digest(for algorithm: JWSAlgorithm) -> OpaquePointer? {
        switch algorithm.hashLength {
        case _ where algorithm == .EdDSA: return nil
        case 32: return Digests.shared.sha256
        case 48: return Digests.shared.sha384
        default: return Digests.shared.sha512
        }
    }

    /// One-shot digest of `data` with a pre-fetched `md`.
    static func hash(_ data: UnsafeRawBufferPointer, md: OpaquePointer) throws(JOSEError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        let length = out.withUnsafeMutableBufferPointer { hash(data, md: md, into: $0) }
        guard length > 0 else { throw error(.cryptoFailure, "digest failed") }
        out.removeLast(out.count - length)
        return out
    }

    /// Digests `data` into `output` (at least `EVP_MAX_MD_SIZE` bytes) and returns the length, 0 on failure.
    static func hash(_ data: UnsafeRawBufferPointer, md: OpaquePointer, into output: UnsafeMutableBufferPointer<UInt8>) -> Int {
        guard let ctx = ThreadContexts.current.digestContext else { return 0 }
        var length: UInt32 = 0
        guard EVP_DigestInit_ex(ctx, md, nil) == 1, EVP_DigestUpdate(ctx, data.baseAddress, data.count) == 1,
            EVP_DigestFinal_ex(ctx, output.baseAddress, &length) == 1
        else {
            clearErrors()
            return 0
        }
        return Int(length)
    }

    /// SHA-256 of `bytes`, for thumbprints and cache keys.
    static func sha256(_ bytes: [UInt8]) throws(JOSEError) -> [UInt8] {
        var result: Result<[UInt8], JOSEError> = .success([])
        bytes.withUnsafeBytes { raw in
            do throws(JOSEError) {
                result = .success(try hash(raw, md: Digests.shared.sha256))
            } catch {
                result = .failure(error)
            }
        }
        return try result.get()
    }

    /// `count` bytes from OpenSSL's CSPRNG.
    static func randomBytes(_ count: Int) throws(JOSEError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        let ok = out.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32(count)) }
        guard ok == 1 else { throw error(.cryptoFailure, "random generator failed") }
        return out
    }

    /// Constant-time equality (CRYPTO_memcmp); different lengths compare unequal.
    static func constantTimeEquals(_ lhs: UnsafeRawBufferPointer, _ rhs: UnsafeRawBufferPointer) -> Bool {
        guard lhs.count == rhs.count else { return false }
        if lhs.count == 0 { return true }
        return CRYPTO_memcmp(lhs.baseAddress, rhs.baseAddress, lhs.count) == 0
    }

    /// The bytes of a big number, big-endian, left-padded to `width` when given.
    static func bytes(of bignum: OpaquePointer, width: Int? = nil) -> [UInt8] {
        let count = max(Int((BN_num_bits(bignum) + 7) / 8), width ?? 0)
        var out = [UInt8](repeating: 0, count: count)
        _ = out.withUnsafeMutableBufferPointer { BN_bn2binpad(bignum, $0.baseAddress, Int32(count)) }
        return out
    }

    /// Reads the contents of a memory BIO.
    static func contents(of bio: OpaquePointer) -> [UInt8] {
        var data: UnsafeMutablePointer<CChar>?
        let length = CryptoShim_BIO_get_mem_data(bio, &data)
        guard length > 0, let data else { return [] }
        return data.withMemoryRebound(to: UInt8.self, capacity: length) {
            Array(UnsafeBufferPointer(start: $0, count: length))
        }
    }
}
