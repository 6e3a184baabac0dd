#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `http(s)://host[:port]/path` (IPv6 in brackets, no userinfo): JWKS URLs and upstream targets.
package struct ParsedURL: Sendable, Hashable {
    package let isHTTPS: Bool
    package let host: String
    package let port: Int
    /// Whether the URL names its port rather than using the scheme's default.
    let hasExplicitPort: Bool
    package let path: String

    package init?(_ text: String) {
        let rest: Substring
        if text.hasPrefix("https://") {
            isHTTPS = true
            rest = text.dropFirst(8)
        } else if text.hasPrefix("http://") {
            isHTTPS = false
            rest = text.dropFirst(7)
        } else {
            return nil
        }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        path = slash == rest.endIndex ? "/" : String(rest[slash...])
        guard !authority.isEmpty, !authority.contains("@") else { return nil }
        let defaultPort = isHTTPS ? 443 : 80
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if after.isEmpty {
                port = defaultPort
            } else if after.hasPrefix(":"), let value = Int(after.dropFirst()) {
                port = value
            } else {
                return nil
            }
            hasExplicitPort = !after.isEmpty
        } else if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            guard let value = Int(authority[authority.index(after: colon)...]) else { return nil }
            port = value
            hasExplicitPort = true
        } else {
            host = String(authority)
            port = defaultPort
            hasExplicitPort = false
        }
        guard (1...65535).contains(port), !host.isEmpty else { return nil }
    }

    package var isIPAddress: Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }

    package var hostHeader: String {
        let name = host.contains(":") ? "[\(host)]" : host
        return port == (isHTTPS ? 443 : 80) ? name : "\(name):\(port)"
    }
}
