/// Decides which client request headers never reach an upstream: hop-by-hop headers, forwarding
/// headers the gateway sets itself, and every spelling of an identity header.
///
/// Names compare case-insensitively with `_` and `.` read as `-`, so `X_User_Id` and `x.user.id` are
/// `X-User-Id` (some servers fold them together). Built once per snapshot; allocation-free per header.
struct ClientHeaderFilter: Sendable {
    /// Normalised exact names.
    private let exact: [[UInt8]]
    /// Normalised prefixes.
    private let prefixes: [[UInt8]]

    /// Hop-by-hop (RFC 9110 §7.6.1) and HTTP/2-only names, what the gateway sets from the connection, and
    /// headers that make an upstream see another client address, method or URL than the one the policy judged.
    static let alwaysStripped = [
        "connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade",
        "proxy-authorization", "proxy-authenticate", "http2-settings", "expect",
        "forwarded", "x-real-ip", "x-client-ip", "x-request-id", "traceparent", "tracestate",
        // Client addresses CDNs and load balancers vouch for, which upstream allow-lists trust.
        "true-client-ip", "cf-connecting-ip", "x-cluster-client-ip", "x-originating-ip", "client-ip",
        // Method overrides: the upstream would run another method than the one the route allowed.
        "x-http-method-override", "x-http-method", "x-method-override",
        // URL overrides (Symfony/Zend, IIS URL Rewrite; CVE-2018-14773): the upstream would route on them.
        "x-original-url", "x-rewrite-url",
    ]

    /// Whole namespaces the client never speaks for: every `X-Forwarded-*` (`-For`, `-Host`, `-Proto`, `-Port`,
    /// `-Prefix`, and the `-Uri`, `-Method`, `-Scheme`, `-Server`, `-Ssl` that other proxies and frameworks trust).
    static let alwaysStrippedPrefixes = ["x-forwarded-"]

    init(identity: GatewayConfiguration.Identity, policyHeaders: Set<String>) {
        let names = Self.alwaysStripped + identity.stripHeaders + Array(policyHeaders)
        exact = names.map(Self.normalize)
        prefixes = (Self.alwaysStrippedPrefixes + identity.stripPrefixes).map(Self.normalize)
    }

    /// Whether the client's header `name` is dropped; `extra` holds names listed in `Connection`.
    func strips(_ name: String, extra: [[UInt8]] = []) -> Bool {
        var name = name
        return name.withUTF8 { bytes in
            for candidate in exact where Self.equalNormalized(bytes, candidate) { return true }
            for candidate in extra where Self.equalNormalized(bytes, candidate) { return true }
            for prefix in prefixes where bytes.count >= prefix.count {
                if Self.equalNormalized(UnsafeBufferPointer(rebasing: bytes[0..<prefix.count]), prefix) { return true }
            }
            return false
        }
    }

    /// Lower-case, `_` and `.` as `-`.
    static func normalize(_ name: String) -> [UInt8] {
        name.utf8.map(fold)
    }

    @inline(__always)
    static func fold(_ byte: UInt8) -> UInt8 {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return byte | 0x20
        case UInt8(ascii: "_"), UInt8(ascii: "."): return UInt8(ascii: "-")
        default: return byte
        }
    }

    @inline(__always)
    private static func equalNormalized(_ bytes: UnsafeBufferPointer<UInt8>, _ normalized: [UInt8]) -> Bool {
        guard bytes.count == normalized.count else { return false }
        for index in 0..<bytes.count where fold(bytes[index]) != normalized[index] { return false }
        return true
    }
}
