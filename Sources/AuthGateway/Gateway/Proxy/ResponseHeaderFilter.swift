import NIOHTTP1
import GatewayAdmission

/// The upstream response headers a client receives: all but hop-by-hop ones (RFC 9110 §7.6.1).
enum ResponseHeaderFilter {
    static let hopByHop: [String] = [
        "connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade",
        "proxy-authenticate", "http2-settings",
    ]

    /// Removes in place, so a response without hop-by-hop headers is passed on without a copy. With `cors`
    /// (the route has a CORS rule), the upstream's own `Access-Control-*` headers are replaced by the gateway's
    /// and `Vary` gains `Origin`: the policy, not the upstream, decides which origins may read the answer.
    /// `added` (the gateway's `RateLimit` fields) come last.
    static func clientHeaders(
        from upstream: HTTPHeaders, cors: [(String, String)]? = nil, added: [(String, String)] = []
    ) -> HTTPHeaders {
        var headers = upstream
        for name in upstream.connectionListedNames { headers.remove(name: name) }
        for name in hopByHop where headers.contains(name: name) { headers.remove(name: name) }
        for (name, value) in added { headers.add(name: name, value: value) }
        guard let cors else { return headers }
        let upstreamCORS = Set(headers.map { $0.name.lowercased() }.filter { $0.hasPrefix("access-control-") })
        for name in upstreamCORS { headers.remove(name: name) }
        for (name, value) in cors {
            guard name == "vary" else {
                headers.add(name: name, value: value)
                continue
            }
            let varies = headers.listElements("vary").map(String.init)
            if !varies.contains(where: { $0 == "*" || $0.lowercased() == "origin" }) {
                headers.remove(name: "vary")
                headers.add(name: "vary", value: (varies + [value]).joined(separator: ", "))
            }
        }
        return headers
    }
}
