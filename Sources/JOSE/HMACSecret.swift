internal import CryptoShim

/// An HMAC secret bound to one algorithm, with an `EVP_MAC_CTX` keyed once.
///
/// Each computation duplicates the keyed context, so concurrent use from several threads only reads
/// shared state.
final class HMACSecret: @unchecked Sendable {
    let algorithm: JWSAlgorithm
    let bytes: [UInt8]
    private let keyed: OpaquePointer
    /// Keys this secret's per-thread contexts.
    private let identity = KeyIdentity.next()

    private final class MACAlgorithm: @unchecked Sendable {
        let pointer: OpaquePointer
        static let shared = MACAlgorithm()
        private init() {
            guard let mac = EVP_MAC_fetch(nil, "HMAC", nil) else { fatalError("libcrypto has no HMAC") }
            pointer = mac
        }
    }

    /// Refuses secrets shorter than the hash output (RFC 7518 section 3.2).
    init(_ bytes: [UInt8], algorithm: JWSAlgorithm) throws(JOSEError) {
        guard algorithm.family == .hmac else {
            throw JOSEError(.invalidKey, "\(algorithm) needs a public-key key pair, not a shared secret")
        }
        guard bytes.count >= algorithm.hashLength else {
            throw JOSEError(
                .weakKey,
                "\(algorithm) secret has \(bytes.count) bytes; at least \(algorithm.hashLength) are required"
            )
        }
        guard let ctx = EVP_MAC_CTX_new(MACAlgorithm.shared.pointer) else {
            throw OpenSSL.error(.cryptoFailure, "cannot create an HMAC context")
        }
        let digestName = "SHA\(algorithm.hashLength * 8)"
        let ok = digestName.withCString { name in
            let mutableName = UnsafeMutablePointer(mutating: name)
            var params = [
                OSSL_PARAM_construct_utf8_string("digest", mutableName, 0),
                OSSL_PARAM_construct_end(),
            ]
            return bytes.withUnsafeBufferPointer { key in
                EVP_MAC_init(ctx, key.baseAddress, key.count, &params)
            }
        }
        guard ok == 1 else {
            EVP_MAC_CTX_free(ctx)
            throw OpenSSL.error(.cryptoFailure, "cannot key HMAC")
        }
        self.algorithm = algorithm
        self.bytes = bytes
        self.keyed = ctx
    }

    deinit {
        EVP_MAC_CTX_free(keyed)
    }

    /// The MAC of `message`, written into `output` (at least 64 bytes); returns its length or 0.
    private func mac(_ message: UnsafeRawBufferPointer, into output: UnsafeMutableBufferPointer<UInt8>) -> Int {
        let keyed = self.keyed
        let prepared = ThreadContexts.current.context(
            for: identity, make: { EVP_MAC_CTX_dup(keyed) }, free: { EVP_MAC_CTX_free($0) }
        )
        // Re-initialising with no key restarts the MAC with the key it already holds.
        guard let ctx = prepared, EVP_MAC_init(ctx, nil, 0, nil) == 1 else {
            OpenSSL.clearErrors()
            return 0
        }
        var length = 0
        guard EVP_MAC_update(ctx, message.assumingMemoryBound(to: UInt8.self).baseAddress, message.count) == 1,
            EVP_MAC_final(ctx, output.baseAddress, &length, output.count) == 1
        else {
            OpenSSL.clearErrors()
            return 0
        }
        return length
    }

    func sign(message: UnsafeRawBufferPointer) throws(JOSEError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 64)
        let length = out.withUnsafeMutableBufferPointer { mac(message, into: $0) }
        guard length == algorithm.hashLength else { throw OpenSSL.error(.cryptoFailure, "HMAC failed") }
        out.removeLast(out.count - length)
        return out
    }

    /// Compares in constant time; a wrong length is simply `false`.
    func verify(signature: UnsafeRawBufferPointer, message: UnsafeRawBufferPointer) -> Bool {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { buffer in
            let length = mac(message, into: buffer)
            guard length == algorithm.hashLength else { return false }
            return OpenSSL.constantTimeEquals(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer)[0..<length]), signature)
        }
    }
}
