/// A set of the HTTP methods a route accepts, as a bit mask.
///
/// Only methods a gateway should forward are representable; `CONNECT` and `TRACE` are not.
/// Method names are case-sensitive (RFC 9110 §9.1): `get` is not `GET`.
package struct HTTPMethodSet: OptionSet, Sendable, Hashable, CustomStringConvertible {
    package let rawValue: UInt8
    package init(rawValue: UInt8) { self.rawValue = rawValue }

    package static let get = HTTPMethodSet(rawValue: 1 << 0)
    package static let head = HTTPMethodSet(rawValue: 1 << 1)
    package static let post = HTTPMethodSet(rawValue: 1 << 2)
    package static let put = HTTPMethodSet(rawValue: 1 << 3)
    package static let patch = HTTPMethodSet(rawValue: 1 << 4)
    package static let delete = HTTPMethodSet(rawValue: 1 << 5)
    package static let options = HTTPMethodSet(rawValue: 1 << 6)

    /// The names a policy may use, in bit order.
    package static let names = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

    /// Number of representable methods; slot tables in the trie have this many entries per node.
    static let slotCount = 7

    /// The method with this exact name, or `nil` if it is not one a route can accept.
    package init?(name: String) {
        guard let slot = Self.slot(of: name) else { return nil }
        self.init(rawValue: 1 << UInt8(slot))
    }

    /// The bit index of a method name, or `nil`. Allocation-free; used per request.
    @inline(__always)
    static func slot(of name: String) -> Int? {
        switch name {
        case "GET": return 0
        case "HEAD": return 1
        case "POST": return 2
        case "PUT": return 3
        case "PATCH": return 4
        case "DELETE": return 5
        case "OPTIONS": return 6
        default: return nil
        }
    }

    /// The bit indices in this set, lowest first.
    var slots: [Int] {
        (0..<Self.slotCount).filter { rawValue & (1 << UInt8($0)) != 0 }
    }

    /// The method names in this set, in bit order.
    package var methodNames: [String] { slots.map { Self.names[$0] } }

    package var description: String { methodNames.joined(separator: ",") }
}
