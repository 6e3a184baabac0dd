/// A policy (or a test file) that did not validate: every problem found, sorted by file and position.
/// A policy with errors never becomes active.
public struct PolicyLoadError: Error, Sendable, CustomStringConvertible {
    public let diagnostics: [PolicyDiagnostic]

    public init(diagnostics: [PolicyDiagnostic]) {
        self.diagnostics = diagnostics.normalized()
    }

    /// One diagnostic per line, then a count.
    public var description: String {
        diagnostics.report(notLoaded: "the policy")
    }
}
