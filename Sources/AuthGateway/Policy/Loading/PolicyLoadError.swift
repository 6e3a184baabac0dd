/// A policy (or a test file) that did not validate: every problem found, sorted by file and position.
/// A policy with errors never becomes active.
public struct PolicyLoadError: Error, Sendable, CustomStringConvertible {
    public let diagnostics: [PolicyDiagnostic]

    public init(diagnostics: [PolicyDiagnostic]) {
        var unique: [PolicyDiagnostic] = []
        for diagnostic in diagnostics.sorted() where unique.last != diagnostic {
            unique.append(diagnostic)
        }
        self.diagnostics = unique
    }

    /// One diagnostic per line, then a count.
    public var description: String {
        let count = diagnostics.count
        return diagnostics.map(\.description).joined(separator: "\n")
            + "\n\(count) error\(count == 1 ? "" : "s"); the policy was not loaded"
    }
}
