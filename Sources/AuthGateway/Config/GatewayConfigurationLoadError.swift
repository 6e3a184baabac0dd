import GatewayPolicy
/// A gateway configuration file that did not validate: every problem found, sorted by position.
///
/// Uses the same diagnostics as the policy loader, so both print `file:line:column: error: ...; hint: ...`.
/// A configuration with errors never becomes active: at start-up the gateway stops, on reload the running
/// configuration stays.
package struct GatewayConfigurationLoadError: Error, Sendable, CustomStringConvertible {
    package let diagnostics: [PolicyDiagnostic]

    package init(diagnostics: [PolicyDiagnostic]) {
        self.diagnostics = diagnostics.normalized()
    }

    /// One diagnostic per line, then a count.
    package var description: String {
        diagnostics.report(notLoaded: "the configuration")
    }
}
