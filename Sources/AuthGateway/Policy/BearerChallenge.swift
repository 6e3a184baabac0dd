/// What a `WWW-Authenticate: Bearer ...` challenge says (RFC 6750 §3), and its header text.
package enum BearerChallenge: Sendable, Hashable {
    /// 401 without a token: `Bearer realm="..."`, no error code.
    case tokenRequired
    /// 401 with a token that did not verify or is not accepted: `error="invalid_token"`.
    case invalidToken
    /// 400 for a malformed authorization (two tokens, a duplicate header): `error="invalid_request"`.
    case invalidRequest
    /// 403: `error="insufficient_scope"`, with the scopes the resource needs when the route names any.
    case insufficientScope(scopes: [String])

    /// The `WWW-Authenticate` header value. The realm is quoted and escaped (RFC 9110 §5.6.4); characters
    /// that a header cannot carry are dropped. Scope tokens that RFC 6749 §3.3 does not allow are left out.
    package func headerValue(realm: String) -> String {
        var value = "Bearer realm=" + Self.quoted(realm)
        switch self {
        case .tokenRequired:
            break
        case .invalidToken:
            value += ", error=\"invalid_token\""
        case .invalidRequest:
            value += ", error=\"invalid_request\""
        case .insufficientScope(let scopes):
            value += ", error=\"insufficient_scope\""
            var seen: [String] = []
            for scope in scopes where Self.isScopeToken(scope) && !seen.contains(scope) {
                seen.append(scope)
            }
            if !seen.isEmpty {
                value += ", scope=\"" + seen.joined(separator: " ") + "\""
            }
        }
        return value
    }

    /// A quoted-string: `"` and `\` escaped with `\`; control and non-ASCII characters dropped.
    static func quoted(_ text: String) -> String {
        var result = "\""
        for byte in text.utf8 where byte >= 0x20 && byte <= 0x7E {
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { result.append("\\") }
            result.unicodeScalars.append(Unicode.Scalar(byte))
        }
        return result + "\""
    }

    /// RFC 6749 §3.3 scope-token: one or more of %x21 / %x23-5B / %x5D-7E.
    package static func isScopeToken(_ scope: String) -> Bool {
        !scope.isEmpty && scope.utf8.allSatisfy { byte in
            byte == 0x21 || (byte >= 0x23 && byte <= 0x5B) || (byte >= 0x5D && byte <= 0x7E)
        }
    }
}
