import NIOHTTP1

/// The upstream response headers a client receives: all but hop-by-hop ones (RFC 9110 §7.6.1).
enum ResponseHeaderFilter {
    static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade",
        "proxy-authenticate", "http2-settings",
    ]

    static func clientHeaders(from upstream: HTTPHeaders) -> HTTPHeaders {
        let named = Set(upstream.connectionListedNames.map { $0.lowercased() })
        var headers = HTTPHeaders()
        headers.reserveCapacity(upstream.count)
        for (name, value) in upstream {
            let lower = name.lowercased()
            if hopByHop.contains(lower) || named.contains(lower) { continue }
            headers.add(name: name, value: value)
        }
        return headers
    }
}

/// The gateway's answer to a request the HTTP/1.1 parser refused: always closes the connection.
enum ProtocolErrorResponse {
    static func response(for error: HTTPParserError) -> GatewayResponse {
        switch error {
        case .headerOverflow:
            return GatewayResponse(status: .requestHeaderFieldsTooLarge, code: "headers_too_large", close: true)
        case .invalidVersion:
            return GatewayResponse(status: .httpVersionNotSupported, code: "http_version", close: true)
        default:
            return GatewayResponse(status: .badRequest, code: "bad_request", close: true)
        }
    }
}
