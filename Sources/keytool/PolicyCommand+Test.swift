import ArgumentParser
import GatewayPolicy
import GatewayTooling
import Foundation

extension PolicyCommand {
    /// `keytool policy test DIR [CASES...]`.
    struct Test: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a policy's test cases offline.",
            discussion: """
                Each case is a request (method, path, host) with the verified claims it carries (or none) \
                and the expected status, route, reason and identity headers. Paths are canonicalized as the \
                gateway does, so a case can expect 400 for a bad path. Prints one line per case (ok / FAIL \
                with what was expected and what happened) and a last line "N passed, N failed".

                A case may carry a real token instead of claims: `token: <JWT>` with `key: <PEM, JWK or \
                JWKS file, relative to the test file>` (plus `alg:` for PEM keys and `now:` in seconds since \
                1970 to pin the clock); it is verified as the gateway would, and a rejected token is 401 \
                token_invalid.

                Cases are read from DIR/tests/*.yaml unless files are given.

                Example (policies/tests/api.yaml):
                  cases:
                    - name: analyst reads data
                      request: { method: GET, path: /api/data }
                      claims: { sub: alice, scope: "read:data" }
                      expect: { status: 200, route: data-read, headers: { X-User-Id: alice } }
                    - name: no token
                      request: { method: GET, path: /api/data }
                      expect: { status: 401, reason: token_missing }

                  keytool policy test policies/
                  keytool policy test policies/ policies/tests/api.yaml

                Exit codes: 0 all passed, 1 a failure or an invalid policy or test file, 2 usage errors.
                """
        )

        @Argument(help: "The policy directory.")
        var directory: String

        @Argument(help: "Test files (default: DIR/tests/*.yaml).")
        var cases: [String] = []

        @OptionGroup var names: PolicyEnvironmentOptions

        func run() throws {
            let policy = try PolicyCommand.loadPolicy(directory: directory, environment: names.environment)
            let testCases: [PolicyTestCase]
            do {
                let files = cases.isEmpty
                    ? try PolicyTestCaseLoader.defaultFiles(forPolicyDirectory: directory) : cases
                testCases = try PolicyTestCaseLoader.load(files: files, now: Date().timeIntervalSince1970)
            } catch {
                PolicyCommand.printError(error.description)
                throw ExitCode.failure
            }
            let report = PolicyTestRunner.run(testCases, policy: policy)
            for line in report.lines { print(line) }
            if report.failed > 0 || report.results.isEmpty { throw ExitCode.failure }
        }
    }
}
