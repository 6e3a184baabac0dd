import Yams

/// Reads an `identity_headers:` mapping: `Header-Name: claim.path` (`$scopes`, `$roles`), or
/// `Header-Name: { from: claim.path, optional: true }`.
struct IdentityHeaderDecoder {
    /// Headers the gateway owns or that carry transport meaning; a policy may not map a claim onto them.
    static let reserved: Set<String> = [
        "host", "authorization", "proxy-authorization", "cookie", "set-cookie", "connection", "keep-alive",
        "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade", "content-length", "content-type",
        "content-encoding", "expect", "via", "forwarded", "x-forwarded-for", "x-forwarded-host",
        "x-forwarded-proto", "x-forwarded-port", "x-real-ip", "x-request-id", "traceparent", "tracestate",
    ]

    /// The file's roles claim, which `$roles` refers to.
    let rolesClaim: ClaimPath

    func decode(_ node: Node, reader: inout YAMLReader) -> [IdentityHeaderRule]? {
        let errorsBefore = reader.errorCount
        guard let entries = reader.mapping(node, "`identity_headers`") else { return nil }
        var rules: [IdentityHeaderRule] = []
        var seen: [String: Node] = [:]
        for entry in entries {
            let name = entry.key
            if !HTTPSyntax.isPlainHeaderName(name) {
                reader.error(
                    "`\(name)` is not a valid identity header name", at: entry.keyNode,
                    hint: "use letters, digits and `-` (`_` and `.` are refused: some servers treat them as `-`)")
                continue
            }
            if Self.reserved.contains(name.lowercased()) {
                reader.error(
                    "`\(name)` cannot be an identity header: the gateway or HTTP itself sets it", at: entry.keyNode,
                    hint: "use a name of your own, such as `X-User-...`")
                continue
            }
            if let first = seen[name.lowercased()] {
                reader.error(
                    "identity header `\(name)` is set twice (first at line \(first.mark?.line ?? 0))",
                    at: entry.keyNode, hint: "header names are case-insensitive")
                continue
            }
            seen[name.lowercased()] = entry.keyNode
            if let rule = decodeSource(entry.value, name: name, reader: &reader) { rules.append(rule) }
        }
        return reader.errorCount == errorsBefore ? rules : nil
    }

    static let ruleKeys = ["from", "optional"]

    /// `claim.path`, `$scopes` or `$roles`, or `{ from: ..., optional: true }`. A claim is required unless
    /// optional; `$scopes` and `$roles` are lists a token may lack, optional unless `optional: false`.
    private func decodeSource(_ node: Node, name: String, reader: inout YAMLReader) -> IdentityHeaderRule? {
        var sourceNode = node
        var optional: Bool?
        if case .mapping = node {
            guard let entries = reader.mapping(node, "the identity header `\(name)`") else { return nil }
            reader.checkKeys(entries, allowed: Self.ruleKeys, in: "the identity header `\(name)`")
            reader.requireKeys(entries, ["from"], in: "the identity header `\(name)`", at: node)
            guard let from = entries.first(where: { $0.key == "from" })?.value else { return nil }
            sourceNode = from
            if let flag = entries.first(where: { $0.key == "optional" })?.value {
                optional = reader.bool(flag, "`optional`")
            }
        }
        guard let sourceText = reader.string(sourceNode, "the claim for `\(name)`") else { return nil }
        switch sourceText {
        case "$scopes":
            return IdentityHeaderRule(name: name, source: .scopes, optional: optional ?? true)
        case "$roles":
            return IdentityHeaderRule(name: name, source: .roles(rolesClaim), optional: optional ?? true)
        default:
            if sourceText.hasPrefix("$") {
                reader.error(
                    "unknown identity source `\(sourceText)`", at: sourceNode,
                    hint: Suggestion.hint(for: sourceText, among: ["$scopes", "$roles"]))
                return nil
            }
            guard let path = reader.claimPath(sourceNode, "the claim for `\(name)`") else { return nil }
            return IdentityHeaderRule(name: name, source: .claim(path), optional: optional ?? false)
        }
    }
}
