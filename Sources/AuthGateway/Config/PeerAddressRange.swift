#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 address range in CIDR notation (`127.0.0.1/32`, `10.0.0.0/8`, `::1/128`); a bare address is
/// its own range. Decision-mode listeners take the headers that describe the original request only from peers
/// inside one of their ranges.
package struct PeerAddressRange: Sendable, Equatable, CustomStringConvertible {
    /// The network's bytes (4 or 16), with the host bits cleared.
    private let network: [UInt8]
    package let prefixLength: Int

    /// `nil` when `text` is not an address, optionally followed by `/` and a prefix length in range.
    package init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let bytes = Self.addressBytes(String(parts[0])) else { return nil }
        let bits = bytes.count * 8
        var length = bits
        if parts.count == 2 {
            guard !parts[1].isEmpty, parts[1].count <= 3,
                parts[1].allSatisfy(\.isASCII), parts[1].allSatisfy(\.isNumber),
                let parsed = Int(parts[1]), parsed <= bits
            else { return nil }
            length = parsed
        }
        prefixLength = length
        network = Self.masked(bytes, length)
    }

    /// Whether the peer `address` (as NIO prints it: no brackets, no zone) lies in the range. An IPv4 peer on
    /// a dual-stack socket (`::ffff:a.b.c.d`) is read as IPv4.
    package func contains(_ address: String) -> Bool {
        guard var bytes = Self.addressBytes(address) else { return false }
        let mappedPrefix: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF]
        if bytes.count == 16, network.count == 4, bytes[0..<12].elementsEqual(mappedPrefix) {
            bytes = Array(bytes[12...])
        }
        guard bytes.count == network.count else { return false }
        return Self.masked(bytes, prefixLength) == network
    }

    package var description: String {
        let family = network.count == 4 ? AF_INET : AF_INET6
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        network.withUnsafeBytes { _ = inet_ntop(family, $0.baseAddress, &text, socklen_t(text.count)) }
        let address = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return address + "/\(prefixLength)"
    }

    private static func addressBytes(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }

    private static func masked(_ bytes: [UInt8], _ length: Int) -> [UInt8] {
        bytes.enumerated().map { index, byte in
            let bits = min(max(length - index * 8, 0), 8)
            return bits == 8 ? byte : byte & UInt8(truncatingIfNeeded: 0xFF00 >> bits)
        }
    }
}
