import JOSE

/// What `auth-gateway --version`, `keytool --version` and `gateway_build_info` say about this build.
package enum BuildInfo {
    /// The release version; raised with each release.
    package static let version = "0.11.0"

    /// The Swift compiler the build used (major.minor).
    package static var swift: String {
        #if compiler(>=6.4)
            return "6.4+"
        #elseif compiler(>=6.3)
            return "6.3"
        #elseif compiler(>=6.2)
            return "6.2"
        #else
            return "6.1 or older"
        #endif
    }

    /// `0.11.0 (Swift 6.3, OpenSSL 3.0.17 1 Jul 2025)`.
    package static var description: String { "\(version) (Swift \(swift), \(CryptoLibrary.version))" }
}
