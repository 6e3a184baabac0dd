internal import CryptoShim

/// The OpenSSL that signs and verifies: its version as the library reports it at run time.
public enum CryptoLibrary {
    /// For example `OpenSSL 3.0.17 1 Jul 2025`.
    public static var version: String { String(cString: OpenSSL_version(OPENSSL_VERSION)) }
}
