import NIOHTTP1
import GatewayAdmission

/// The upstream response headers a client receives: all but hop-by-hop ones (RFC 9110 §7.6.1).
enum ResponseHeaderFilter {
    static let hopByHop: [String] = [
        "connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade",
        "proxy-authenticate", "http2-settings",
    ]

    /// Removes in place, so a response without hop-by-hop headers is passed on without a copy.
    static func clientHeaders(from upstream: HTTPHeaders) -> HTTPHeaders {
        var headers = upstream
        for name in upstream.connectionListedNames { headers.remove(name: name) }
        for name in hopByHop where headers.contains(name: name) { headers.remove(name: name) }
        return headers
    }
}
