/// One problem found in a policy or test file: where, how bad, what, and what to do about it.
public struct PolicyDiagnostic: Sendable, Hashable, Comparable, CustomStringConvertible {
    public enum Severity: String, Sendable, Hashable {
        case error
        case warning
    }

    public let severity: Severity
    public let location: SourceLocation
    /// What is wrong.
    public let message: String
    /// What to do about it ("did you mean `scopes`?"), if there is something specific to say.
    public let hint: String?

    public init(_ severity: Severity, at location: SourceLocation, _ message: String, hint: String? = nil) {
        self.severity = severity
        self.location = location
        self.message = message
        self.hint = hint
    }

    /// `file:line:column: error: message; hint: ...`, one line, the way compilers print it.
    public var description: String {
        var text = "\(location): \(severity.rawValue): \(message)"
        if let hint { text += "; hint: \(hint)" }
        return text
    }

    public static func < (lhs: PolicyDiagnostic, rhs: PolicyDiagnostic) -> Bool {
        (lhs.location, lhs.message) < (rhs.location, rhs.message)
    }
}
