/// One problem found in a policy or test file: where, how bad, what, and what to do about it.
package struct PolicyDiagnostic: Sendable, Hashable, Comparable, CustomStringConvertible {
    package enum Severity: String, Sendable, Hashable {
        case error
        case warning
    }

    package let severity: Severity
    package let location: SourceLocation
    /// What is wrong.
    package let message: String
    /// What to do about it ("did you mean `scopes`?"), if there is something specific to say.
    package let hint: String?

    package init(_ severity: Severity, at location: SourceLocation, _ message: String, hint: String? = nil) {
        self.severity = severity
        self.location = location
        self.message = message
        self.hint = hint
    }

    /// `file:line:column: error: message; hint: ...`, one line, the way compilers print it.
    package var description: String {
        var text = "\(location): \(severity.rawValue): \(message)"
        if let hint { text += "; hint: \(hint)" }
        return text
    }

    package static func < (lhs: PolicyDiagnostic, rhs: PolicyDiagnostic) -> Bool {
        (lhs.location, lhs.message) < (rhs.location, rhs.message)
    }
}
