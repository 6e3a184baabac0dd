import Yams

/// Reads an `identity_headers:` mapping (`Header-Name: claim.path`, `$scopes`, `$roles`).
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
            let isToken = !name.isEmpty && name.unicodeScalars.allSatisfy {
                $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-")
            }
            if !isToken {
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
            guard let sourceText = reader.string(entry.value, "the claim for `\(name)`") else { continue }
            switch sourceText {
            case "$scopes":
                rules.append(IdentityHeaderRule(name: name, source: .scopes))
            case "$roles":
                rules.append(IdentityHeaderRule(name: name, source: .roles(rolesClaim)))
            default:
                if sourceText.hasPrefix("$") {
                    reader.error(
                        "unknown identity source `\(sourceText)`", at: entry.value,
                        hint: Suggestion.hint(for: sourceText, among: ["$scopes", "$roles"]))
                } else if let path = reader.claimPath(entry.value, "the claim for `\(name)`") {
                    rules.append(IdentityHeaderRule(name: name, source: .claim(path)))
                }
            }
        }
        return reader.errorCount == errorsBefore ? rules : nil
    }
}
