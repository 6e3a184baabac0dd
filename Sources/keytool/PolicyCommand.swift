import ArgumentParser
import GatewayPolicy
import GatewayTooling
import Foundation

/// `keytool policy`: offline checks of a policy directory. The logic lives in AuthGateway (the gateway's
/// `check` runs the same code); this layer parses arguments and prints.
struct PolicyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Lint, test and explain gateway policies offline.",
        discussion: """
            A policy directory holds policy files (*.yaml, *.yml) directly inside it; they compose into \
            one policy. Test cases live in its tests/ sub-directory. See docs/POLICY.md for the format.

            Example:
              keytool policy lint policies/ --upstream service-a --upstream service-b
              keytool policy test policies/
              keytool policy explain policies/ --method GET --path /api/data \\
                  --claims '{"scope":"read:data"}'

            Exit codes: 0 success, 1 errors in the policy or failed tests, 2 usage errors.
            """,
        subcommands: [Lint.self, Test.self, Explain.self]
    )

    /// Writes a line to standard error.
    static func printError(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }

    /// Loads the policy, or prints every diagnostic and exits 1.
    static func loadPolicy(directory: String, environment: PolicyEnvironment) throws -> Policy {
        do {
            return try PolicyLoader.load(directory: directory, environment: environment)
        } catch {
            printError(error.description)
            throw ExitCode.failure
        }
    }
}

/// `--upstream NAME... --issuer ISS...`: names the gateway configuration knows, to check the policy against.
struct PolicyEnvironmentOptions: ParsableArguments {
    @Option(name: .customLong("upstream"), help: ArgumentHelp(
        "An upstream name the gateway configuration defines (repeatable). Without any, upstream names are not checked.",
        valueName: "name"))
    var upstreams: [String] = []

    @Option(name: .customLong("issuer"), help: ArgumentHelp(
        "An issuer the gateway trusts (repeatable). Without any, route issuers are not checked.",
        valueName: "iss"))
    var issuers: [String] = []

    var environment: PolicyEnvironment {
        PolicyEnvironment(upstreams: upstreams.isEmpty ? nil : upstreams, issuers: issuers.isEmpty ? nil : issuers)
    }
}
