import NIOCore

/// The key under which a client's connections count against a target's per-client share
/// (``ClientConnection/poolKey``): an IPv4 address as it is (also when it arrives IPv4-mapped on a
/// dual-stack listener), an IPv6 address by its /64 network.
enum ClientShareKey {
    static func of(_ address: SocketAddress?) -> String {
        guard let address else { return "unknown" }
        guard case .v6(let v6) = address else { return address.ipAddress ?? "unknown" }
        let bytes = withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
        return of(ipv6: bytes) ?? address.ipAddress ?? "unknown"
    }

    /// The key of a 16-byte IPv6 address: `a.b.c.d` when IPv4-mapped (`::ffff:a.b.c.d`), else
    /// `xxxx:xxxx:xxxx:xxxx::/64`.
    static func of(ipv6 bytes: [UInt8]) -> String? {
        guard bytes.count == 16 else { return nil }
        if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF {
            return bytes[12...].map { String($0) }.joined(separator: ".")
        }
        let groups = stride(from: 0, to: 8, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
        return groups.joined(separator: ":") + "::/64"
    }
}
