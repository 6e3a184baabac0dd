import NIOHTTP1

/// Where the bearer token comes from: the `Authorization` header, and nowhere else (RFC 6750 §2.1).
enum BearerToken {
    enum Extraction: Equatable {
        /// No `Authorization` header, or another scheme: the request carries no token.
        case absent
        case token(Substring)
        /// Two `Authorization` headers, a token in the query as well, or a malformed credential: 400.
        case invalidRequest(String)
    }

    /// Extracts the token from `headers`; `query` is checked so that a second token never hides there.
    static func extract(from headers: HTTPHeaders, query: String?) -> Extraction {
        var found: Substring?
        var count = 0
        for (name, value) in headers where name.utf8.count == 13 && name.lowercased() == "authorization" {
            count += 1
            found = Substring(value)
        }
        if let query, queryHasAccessToken(query) {
            return .invalidRequest("a token in the query string is not accepted")
        }
        guard count <= 1 else { return .invalidRequest("more than one Authorization header") }
        guard let value = found else { return .absent }
        return parse(value)
    }

    /// `Bearer <b64token>`: scheme case-insensitive, one space or more, token68 syntax (RFC 6750 §2.1).
    static func parse(_ value: Substring) -> Extraction {
        let trimmed = value.drop(while: { $0 == " " })
        guard let space = trimmed.firstIndex(of: " ") else {
            return trimmed.lowercased() == "bearer" ? .invalidRequest("empty bearer credential") : .absent
        }
        guard trimmed[..<space].lowercased() == "bearer" else { return .absent }
        var token = trimmed[space...].drop(while: { $0 == " " })
        while token.last == " " { token = token.dropLast() }
        guard !token.isEmpty else { return .invalidRequest("empty bearer credential") }
        guard isToken68(token) else { return .invalidRequest("the bearer credential is not a single token") }
        return .token(token)
    }

    /// token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
    private static func isToken68(_ token: Substring) -> Bool {
        var seenPadding = false
        for byte in token.utf8 {
            switch byte {
            case UInt8(ascii: "="):
                seenPadding = true
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"), UInt8(ascii: "+"), UInt8(ascii: "/"):
                if seenPadding { return false }
            default:
                return false
            }
        }
        return true
    }

    private static func queryHasAccessToken(_ query: String) -> Bool {
        query.split(separator: "&").contains { $0.hasPrefix("access_token=") || $0 == "access_token" }
    }
}
