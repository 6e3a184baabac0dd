import NIOCore

/// The CONNECT exchange that opens a tunnel through an HTTP proxy (RFC 9110 section 9.3.6), as values: the
/// request to send, and a parser of the proxy's answer. ``ProxyConnectHandler`` only moves the bytes.
enum ProxyTunnel {
    /// The longest proxy answer head read before the tunnel is given up.
    static let maxResponseHeadBytes = 16 * 1024

    /// `CONNECT host:port`, with `Proxy-Authorization: Basic` when the proxy URL carries credentials.
    static func request(host: String, port: Int, credentials: String?) -> String {
        let authority = (host.contains(":") ? "[\(host)]" : host) + ":\(port)"
        var lines = ["CONNECT \(authority) HTTP/1.1", "Host: \(authority)", "User-Agent: auth-gateway"]
        if let credentials { lines.append("Proxy-Authorization: Basic \(base64(Array(credentials.utf8)))") }
        return lines.joined(separator: "\r\n") + "\r\n\r\n"
    }

    /// What the proxy's answer says so far.
    enum Outcome: Equatable {
        /// The head is not complete yet.
        case needMore
        /// A 2xx: the tunnel is open; `leftover` are bytes the proxy already relayed from the provider.
        case established(leftover: [UInt8])
        /// Any other status (407: credentials missing or wrong; 403, 502, ...).
        case refused(status: Int)
        /// Not an HTTP answer, or a head longer than ``maxResponseHeadBytes``.
        case malformed(String)
    }

    /// Collects the proxy's answer head.
    struct ResponseParser {
        private var bytes: [UInt8] = []

        mutating func parse(_ more: some Collection<UInt8>) -> Outcome {
            bytes += more
            guard let end = Self.headEnd(bytes) else {
                return bytes.count > maxResponseHeadBytes ? .malformed("the proxy's answer head is too long") : .needMore
            }
            let lineEnd = bytes.firstIndex(of: UInt8(ascii: "\r")) ?? end
            let statusLine = String(decoding: bytes[..<lineEnd], as: UTF8.self)
            let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count >= 2, parts[0] == "HTTP/1.1" || parts[0] == "HTTP/1.0", parts[1].count == 3,
                let status = Int(parts[1]), (100...599).contains(status)
            else {
                return .malformed("the proxy did not answer in HTTP/1.x")
            }
            guard (200...299).contains(status) else { return .refused(status: status) }
            return .established(leftover: Array(bytes[(end + 4)...]))
        }

        /// The index of the `\r\n\r\n` that ends the head.
        private static func headEnd(_ bytes: [UInt8]) -> Int? {
            guard bytes.count >= 4 else { return nil }
            for index in 0...(bytes.count - 4)
            where bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
                return index
            }
            return nil
        }
    }

    /// Standard base64 with padding (RFC 4648 section 4), as Basic authentication writes it.
    static func base64(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var output: [UInt8] = []
        var index = 0
        while index < bytes.count {
            let chunk = bytes[index..<min(index + 3, bytes.count)]
            let value = chunk.enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (16 - 8 * UInt32($1.offset)) }
            for position in 0..<4 {
                output.append(position <= chunk.count ? alphabet[Int(value >> (18 - 6 * UInt32(position)) & 63)] : UInt8(ascii: "="))
            }
            index += 3
        }
        return String(decoding: output, as: UTF8.self)
    }
}
