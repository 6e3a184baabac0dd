import Foundation
import JOSE
import Testing
import GatewayPolicy

/// Helpers shared by the policy suites: load YAML text as a policy, or collect its diagnostics.
package enum PolicyFixtures {
    package static func policy(_ yaml: String, file: String = "test.yaml", environment: PolicyEnvironment = .unchecked)
        throws -> Policy
    {
        try PolicyLoader.load(sources: [PolicySource(path: file, text: yaml)], environment: environment)
    }

    /// The diagnostics of sources that must not load.
    package static func errors(_ sources: [(String, String)], environment: PolicyEnvironment = .unchecked)
        -> [PolicyDiagnostic]
    {
        do {
            let policy = try PolicyLoader.load(
                sources: sources.map { PolicySource(path: $0.0, text: $0.1) }, environment: environment)
            Issue.record("the policy loaded with \(policy.routes.count) routes")
            return []
        } catch {
            return error.diagnostics
        }
    }

    package static func errors(_ yaml: String, file: String = "bad.yaml", environment: PolicyEnvironment = .unchecked)
        -> [PolicyDiagnostic]
    {
        errors([(file, yaml)], environment: environment)
    }

}

extension Policy {
    /// The matched route's name, for compact expectations.
    package func routeName(_ method: String, _ path: String, host: String? = nil) -> String? {
        route(method: method, host: host, path: path)?.name
    }
}
