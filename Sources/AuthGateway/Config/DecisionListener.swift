/// What a listener does with a request: proxy it (the default), or only answer whether it may pass
/// (decision mode: the gateway as an external authorizer behind nginx, Caddy, Traefik or Envoy).
package enum ListenerMode: Sendable, Equatable {
    case proxy
    case decision(DecisionListener)

    /// The decision settings, or `nil` for a proxy listener.
    package var decision: DecisionListener? {
        if case .decision(let settings) = self { return settings }
        return nil
    }
}

/// A decision-mode listener's settings: which protocol the fronting proxy speaks, which request headers
/// describe the original request, and from which peers those headers are believed.
package struct DecisionListener: Sendable, Equatable {
    /// The fronting proxy's way of asking.
    package enum DecisionProtocol: String, Sendable, CaseIterable {
        /// nginx `auth_request`: the original method and URI in configured headers (`X-Original-Method`,
        /// `X-Original-URI`, `X-Original-Host`).
        case nginxAuthRequest = "nginx_auth_request"
        /// Traefik and Caddy forward auth: `X-Forwarded-Method`, `-Proto`, `-Host`, `-Uri`.
        case forwardAuth = "forward_auth"
        /// Envoy / Istio `ext_authz` over HTTP: the original method, the original path appended to
        /// `path_prefix`, the original `Host`; the client's headers passed through.
        case envoyExtAuthzHTTP = "envoy_ext_authz_http"
        /// Envoy / Istio `ext_authz` over gRPC (`envoy.service.auth.v3.Authorization/Check`): the original
        /// method, path, host and headers in the `CheckRequest`. The listener serves gRPC only.
        case envoyExtAuthzGRPC = "envoy_ext_authz_grpc"

        /// Envoy's protocols describe the original request in the request itself, not in headers.
        package var isEnvoy: Bool { self == .envoyExtAuthzHTTP || self == .envoyExtAuthzGRPC }
    }

    /// Names of the headers that carry the original request. Envoy needs none: its check request *is* the
    /// original request head, with a prefix on the path.
    package struct OriginalRequestHeaders: Sendable, Equatable {
        package var method: String
        package var uri: String
        package var host: String
        /// The original scheme, when the proxy sends it (informational: the decision does not depend on it).
        package var proto: String?

        package init(method: String, uri: String, host: String, proto: String? = nil) {
            self.method = method
            self.uri = uri
            self.host = host
            self.proto = proto
        }
    }

    package var decisionProtocol: DecisionProtocol
    /// Peers whose decision requests are answered; anyone else gets 403 `untrusted_peer`.
    package var trustedPeers: [PeerAddressRange]
    /// `nil` for Envoy, else the protocol's defaults unless configured.
    package var headers: OriginalRequestHeaders?
    /// Envoy: the prefix the proxy puts before the original path (`path_prefix` of its HTTP service).
    package var pathPrefix: String

    package init(
        protocol decisionProtocol: DecisionProtocol, trustedPeers: [PeerAddressRange],
        headers: OriginalRequestHeaders? = nil, pathPrefix: String = ""
    ) {
        self.decisionProtocol = decisionProtocol
        self.trustedPeers = trustedPeers
        self.headers = headers ?? Self.defaultHeaders(decisionProtocol)
        self.pathPrefix = pathPrefix
    }

    /// The headers each protocol sends by default (nginx's are the ones its documentation and our snippet set).
    package static func defaultHeaders(_ decisionProtocol: DecisionProtocol) -> OriginalRequestHeaders? {
        switch decisionProtocol {
        case .nginxAuthRequest:
            return OriginalRequestHeaders(
                method: "X-Original-Method", uri: "X-Original-URI", host: "X-Original-Host", proto: "X-Original-Proto")
        case .forwardAuth:
            return OriginalRequestHeaders(
                method: "X-Forwarded-Method", uri: "X-Forwarded-Uri", host: "X-Forwarded-Host",
                proto: "X-Forwarded-Proto")
        case .envoyExtAuthzHTTP, .envoyExtAuthzGRPC:
            return nil
        }
    }

    /// Whether the peer `address` may ask.
    package func trusts(_ address: String) -> Bool {
        trustedPeers.contains { $0.contains(address) }
    }
}
