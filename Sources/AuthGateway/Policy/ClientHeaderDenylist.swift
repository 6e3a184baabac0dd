/// The maintained default denylist: request headers that common proxies, CDNs, identity-provider front ends,
/// load balancers, meshes and web frameworks set and that upstream services therefore trust — as identity,
/// as the client's address, as the URL, scheme or method, as a client certificate, or as proxy control.
/// A client must never be able to send one of them through the gateway, on any route.
///
/// Names compare case-insensitively with `_` and `.` read as `-` (``ClientHeaderFilter``), so `X_Remote_User`
/// and `x.remote.user` are caught with `X-Remote-User`. docs/HEADER-DENYLIST.md lists every entry with the
/// product that sets or trusts it and where that is documented; keep the two in step.
package enum ClientHeaderDenylist {
    /// Hop-by-hop (RFC 9110 §7.6.1) and HTTP/2-only names, and what the gateway sets itself: never a client's.
    /// `Host` and `Content-Length` are written by the gateway; a client's `Content_Length` or `host.` would sit
    /// next to them, and servers that read `_` or `.` as `-` would see two.
    package static let managed = [
        "connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade",
        "proxy-authorization", "proxy-authenticate", "http2-settings", "expect",
        "host", "content-length", "x-request-id", "traceparent", "tracestate",
    ]

    /// Whole namespaces. Only namespaces that proxies own: no mainstream client or SDK sends a header in
    /// them (bare `X-Auth-`, `X-Client-`, `X-Ms-`, `X-Amzn-`, `X-Goog-` and `Cf-` are deliberately absent).
    package static let prefixes = [
        // Forwarding and proxy-asserted facts: X-Forwarded-User/-Email/-Groups/-Access-Token (oauth2-proxy),
        // -Uri/-Method (Traefik, Caddy forward auth), -Prefix (Spring), -Client-Cert (Envoy XFCC), ...
        "x-forwarded-",
        // X-Original-URL/-URI/-Method/-Host/-Forwarded-For (IIS URL Rewrite, nginx auth_request, ingress-nginx).
        "x-original-",
        // Kubernetes front-proxy identity (X-Remote-User/-Group/-Extra-*); Authelia's Remote-User/-Groups/-Email.
        "x-remote-", "remote-",
        // oauth2-proxy's --set-xauthrequest (X-Auth-Request-User/-Email/-Groups/-Access-Token/-Redirect): also
        // the gateway's own identity namespace by default, here so that no `identity.strip_prefixes` drops it.
        "x-auth-request-",
        // Apache mod_auth_openidc (OIDC_CLAIM_<claim>, the default OIDCClaimPrefix) and Shibboleth SP
        // (Shib-Session-ID, Shib-Identity-Provider, ... with ShibUseHeaders).
        "oidc-claim-", "shib-",
        // Kong and FortiGate (X-Authenticated-Userid/-Scope/-Groups), Kong and APISIX consumers.
        "x-authenticated-", "x-consumer-", "x-credential-",
        // Identity-aware proxies: Pomerium, authentik, Vouch, Grafana/Gitea auth proxy (X-WEBAUTH-*).
        "x-pomerium-", "x-authentik-", "x-vouch-", "x-webauth-",
        // Cloud front doors: AWS ALB OIDC and mTLS, Azure Easy Auth and Front Door, Google IAP and App Engine,
        // Cloudflare Access, Tailscale Serve.
        "x-amzn-oidc-", "x-amzn-mtls-", "x-amzn-tls-", "x-ms-client-principal", "x-ms-token-",
        "x-azure-", "x-fd-", "x-goog-authenticated-user-", "x-goog-iap-", "x-google-", "x-appengine-",
        "cf-access-", "tailscale-user-",
        // Mesh and application-server control: Envoy, Linkerd (l5d-dst-override re-routes), WebLogic.
        "x-envoy-", "l5d-", "wl-proxy-",
        // TLS client certificates asserted by a proxy (ingress-nginx ssl-client-*, X-Ssl-Client-*).
        "ssl-client-", "x-ssl-client",
    ]

    /// Exact names, by what they assert.
    package static let names = identity + clientAddresses + urlOverrides + methodOverrides + clientCertificates + proxyInternal

    static let identity = [
        "x-user", "x-email", "x-role", "x-first-name", "x-last-name",
        "x-oauth2-proxy-id-token", "gap-auth",
        // kong-oidc and Apache APISIX openid-connect: the userinfo and ID token of the session, base64 JSON.
        "x-userinfo", "x-id-token",
        // mod_auth_openidc's token headers (OIDC_access_token, OIDC_id_token, ...).
        "oidc-access-token", "oidc-access-token-expires", "oidc-id-token", "oidc-id-token-payload", "oidc-refresh-token",
        // keycloak-proxy / Louketo (X-Auth-Token and X-Auth-Key stay: clients send them to many APIs).
        "x-auth-username", "x-auth-userid", "x-auth-subject", "x-auth-email", "x-auth-roles", "x-auth-groups",
        "x-auth-expiresin", "x-auth-user",
        // Google Cloud Endpoints and API Gateway (verified JWT payloads), AWS API Gateway via Lambda adapters.
        "x-endpoint-api-userinfo", "x-apigateway-api-userinfo", "x-amzn-request-context",
        "x-anonymous-consumer",
        // SiteMinder / Spring Security RequestHeaderAuthenticationFilter, OpenSearch and Search Guard proxy auth.
        "sm-user", "x-proxy-user", "x-proxy-roles", "x-kibana-user",
    ]

    static let clientAddresses = [
        "x-real-ip", "x-client-ip", "client-ip", "x-cluster-client-ip", "x-originating-ip", "true-client-ip",
        "cf-connecting-ip", "cf-connecting-ipv6", "cf-pseudo-ipv4", "fastly-client-ip", "cloudfront-viewer-address",
        "fly-client-ip", "x-nf-client-connection-ip", "x-proxyuser-ip", "proxy-client-ip", "forwarded-for",
        "do-connecting-ip",
        "x-forwarded", "forwarded",
    ]

    static let urlOverrides = [
        "x-rewrite-url", "x-url-scheme", "x-scheme", "front-end-https", "cf-visitor", "x-arr-ssl",
        // Host overrides that frameworks honour when building absolute URLs (password-reset poisoning).
        "x-host", "x-http-host-override",
        "x-proxyscheme", "x-proxyhost", "x-proxyport", "x-proxycontextpath",
    ]

    /// The upstream would run another method than the one the route allowed.
    static let methodOverrides = ["x-http-method-override", "x-http-method", "x-method-override"]

    static let clientCertificates = [
        "client-cert", "client-cert-chain", "x-arr-clientcert", "ssl-cipher", "ssl-session-id",
        "ssl-cipher-usekeysize", "x-common-name-ssl",
    ]

    static let proxyInternal = ["fastly-client", "gap-signature"]
}

extension ClientHeaderDenylist {
    /// Whether the built-in lists (``managed``, ``names``, ``prefixes``) strip a client header `name`, in
    /// any spelling. For the policy loader; the request path uses ``ClientHeaderFilter``.
    static func covers(_ name: String) -> Bool {
        let folded = normalize(name)
        if (managed + names).contains(where: { normalize($0) == folded }) { return true }
        return prefixes.contains { folded.starts(with: normalize($0)) }
    }

    /// Lower-case, `_` and `.` as `-`.
    package static func normalize(_ name: String) -> [UInt8] {
        name.utf8.map(fold)
    }

    @inline(__always)
    package static func fold(_ byte: UInt8) -> UInt8 {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return byte | 0x20
        case UInt8(ascii: "_"), UInt8(ascii: "."): return UInt8(ascii: "-")
        default: return byte
        }
    }
}
