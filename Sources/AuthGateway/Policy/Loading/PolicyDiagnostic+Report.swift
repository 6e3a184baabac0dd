extension Array where Element == PolicyDiagnostic {
    /// Sorted by file and position, without repeats: how every load error keeps its diagnostics.
    package func normalized() -> [PolicyDiagnostic] {
        var unique: [PolicyDiagnostic] = []
        for diagnostic in sorted() where unique.last != diagnostic {
            unique.append(diagnostic)
        }
        return unique
    }

    /// One diagnostic per line, then a count and what was not loaded (`"the policy"`).
    package func report(notLoaded subject: String) -> String {
        map(\.description).joined(separator: "\n")
            + "\n\(count) error\(count == 1 ? "" : "s"); \(subject) was not loaded"
    }
}
