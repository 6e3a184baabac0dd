import ArgumentParser
import GatewayPolicy
import GatewayTooling

extension PolicyCommand {
    /// `keytool policy lint DIR`.
    struct Lint: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate a policy directory and warn about risky routes.",
            discussion: """
                Reports every error (file:line:column, what is wrong, a hint) and then warnings: public \
                routes, catch-all routes, routes that need a token but no scope/role/claim, and routes that \
                can never match. A policy with errors is never loaded by the gateway.

                Example:
                  keytool policy lint policies/ --upstream service-a --upstream service-b \\
                      --issuer https://idp.example.com

                Exit codes: 0 no errors (warnings allowed unless --strict), 1 errors, 2 usage errors.
                """
        )

        @Argument(help: "The policy directory.")
        var directory: String

        @OptionGroup var names: PolicyEnvironmentOptions

        @Flag(help: "Treat warnings as errors (exit 1 when there are any).")
        var strict = false

        func run() throws {
            let policy: Policy
            do {
                policy = try PolicyLoader.load(directory: directory, environment: names.environment)
            } catch {
                print(error.description)
                throw ExitCode.failure
            }
            let warnings = PolicyLinter.lint(policy)
            for warning in warnings { print(warning) }
            let publicRoutes = policy.routes.filter(\.isPublic)
            if !publicRoutes.isEmpty {
                print("public routes (no token needed):")
                for route in publicRoutes {
                    let reason = route.publicReason.map { "  (\($0))" } ?? ""
                    print("  \(route.name): \(route.methods) \(route.host.map { "\($0) " } ?? "")\(route.pattern)  [\(route.location)]\(reason)")
                }
            }
            let files = Set(policy.routes.map(\.location.file)).count
            print("\(policy.routes.count) routes in \(files) files: 0 errors, \(warnings.count) warnings")
            if strict, !warnings.isEmpty { throw ExitCode.failure }
        }
    }
}
