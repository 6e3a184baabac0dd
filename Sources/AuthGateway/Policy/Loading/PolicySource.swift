/// The text of one policy or test file and the name diagnostics use for it.
public struct PolicySource: Sendable, Hashable {
    /// The path as shown in diagnostics (`policies/data.yaml`).
    public let path: String
    public let text: String

    public init(path: String, text: String) {
        self.path = path
        self.text = text
    }
}
