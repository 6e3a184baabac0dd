/// A gateway configuration file that did not validate: every problem found, sorted by position.
///
/// Uses the same diagnostics as the policy loader, so both print `file:line:column: error: ...; hint: ...`.
/// A configuration with errors never becomes active: at start-up the gateway stops, on reload the running
/// configuration stays.
public struct GatewayConfigurationLoadError: Error, Sendable, CustomStringConvertible {
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
            + "\n\(count) error\(count == 1 ? "" : "s"); the configuration was not loaded"
    }
}
