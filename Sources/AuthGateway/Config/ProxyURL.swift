/// An HTTP proxy for key and discovery fetches: `http://[user:password@]host:port[/]`.
///
/// The gateway speaks plain HTTP to the proxy and asks it for a tunnel (`CONNECT host:port`); TLS to the
/// identity provider runs inside the tunnel, verified as without a proxy, so the proxy sees neither the
/// documents nor can it forge them. Credentials in the URL become `Proxy-Authorization: Basic`; they are
/// never printed: ``description`` leaves them out.
package struct ProxyURL: Sendable, Hashable, CustomStringConvertible {
    package let host: String
    package let port: Int
    /// `user:password`, percent-decoded, when the URL carries userinfo.
    package let credentials: String?

    package init?(_ text: String) {
        guard text.hasPrefix("http://") else { return nil }
        var rest = text.dropFirst("http://".count)
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard !rest.contains("/"), !rest.contains("?"), !rest.contains("#"),
            !rest.contains(where: { $0.isWhitespace || $0.isNewline })
        else { return nil }
        var credentials: String?
        if let at = rest.lastIndex(of: "@") {
            guard let decoded = Self.percentDecoded(rest[..<at]), !decoded.isEmpty else { return nil }
            credentials = decoded
            rest = rest[rest.index(after: at)...]
        }
        // The host part, parsed as any URL of the gateway's.
        guard let parsed = ParsedURL("http://" + rest + "/"), parsed.hasExplicitPort else { return nil }
        self.host = parsed.host
        self.port = parsed.port
        self.credentials = credentials
    }

    /// `http://host:port`, with `***@` where the credentials were: safe for logs and errors.
    package var description: String {
        let name = host.contains(":") ? "[\(host)]" : host
        return "http://\(credentials == nil ? "" : "***@")\(name):\(port)"
    }

    /// Userinfo with `%XX` escapes decoded (RFC 3986 section 3.2.1); `nil` for a broken escape.
    static func percentDecoded(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var utf8 = text.utf8.makeIterator()
        while let byte = utf8.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = utf8.next().flatMap(Self.hexValue), let low = utf8.next().flatMap(Self.hexValue) else {
                return nil
            }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

extension ProxyURL {
    /// `text` for an error message: its ``description`` when it parses, else without anything before an `@`.
    package static func redacted(_ text: String) -> String {
        if let parsed = ProxyURL(text) { return parsed.description }
        guard let at = text.lastIndex(of: "@") else { return text }
        return "***@" + text[text.index(after: at)...]
    }
}
