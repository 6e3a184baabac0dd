/// The text of one policy or test file and the name diagnostics use for it.
package struct PolicySource: Sendable, Hashable {
    /// The path as shown in diagnostics (`policies/data.yaml`).
    package let path: String
    package let text: String

    package init(path: String, text: String) {
        self.path = path
        self.text = text
    }
}
