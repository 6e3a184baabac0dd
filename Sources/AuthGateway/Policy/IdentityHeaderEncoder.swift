import JOSE

/// Turns claim values into header values without ever letting a claim split or inject a header.
///
/// The rule (docs/POLICY.md, "Identity headers"):
/// - a string is sent as is; an integer in decimal; a boolean as `true` / `false`;
/// - an array of those is joined with `, `;
/// - a missing or `null` claim, an empty string or an empty array: the header is not sent;
/// - every sent piece must be printable ASCII (0x20–0x7E) without `,` and without leading or trailing space;
///   anything else — CR, LF, NUL, other control bytes, commas, non-ASCII, fractional numbers, objects,
///   nested arrays — makes the value **unencodable, and the request is denied** (401 `claim_unencodable`):
///   dropping the header instead could let an upstream fall back to a weaker identity.
enum IdentityHeaderEncoder {
    enum Encoded: Equatable {
        case value(String)
        case omitted
        case unencodable
    }

    static func encode(_ source: IdentityHeaderRule.Source, _ claims: [String: JSONValue]) -> Encoded {
        switch source {
        case .claim(let path), .roles(let path):
            return encode(path.value(in: claims))
        case .scopes:
            return encodeScopes(claims)
        }
    }

    private static func encode(_ value: JSONValue?) -> Encoded {
        switch value {
        case nil, .null?:
            return .omitted
        case .array(let items)?:
            if items.isEmpty { return .omitted }
            var pieces: [String] = []
            pieces.reserveCapacity(items.count)
            for item in items {
                guard let piece = scalarText(item), !piece.isEmpty, isSafe(piece) else { return .unencodable }
                pieces.append(piece)
            }
            return .value(pieces.joined(separator: ", "))
        case let value?:
            guard let text = scalarText(value) else { return .unencodable }
            if text.isEmpty { return .omitted }
            return isSafe(text) ? .value(text) : .unencodable
        }
    }

    private static func encodeScopes(_ claims: [String: JSONValue]) -> Encoded {
        var scopes: [String] = []
        func add(list: String) {
            for token in list.split(separator: " ") where !scopes.contains(where: { $0 == token }) {
                scopes.append(String(token))
            }
        }
        switch claims["scope"] {
        case nil, .null?: break
        case .string(let list)?: add(list: list)
        default: return .unencodable
        }
        switch claims["scp"] {
        case nil, .null?: break
        case .string(let list)?: add(list: list)
        case .array(let items)?:
            for item in items {
                guard case .string(let scope) = item, !scope.isEmpty else { return .unencodable }
                if !scopes.contains(scope) { scopes.append(scope) }
            }
        default: return .unencodable
        }
        if scopes.isEmpty { return .omitted }
        guard scopes.allSatisfy(isSafe) else { return .unencodable }
        return .value(scopes.joined(separator: ", "))
    }

    private static func scalarText(_ value: JSONValue) -> String? {
        switch value {
        case .string(let text): return text
        case .int(let number): return String(number)
        case .bool(let flag): return flag ? "true" : "false"
        default: return nil
        }
    }

    /// Printable ASCII, no comma, no leading or trailing space.
    static func isSafe(_ text: String) -> Bool {
        let bytes = text.utf8
        guard bytes.first != UInt8(ascii: " "), bytes.last != UInt8(ascii: " ") else { return false }
        return bytes.allSatisfy { $0 >= 0x20 && $0 <= 0x7E && $0 != UInt8(ascii: ",") }
    }
}
