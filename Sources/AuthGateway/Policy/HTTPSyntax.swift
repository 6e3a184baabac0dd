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
        !text.isEmpty && text.utf8.allSatisfy { isAlphanumeric($0) || tokenSymbols.contains($0) }
    }

    /// A header name the gateway itself sends or lets through by name: letters, digits and `-` only. `_` and
    /// `.` are refused because some servers read them as `-`, so one header could pass as another.
    package static func isPlainHeaderName<Text: StringProtocol>(_ text: Text) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "-") }
    }
}
