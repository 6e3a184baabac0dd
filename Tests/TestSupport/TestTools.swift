import Foundation

/// Where every test target finds the repository and the tools its tests run, in one place, the same way
/// `scripts/setup` installs them: the Debian tools at their system paths, and Python as the virtual
/// environment `scripts/setup` creates in `.venv/` with the packages the tests import (PyJWT,
/// cryptography, h2). Never `python3` from `PATH`: on many machines that is another interpreter (a pyenv
/// shim, a bare virtual environment) without those packages.
package enum TestTools {
    /// The repository root, from this file's path (Tests/TestSupport/TestTools.swift).
    package static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// Tests/e2e: the Python clients, upstreams and attack tools of the end-to-end tests.
    package static let e2eScripts = repositoryRoot + "/Tests/e2e"

    /// The tests' Python: `AUTH_GATEWAY_TEST_PYTHON` when set, else `.venv/bin/python3` of this checkout.
    package static let python: String = {
        if let explicit = ProcessInfo.processInfo.environment["AUTH_GATEWAY_TEST_PYTHON"], !explicit.isEmpty {
            return explicit
        }
        return repositoryRoot + "/.venv/bin/python3"
    }()

    package static let curl = "/usr/bin/curl"
    package static let openssl = "/usr/bin/openssl"

    /// Fails with the way to install `executable` when it is missing (a test never skips for that).
    package static func requireExecutable(_ executable: String) throws {
        guard executable.hasPrefix("/"), !FileManager.default.isExecutableFile(atPath: executable) else { return }
        if executable == python {
            throw HarnessError(
                "the tests' Python \(executable) is missing: run scripts/setup, which creates .venv/ with "
                    + "PyJWT, cryptography and h2 (or set AUTH_GATEWAY_TEST_PYTHON to an interpreter that has them)")
        }
        throw HarnessError("\(executable) is missing: run scripts/setup, which installs the tools the tests run")
    }

    /// A fresh directory under the system temporary directory; the caller removes it.
    package static func temporaryDirectory(prefix: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(12))").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}
