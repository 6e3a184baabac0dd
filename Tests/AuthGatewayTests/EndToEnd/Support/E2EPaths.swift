import Foundation
import TestSupport

/// Where the end-to-end tests find their tools (``TestTools``) and the built gateway.
enum E2EPaths {
    static let scripts = TestTools.e2eScripts
    static let curl = TestTools.curl
    static let openssl = TestTools.openssl

    /// The `auth-gateway` executable of the build that runs these tests: next to the test bundle, or
    /// `AUTH_GATEWAY_BINARY`, or `.build-e2e/debug/auth-gateway`.
    static var gatewayBinary: String? {
        var candidates: [String] = []
        if let explicit = ProcessInfo.processInfo.environment["AUTH_GATEWAY_BINARY"] { candidates.append(explicit) }
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        candidates.append(bundle.appendingPathComponent("auth-gateway").path)
        candidates.append(bundle.deletingLastPathComponent().appendingPathComponent("auth-gateway").path)
        candidates.append(TestTools.repositoryRoot + "/.build-e2e/debug/auth-gateway")
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
