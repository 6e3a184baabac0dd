internal import CryptoShim

/// The SHA-256 of a token: a cache key that does not keep the token itself in memory.
public struct TokenFingerprint: Hashable, Sendable {
    private let words: (UInt64, UInt64, UInt64, UInt64)

    /// The fingerprint of the token's bytes.
    public init(_ token: UnsafeRawBufferPointer) {
        var digest = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        withUnsafeMutableBytes(of: &digest) { out in
            var length: UInt32 = 0
            let ok = EVP_Digest(
                token.baseAddress, token.count, out.baseAddress?.assumingMemoryBound(to: UInt8.self), &length,
                OpenSSL.Digests.shared.sha256, nil
            )
            // A digest failure is memory exhaustion; a zero fingerprint then only ever misses the cache
            // because entries are stored under fingerprints of successful digests.
            if ok != 1 { OpenSSL.clearErrors() }
        }
        words = digest
    }

    public init(_ token: String) {
        var copy = token
        self = copy.withUTF8 { TokenFingerprint(UnsafeRawBufferPointer($0)) }
    }

    public static func == (lhs: TokenFingerprint, rhs: TokenFingerprint) -> Bool {
        lhs.words.0 == rhs.words.0 && lhs.words.1 == rhs.words.1 && lhs.words.2 == rhs.words.2
            && lhs.words.3 == rhs.words.3
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
    }
}
