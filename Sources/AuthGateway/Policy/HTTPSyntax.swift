/// The few pieces of RFC 9110 syntax the gateway checks names and values against, in one place.
package enum HTTPSyntax {
    /// The symbols of `tchar` (RFC 9110 §5.6.2) besides letters and digits.
    package static let tokenSymbols = Array("!#$%&'*+-.^_`|~".utf8)

    @inline(__always)
    package static func isAlphanumeric(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return false
        }
    }

    /// One or more `tchar`: a method or a field name (RFC 9110 §5.6.2).
    package static func isToken<Text: StringProtocol>(_ text: Text) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy(isTokenByte)
    }

    /// One `tchar`.
    @inline(__always)
    package static func isTokenByte(_ byte: UInt8) -> Bool {
        isAlphanumeric(byte) || tokenTable[Int(byte)]
    }

    private static let tokenTable: [Bool] = (0..<256).map { tokenSymbols.contains(UInt8($0)) }

    /// A method as the gateway reads one: 1 to 32 upper-case letters, `-` or `_` (every registered method, and
    /// nginx's rule). Methods are case-sensitive (RFC 9110 §9.1): an upstream that reads `get` as `GET` must not
    /// be handed a method the policy never matched, and a token of thousands of bytes is no method.
    package static func isMethod<Text: StringProtocol>(_ text: Text) -> Bool {
        (1...32).contains(text.utf8.count) && text.utf8.allSatisfy {
            (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_")
        }
    }

    /// A header name the gateway itself sends or lets through by name: letters, digits and `-` only. `_` and
    /// `.` are refused because some servers read them as `-`, so one header could pass as another.
    package static func isPlainHeaderName<Text: StringProtocol>(_ text: Text) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "-") }
    }
}
