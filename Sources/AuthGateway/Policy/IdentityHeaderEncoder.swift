import JOSE

/// Turns claim values into header values without ever letting a claim split or inject a header.
///
/// The rule (docs/POLICY.md, "Identity headers"):
/// - a string is sent as is; an integer in decimal; a boolean as `true` / `false`;
/// - an array of those, the scopes and the roles are a list: elements joined with `, ` (but never for a claim
///   that names one thing, ``singleValuedClaims``: `sub: ["alice", "admin"]` cannot be sent);
/// - a missing or `null` claim, an empty string or an empty array: omitted (the policy decides whether the
///   request may go on without the header);
/// - a single value must be printable ASCII (0x20–0x7E) without `,` and without leading or trailing space;
/// - a list element must be a token: letters, digits and ``listSymbols`` only. No space, `;`, quote or
///   other separator, so every common way of splitting a list header (on commas, on white space, on
///   semicolons, RFC 8941 lists) finds exactly the elements of the claim;
/// - anything else — CR, LF, NUL, other control bytes, separators, non-ASCII, fractional numbers, objects,
///   nested arrays — makes the value **unencodable, and the request is denied** (401 `claim_unencodable`):
///   dropping the header instead could let an upstream fall back to a weaker identity.
package enum IdentityHeaderEncoder {
    package enum Encoded: Equatable {
        case value(String)
        case omitted
        case unencodable
    }

    package static func encode(_ source: IdentityHeaderRule.Source, _ claims: [String: JSONValue]) -> Encoded {
        switch source {
        case .claim(let path):
            let value = path.value(in: claims)
            if case .array? = value, path.components.count == 1, singleValuedClaims.contains(path.components[0]) {
                return .unencodable
            }
            return encode(value)
        case .roles(let path):
            return encodeRoles(path.value(in: claims))
        case .scopes:
            return encodeScopes(claims)
        }
    }

    private static func encode(_ value: JSONValue?) -> Encoded {
        switch value {
        case nil, .null?:
            return .omitted
        case .array(let items)?:
            return encodeList(items, scalarText)
        case let value?:
            guard let text = scalarText(value) else { return .unencodable }
            if text.isEmpty { return .omitted }
            return isSafe(text.utf8) ? .value(text) : .unencodable
        }
    }

    /// Claims that name one thing (RFC 7519 §4.1.1–4.1.7 `iss`, `sub`, `jti`; OpenID Connect Core §2 `azp`;
    /// RFC 9068 §2.2 `client_id`): an array there is no list but a malformed token, and sent as `a, b` it would
    /// give an upstream that reads `X-User-Id` as one value — or splits it and takes the last — a subject the
    /// token never named alone. It denies (`claim_unencodable`) like any value that cannot be sent.
    static let singleValuedClaims: Set<String> = ["iss", "sub", "jti", "azp", "client_id"]

    /// The roles claim is read as the policy reads it (``ClaimTests/roles``): only an array of strings is a
    /// list of roles. Anything else — a string such as `"viewer admin"` above all, which an upstream might
    /// split into two roles that no `roles` clause ever granted — cannot be sent.
    private static func encodeRoles(_ value: JSONValue?) -> Encoded {
        switch value {
        case nil, .null?: return .omitted
        case .array(let items)?: return encodeList(items, \.stringValue)
        default: return .unencodable
        }
    }

    /// Elements joined with `, `, each a list element; omitted when empty.
    private static func encodeList(_ items: [JSONValue], _ text: (JSONValue) -> String?) -> Encoded {
        if items.isEmpty { return .omitted }
        var pieces: [String] = []
        pieces.reserveCapacity(items.count)
        for item in items {
            guard let piece = text(item), isListElement(piece.utf8) else { return .unencodable }
            pieces.append(piece)
        }
        return .value(pieces.joined(separator: ", "))
    }

    /// `scope` then `scp` (a space-separated string, or an array of scopes), duplicates dropped, joined with
    /// `, `. Byte-level: this runs on every allowed request.
    private static func encodeScopes(_ claims: [String: JSONValue]) -> Encoded {
        var list = ScopeList()
        switch claims["scope"] {
        case nil, .null?: break
        case .string(let scopes)?: guard list.add(spaceSeparated: scopes) else { return .unencodable }
        default: return .unencodable
        }
        switch claims["scp"] {
        case nil, .null?: break
        case .string(let scopes)?: guard list.add(spaceSeparated: scopes) else { return .unencodable }
        case .array(let items)?:
            // Each item is one scope, as the policy reads it (``ClaimTests/scopes``): never split.
            for item in items {
                guard case .string(let scope) = item, list.add(element: scope) else { return .unencodable }
            }
        default: return .unencodable
        }
        return list.bytes.isEmpty ? .omitted : .value(String(decoding: list.bytes, as: UTF8.self))
    }

    /// The `, `-joined header value being built, and where each scope sits in it (for de-duplication).
    private struct ScopeList {
        var bytes: [UInt8] = []
        var starts: [Int] = []

        /// Adds each space-separated token; false if one cannot be sent.
        mutating func add(spaceSeparated text: String) -> Bool {
            Policy.withBytes(text) { text in
                var start = 0
                while start < text.count {
                    var end = start
                    while end < text.count, text[end] != UInt8(ascii: " ") { end += 1 }
                    if end > start {
                        let token = UnsafeBufferPointer(rebasing: text[start..<end])
                        guard isListElement(token) else { return false }
                        if !contains(token) { append(token) }
                    }
                    start = end + 1
                }
                return true
            }
        }

        /// Adds one scope; false if it cannot be sent.
        mutating func add(element text: String) -> Bool {
            Policy.withBytes(text) { token in
                guard isListElement(token) else { return false }
                if !contains(token) { append(token) }
                return true
            }
        }

        private func contains(_ token: UnsafeBufferPointer<UInt8>) -> Bool {
            for (index, start) in starts.enumerated() {
                let end = index + 1 < starts.count ? starts[index + 1] - 2 : bytes.count
                guard end - start == token.count else { continue }
                var offset = 0
                while offset < token.count, bytes[start + offset] == token[offset] { offset += 1 }
                if offset == token.count { return true }
            }
            return false
        }

        private mutating func append(_ token: UnsafeBufferPointer<UInt8>) {
            if bytes.isEmpty {
                bytes.reserveCapacity(64)
            } else {
                bytes.append(UInt8(ascii: ","))
                bytes.append(UInt8(ascii: " "))
            }
            starts.append(bytes.count)
            bytes.append(contentsOf: token)
        }
    }

    private static func scalarText(_ value: JSONValue) -> String? {
        switch value {
        case .string(let text): return text
        case .int(let number): return String(number)
        case .bool(let flag): return flag ? "true" : "false"
        default: return nil
        }
    }

    /// The characters a list element may hold besides letters and digits: RFC 9110 `tchar` symbols, and `:`,
    /// `/` and `@` (scopes such as `read:data` or `https://api.example/read`, groups such as `team@example`).
    static let listSymbols = HTTPSyntax.tokenSymbols + Array(":/@".utf8)

    /// A non-empty token of letters, digits and ``listSymbols``.
    static func isListElement<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> Bool {
        guard !bytes.isEmpty else { return false }
        return bytes.allSatisfy { HTTPSyntax.isAlphanumeric($0) || listSymbols.contains($0) }
    }

    /// Printable ASCII, no comma, no leading or trailing space.
    static func isSafe<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> Bool {
        guard let first = bytes.first, first != UInt8(ascii: " ") else { return bytes.isEmpty }
        var last = first
        for byte in bytes {
            guard byte >= 0x20, byte <= 0x7E, byte != UInt8(ascii: ",") else { return false }
            last = byte
        }
        return last != UInt8(ascii: " ")
    }
}
