import NIOHTTP1
import GatewayPolicy
import GatewayConfig

/// Reads the request a decision request is about (docs/CONFIGURATION.md, "Decision mode"): the fronting
/// proxy's method, URI and host headers (nginx, Traefik, Caddy), or the decision request itself with
/// Envoy's path prefix removed. Pure: the result is admitted like any request the gateway proxies.
///
/// Those headers are believed only from the listener's `trusted_peers`. The original head keeps the client's
/// headers (its `Authorization`, its spoofed identity headers: the answer never echoes them), minus the
/// headers that described it and the decision request's own framing: the decision service never sees a body.
package enum OriginalRequest {
    package enum Refusal: Error, Equatable {
        /// The peer is not in `trusted_peers`: 403 `untrusted_peer`.
        case untrustedPeer
        /// A describing header is missing or sent more than once: 400 `bad_decision_request`.
        case header(String, count: Int)
        /// The method is not a token, or the URI is not origin-form (`/path?query`): 400.
        case badMethod
        case badURI
        /// Envoy: the path does not start with `path_prefix` followed by `/`: 400.
        case outsidePrefix

        package var status: HTTPResponseStatus { self == .untrustedPeer ? .forbidden : .badRequest }
        package var code: GatewayCode { self == .untrustedPeer ? .untrustedPeer : .badDecisionRequest }
    }

    package static func read(
        _ head: HTTPRequestHead, peer: String, settings: DecisionListener
    ) -> Result<HTTPRequestHead, Refusal> {
        guard settings.trusts(peer) else { return .failure(.untrustedPeer) }
        guard let names = settings.headers else { return envoy(head, prefix: settings.pathPrefix) }
        let method: String, uri: String, host: String
        switch (single(head, names.method), single(head, names.uri), single(head, names.host)) {
        case (.success(let m), .success(let u), .success(let h)): (method, uri, host) = (m, u, h)
        case (.failure(let refusal), _, _), (_, .failure(let refusal), _), (_, _, .failure(let refusal)):
            return .failure(refusal)
        }
        guard HTTPSyntax.isMethod(method) else { return .failure(.badMethod) }
        guard uri.hasPrefix("/") else { return .failure(.badURI) }
        let described = [names.method, names.uri, names.host] + (names.proto.map { [$0] } ?? [])
        var headers = passedOn(head.headers, dropping: described)
        headers.replaceOrAdd(name: "host", value: host)
        return .success(HTTPRequestHead(
            version: .http1_1, method: HTTPMethod(rawValue: method), uri: uri, headers: headers))
    }

    /// Envoy's check request is the original head with `prefix` before the path.
    private static func envoy(_ head: HTTPRequestHead, prefix: String) -> Result<HTTPRequestHead, Refusal> {
        guard head.uri.hasPrefix(prefix) else { return .failure(.outsidePrefix) }
        let uri = String(head.uri.dropFirst(prefix.count))
        guard uri.hasPrefix("/") else { return .failure(.outsidePrefix) }
        let headers = passedOn(head.headers, dropping: [])
        return .success(HTTPRequestHead(version: .http1_1, method: head.method, uri: uri, headers: headers))
    }

    /// The one value of header `name`; a missing or repeated header is refused (a proxy that appends instead of
    /// setting would otherwise let the client's copy decide).
    private static func single(_ head: HTTPRequestHead, _ name: String) -> Result<String, Refusal> {
        let values = head.headers[name]
        guard values.count == 1, let value = values.first, !value.isEmpty else {
            return .failure(.header(name, count: values.count))
        }
        return .success(value)
    }

    /// The client's headers as the original request carried them: without the describing headers and without
    /// the decision request's framing (the body, if any, went to the proxy and is never seen here).
    private static func passedOn(_ headers: HTTPHeaders, dropping described: [String]) -> HTTPHeaders {
        let dropped = (described + ["content-length", "transfer-encoding"]).map { $0.lowercased() }
        var result = HTTPHeaders()
        result.reserveCapacity(headers.count)
        for (name, value) in headers where !dropped.contains(name.lowercased()) {
            result.add(name: name, value: value)
        }
        return result
    }
}
