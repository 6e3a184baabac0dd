import NIOHTTP1
import GatewayPolicy

/// Where the bearer token comes from: the `Authorization` header, and nowhere else (RFC 6750 §2.1).
package enum BearerToken {
    package enum Extraction: Equatable {
        /// No `Authorization` header, or another scheme: the request carries no token.
        case absent
        case token(Substring)
        /// A malformed request (RFC 6750 §3.1 `invalid_request`, 400): two `Authorization` headers, two
        /// credentials in one, or a token in the query as well.
        case invalidRequest(String)
        /// A credential that is there but is not a well-formed token (empty, characters outside token68, a
        /// space inside): RFC 6750 §3.1 `invalid_token`, 401.
        case malformed(String)
    }

    /// Extracts the token from `headers`; `query` is checked so that a second token never hides there.
    package static func extract(from headers: HTTPHeaders, query: String?) -> Extraction {
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
    /// Works on the value's UTF-8 (spaces are ASCII, so every index it cuts at is a character boundary).
    static func parse(_ value: Substring) -> Extraction {
        let bytes = value.utf8
        let start = skipSpaces(bytes, from: bytes.startIndex)
        // `Bearer<TAB>token`, `Bearer:token`: the Bearer scheme, then neither SP nor a byte a scheme name may hold
        // (RFC 9110 §11.4): a credential that is there but malformed, not another scheme and not no credential.
        if bytes.distance(from: start, to: bytes.endIndex) > 6 {
            let end = bytes.index(start, offsetBy: 6)
            if isBearer(bytes[start..<end]), bytes[end] != space, !HTTPSyntax.isTokenByte(bytes[end]) {
                return .malformed("the bearer scheme is not followed by a space")
            }
        }
        guard let schemeEnd = bytes[start...].firstIndex(of: space) else {
            return isBearer(bytes[start...]) ? .malformed("empty bearer credential") : .absent
        }
        guard isBearer(bytes[start..<schemeEnd]) else { return .absent }
        let tokenStart = skipSpaces(bytes, from: schemeEnd)
        var tokenEnd = bytes.endIndex
        while tokenEnd > tokenStart, bytes[bytes.index(before: tokenEnd)] == space { tokenEnd = bytes.index(before: tokenEnd) }
        guard tokenStart < tokenEnd else { return .malformed("empty bearer credential") }
        let token = value[tokenStart..<tokenEnd]
        guard isToken68(token.utf8) else {
            // `Bearer a, Bearer b`: a list of two credentials is a malformed request, not a malformed token.
            var first = tokenStart
            while first < tokenEnd, bytes[first] != space, bytes[first] != comma { first = bytes.index(after: first) }
            let rest = skipSpaces(bytes, from: first)
            if rest < tokenEnd, bytes[rest] == comma { return .invalidRequest("more than one credential") }
            return .malformed("the bearer credential is not a single token")
        }
        return .token(token)
    }

    private static let space = UInt8(ascii: " ")
    private static let comma = UInt8(ascii: ",")

    private static func skipSpaces(_ bytes: Substring.UTF8View, from index: Substring.UTF8View.Index) -> Substring.UTF8View.Index {
        var index = index
        while index < bytes.endIndex, bytes[index] == space { index = bytes.index(after: index) }
        return index
    }

    /// `bearer` in any case.
    private static func isBearer(_ scheme: Substring.UTF8View.SubSequence) -> Bool {
        scheme.count == 6 && zip(scheme, "bearer".utf8).allSatisfy { $0 | 0x20 == $1 }
    }

    /// token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
    private static func isToken68(_ token: Substring.UTF8View) -> Bool {
        let check = { (bytes: UnsafeBufferPointer<UInt8>) -> Bool in
            var index = 0
            while index < bytes.count, isToken68Character(bytes[index]) { index += 1 }
            while index < bytes.count, bytes[index] == UInt8(ascii: "=") { index += 1 }
            return index == bytes.count
        }
        return token.withContiguousStorageIfAvailable(check) ?? Array(token).withUnsafeBufferPointer(check)
    }

    @inline(__always)
    private static func isToken68Character(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "+"), UInt8(ascii: "/"):
            return true
        default:
            return false
        }
    }

    private static func queryHasAccessToken(_ query: String) -> Bool {
        query.split(separator: "&").contains { $0.hasPrefix("access_token=") || $0 == "access_token" }
    }
}
