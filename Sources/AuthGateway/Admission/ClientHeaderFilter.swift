import GatewayPolicy
import GatewayConfig
/// Decides which client request headers never reach an upstream: hop-by-hop headers, forwarding
/// headers the gateway sets itself, and every spelling of an identity header.
///
/// Names compare case-insensitively with `_` and `.` read as `-`, so `X_User_Id` and `x.user.id` are
/// `X-User-Id` (some servers fold them together). Built once per snapshot; allocation-free per header.
package struct ClientHeaderFilter: Sendable {
    /// Normalised exact names, indexed by length (a header is compared only with names as long as it).
    /// Arrays indexed directly rather than dictionaries: no hashing per header.
    private let exact: [[[UInt8]]]
    /// Normalised prefixes, indexed by first byte.
    private let prefixes: [[[UInt8]]]

    /// Hop-by-hop names, what the gateway sets itself, and the maintained denylist (``ClientHeaderDenylist``):
    /// headers that make an upstream see another identity, client address, method or URL than the one the
    /// policy judged.
    static let alwaysStripped = ClientHeaderDenylist.managed + ClientHeaderDenylist.names

    /// Whole namespaces the client never speaks for (``ClientHeaderDenylist/prefixes``).
    static let alwaysStrippedPrefixes = ClientHeaderDenylist.prefixes

    package init(identity: GatewayConfiguration.Identity, policyHeaders: Set<String>) {
        let names = Self.alwaysStripped + identity.stripHeaders + Array(policyHeaders)
        let byLength = Dictionary(grouping: Set(names.map(Self.normalize)), by: \.count)
        exact = (0...(byLength.keys.max() ?? 0)).map { byLength[$0] ?? [] }
        let byFirst = Dictionary(grouping: Set((Self.alwaysStrippedPrefixes + identity.stripPrefixes).map(Self.normalize))
            .filter { !$0.isEmpty }, by: { $0[0] })
        prefixes = (0...255).map { byFirst[UInt8($0)] ?? [] }
    }

    /// Whether the client's header `name` is dropped; `extra` holds names listed in `Connection`.
    package func strips(_ name: String, extra: [[UInt8]] = []) -> Bool {
        var name = name
        return name.withUTF8 { bytes in
            guard let first = bytes.first else { return false }
            if bytes.count < exact.count {
                for candidate in exact[bytes.count] where Self.equalNormalized(bytes, candidate) { return true }
            }
            for candidate in extra where Self.equalNormalized(bytes, candidate) { return true }
            for prefix in prefixes[Int(Self.fold(first))] where bytes.count >= prefix.count {
                if Self.equalNormalized(UnsafeBufferPointer(rebasing: bytes[0..<prefix.count]), prefix) { return true }
            }
            return false
        }
    }

    package static func normalize(_ name: String) -> [UInt8] { ClientHeaderDenylist.normalize(name) }

    @inline(__always)
    static func fold(_ byte: UInt8) -> UInt8 { ClientHeaderDenylist.fold(byte) }

    @inline(__always)
    private static func equalNormalized(_ bytes: UnsafeBufferPointer<UInt8>, _ normalized: [UInt8]) -> Bool {
        guard bytes.count == normalized.count else { return false }
        for index in 0..<bytes.count where fold(bytes[index]) != normalized[index] { return false }
        return true
    }
}
