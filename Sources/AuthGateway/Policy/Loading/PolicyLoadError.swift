/// A policy (or a test file) that did not validate: every problem found, sorted by file and position.
/// A policy with errors never becomes active.
package struct PolicyLoadError: Error, Sendable, CustomStringConvertible {
    package let diagnostics: [PolicyDiagnostic]

    package init(diagnostics: [PolicyDiagnostic]) {
        self.diagnostics = diagnostics.normalized()
    }

    /// One diagnostic per line, then a count.
    package var description: String {
        diagnostics.report(notLoaded: "the policy")
    }
}
