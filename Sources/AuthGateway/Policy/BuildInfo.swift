import JOSE
import SourceCommit

/// What `auth-gateway --version`, `keytool --version` and `gateway_build_info` say about this build.
package enum BuildInfo {
    /// The release version; raised with each release.
    package static let version = "0.11.0"

    /// The commit the build was made from: 12 hex digits, or `unknown` for a build from neither a git checkout
    /// nor a `git archive` tarball (scripts/source-commit).
    package static var commit: String { SourceCommit.id }

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

    /// `0.11.0 (commit 49d4e6012ab3, Swift 6.3, OpenSSL 3.0.17 1 Jul 2025)`.
    package static var description: String {
        "\(version) (commit \(commit), Swift \(swift), \(CryptoLibrary.version))"
    }
}
