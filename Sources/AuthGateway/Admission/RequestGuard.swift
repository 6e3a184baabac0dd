import NIOHTTP1
import GatewayPolicy
import GatewayConfig

/// The first stage for every request head: framing sanity, limits, `Host`, and the canonical target.
///
/// Pure: a head in, an accepted request or a rejection out. A rejection closes the connection, since a
/// request the gateway cannot frame or understand leaves the byte stream in doubt.
package enum RequestGuard {
    /// How the request body is delimited.
    package enum BodyFraming: Equatable {
        case none
        case contentLength(Int)
        /// Chunked on HTTP/1.1, or DATA frames of unknown total on HTTP/2.
        case streamed
    }

    package struct Accepted {
        package let target: CanonicalTarget
        /// The `Host` (or `:authority`) value as sent, validated.
        package let host: String
        package let framing: BodyFraming
    }

    package struct Rejection: Error, Equatable {
        package let status: HTTPResponseStatus
        /// A stable code for the log and the problem document.
        package let code: GatewayCode
        let detail: String
    }

    package static func check(
        _ head: HTTPRequestHead, isHTTP2: Bool, limits: GatewayConfiguration.Limits
    ) -> Result<Accepted, Rejection> {
        if let rejection = checkVersion(head.version, isHTTP2: isHTTP2) { return .failure(rejection) }
        guard HTTPSyntax.isMethod(head.method.rawValue) else {
            return .failure(Rejection(status: .badRequest, code: .badRequest, detail: "not a method the gateway reads"))
        }
        guard head.uri.utf8.count <= limits.maxURIBytes else {
            return .failure(Rejection(status: .uriTooLong, code: .uriTooLong, detail: "the request target is too long"))
        }
        guard head.headers.count <= limits.maxHeaderCount else {
            return .failure(Rejection(
                status: .requestHeaderFieldsTooLarge, code: .tooManyHeaders, detail: "too many header fields"))
        }
        let host: String
        switch checkHost(head.headers) {
        case .success(let value): host = value
        case .failure(let rejection): return .failure(rejection)
        }
        let framing: BodyFraming
        switch checkFraming(head.headers, isHTTP2: isHTTP2, version: head.version) {
        case .success(let value): framing = value
        case .failure(let rejection): return .failure(rejection)
        }
        switch CanonicalPath.canonicalize(head.uri) {
        case .success(let target):
            return .success(Accepted(target: target, host: host, framing: framing))
        case .failure(let rejection):
            return .failure(Rejection(status: .badRequest, code: .badPath, detail: "request target refused: \(rejection.code)"))
        }
    }

    private static func checkVersion(_ version: HTTPVersion, isHTTP2: Bool) -> Rejection? {
        if isHTTP2 { return nil }
        guard version.major == 1, version.minor <= 1 else {
            return Rejection(status: .httpVersionNotSupported, code: .httpVersion, detail: "only HTTP/1.0, HTTP/1.1 and HTTP/2 are served")
        }
        return nil
    }

    /// Exactly one `Host` with a valid authority and no userinfo or path (RFC 9112 §3.2).
    static func checkHost(_ headers: HTTPHeaders) -> Result<String, Rejection> {
        let values = headers["host"]
        guard values.count == 1, let host = values.first else {
            let detail = values.isEmpty ? "missing Host header" : "more than one Host header"
            return .failure(Rejection(status: .badRequest, code: .badHost, detail: detail))
        }
        guard isValidAuthority(host) else {
            return .failure(Rejection(status: .badRequest, code: .badHost, detail: "malformed Host header"))
        }
        return .success(host)
    }

    /// `reg-name / IPv4 / [IPv6]` with an optional numeric port; no userinfo, path, spaces or controls.
    static func isValidAuthority(_ authority: String) -> Bool {
        var authority = authority
        return authority.withUTF8(isValidAuthority)
    }

    private static func isValidAuthority(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard !bytes.isEmpty, bytes.count <= 255 else { return false }
        var index = 0
        if bytes[0] == UInt8(ascii: "[") {
            guard let close = bytes.firstIndex(of: UInt8(ascii: "]")), close > 1 else { return false }
            for byte in bytes[1..<close] where !(isHex(byte) || byte == UInt8(ascii: ":") || byte == UInt8(ascii: ".")) {
                return false
            }
            index = close + 1
        } else {
            while index < bytes.count, bytes[index] != UInt8(ascii: ":") {
                let byte = bytes[index]
                guard isAlphanumeric(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") else {
                    return false
                }
                index += 1
            }
            guard index > 0 else { return false }
        }
        guard index < bytes.count else { return true }
        guard bytes[index] == UInt8(ascii: ":") else { return false }
        let port = bytes[(index + 1)...]
        guard !port.isEmpty, port.count <= 5, port.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return false }
        return true
    }

    /// One well-formed `Content-Length`, or `Transfer-Encoding: chunked` alone on HTTP/1.1; never both.
    ///
    /// The declared length is not compared with `max_body_bytes` here: see ``checkBodySize(_:limits:)``, which
    /// admission applies only once the request is authorized, so that an unauthenticated client learns nothing
    /// but 401 (docs/SECURITY.md, "Resource limits") and its body is never read either way.
    static func checkFraming(
        _ headers: HTTPHeaders, isHTTP2: Bool, version: HTTPVersion = .http1_1
    ) -> Result<BodyFraming, Rejection> {
        let lengths = headers["content-length"]
        let encodings = headers["transfer-encoding"]
        func bad(_ detail: String) -> Result<BodyFraming, Rejection> {
            .failure(Rejection(status: .badRequest, code: .badFraming, detail: detail))
        }
        if !encodings.isEmpty {
            // RFC 9112 §6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing (an HTTP/1.0
            // recipient downstream would read the chunks as the body's bytes, or as the next request).
            guard isHTTP2 || version.minor >= 1 || version.major > 1 else {
                return bad("Transfer-Encoding in an HTTP/1.0 request")
            }
            // NIO's HTTP/2 header validation refuses a client's `transfer-encoding` (RFC 9113 §8.2.2), so on
            // HTTP/2 the only one is `chunked`, added by NIO's HTTP/2-to-HTTP/1 codec for a body of unknown
            // length (DATA frames without `content-length`).
            guard lengths.isEmpty else { return bad("both Content-Length and Transfer-Encoding") }
            return transferCodings(encodings)
        }
        guard !lengths.isEmpty else { return .success(isHTTP2 ? .streamed : .none) }
        guard lengths.count == 1, let text = lengths.first, !text.isEmpty, text.utf8.count <= 15,
            text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let length = Int(text)
        else { return bad("malformed Content-Length") }
        return .success(length == 0 ? .none : .contentLength(length))
    }

    /// `Transfer-Encoding` lines read as one list (RFC 9110 §5.3): exactly `chunked` streams the body. Chunked
    /// applied twice, or not last, leaves the body's end unknown (400, RFC 9112 §6.3, §7); any other coding,
    /// which the gateway does not decode, is 501 (RFC 9112 §6.1).
    private static func transferCodings(_ lines: [String]) -> Result<BodyFraming, Rejection> {
        let codings = lines.flatMap { $0.split(separator: ",", omittingEmptySubsequences: false) }
            .map { $0.trimmingASCIISpaces().lowercased() }
        let chunked = codings.filter { $0 == "chunked" }.count
        if codings.contains("") || chunked > 1 || (chunked == 1 && codings.last != "chunked") {
            return .failure(Rejection(status: .badRequest, code: .badFraming, detail: "Transfer-Encoding does not end with one chunked"))
        }
        guard codings == ["chunked"] else {
            return .failure(Rejection(status: .notImplemented, code: .badFraming, detail: "only Transfer-Encoding: chunked is supported"))
        }
        return .success(.streamed)
    }

    /// How an HTTP/1.x request's body is delimited, judged as ``check(_:isHTTP2:limits:)`` judges it: the HTTP/1.1
    /// parser reads a body exactly this way, and reads nothing after a head this refuses.
    package static func framing(of headers: HTTPHeaders, version: HTTPVersion) -> Result<BodyFraming, Rejection> {
        checkFraming(headers, isHTTP2: false, version: version)
    }

    /// A declared body longer than `max_body_bytes` (413, close: the body is never read). Streamed bodies are
    /// counted as they arrive.
    package static func checkBodySize(_ framing: BodyFraming, limits: GatewayConfiguration.Limits) -> Rejection? {
        guard case .contentLength(let length) = framing, length > limits.maxBodyBytes else { return nil }
        return Rejection(status: .payloadTooLarge, code: .bodyTooLarge, detail: "the request body exceeds the limit")
    }

    private static func isHex(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x41...0x46).contains(byte) || (0x61...0x66).contains(byte)
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
    }
}
