import Yams
import GatewayPolicy

/// OpenID Connect discovery (`discovery`, `openid_configuration`) and the egress proxy of key fetches
/// (`proxy`, `key_fetch.proxy`).
extension GatewayConfigurationDecoder {
    /// `discovery:` takes the settings of `remote_keys` except `jwks_url` (discovery finds it), and
    /// `openid_configuration` for a document that is not at the issuer's well-known URL.
    static var discoveryFields: [ConfigurationField<Configuration.RemoteKeys>] {
        [.value("openid_configuration", \.url) { $0.discoveryURL($1, $2) }]
            + remoteKeysFields.filter { $0.key != "jwks_url" }
    }

    /// `discovery: true`, or a mapping of fetch settings. The document's URL is filled in from the issuer
    /// by ``checkDiscovery(of:_:at:)`` when the mapping does not name one.
    mutating func decodeDiscovery(_ node: Node) -> Configuration.RemoteKeys? {
        if case .scalar = node {
            guard let enabled = flag(node, "`discovery`") else { return nil }
            if !enabled {
                reader.error(
                    "`discovery: false` changes nothing", at: node,
                    hint: "leave `discovery` out, and give the issuer `keys` or `remote_keys`")
                return nil
            }
            return Configuration.RemoteKeys(url: "", discovery: true)
        }
        let errorsBefore = reader.errorCount
        var remote = Configuration.RemoteKeys(url: "", discovery: true)
        guard let entries = decodeSection(node, "`discovery`", into: &remote, Self.discoveryFields) else { return nil }
        if remote.minRefresh > remote.maxRefresh {
            reader.error("`min_refresh` is longer than `max_refresh`", at: entries.first { $0.key == "min_refresh" }?.value ?? node)
        }
        return reader.errorCount == errorsBefore ? remote : nil
    }

    /// An OpenID configuration URL: `https://host[:port]/path` (plain HTTP is checked with the issuer's
    /// `insecure` in ``checkDiscovery(of:_:at:)``).
    mutating func discoveryURL(_ node: Node, _ what: String) -> String? {
        guard let text = nonEmptyString(node, what) else { return nil }
        guard ParsedURL(text) != nil, !text.contains("#"), !text.contains(where: { $0.isWhitespace }) else {
            reader.error(
                "\(what) `\(text)` is not a URL", at: node,
                hint: "write `https://host[:port]/path`, as in `https://idp.example.com/.well-known/openid-configuration`")
            return nil
        }
        return text
    }

    /// The checks across an issuer's keys: discovery alone (it finds the keys itself), an issuer URL it can
    /// be discovered from, and HTTPS unless `insecure`.
    mutating func checkDiscovery(of issuer: inout Configuration.Issuer, _ entries: [YAMLReader.Entry], at node: Node) {
        let discoveryEntries = entries.filter { $0.key == "discovery" || $0.key == "openid_configuration" }
        guard let first = discoveryEntries.first else { return }
        if discoveryEntries.count > 1 {
            reader.error(
                "`discovery` and `openid_configuration` are both set", at: discoveryEntries[1].keyNode,
                hint: "write `discovery: { openid_configuration: URL }`, or only one of the two")
        }
        for other in entries where other.key == "keys" || other.key == "remote_keys" {
            reader.error(
                "`\(first.key)` cannot be combined with `\(other.key)`", at: other.keyNode,
                hint: "discovery finds the provider's JWKS itself: drop `\(other.key)`, or drop `\(first.key)` and "
                    + "name the JWKS under `remote_keys: { jwks_url: ... }`")
        }
        guard var remote = issuer.remoteKeys, remote.discovery else { return }
        let issuerNode = entries.first { $0.key == "issuer" }?.value ?? node
        if let url = ParsedURL(issuer.issuer), !issuer.issuer.contains("?"), !issuer.issuer.contains("#") {
            if !url.isHTTPS, !remote.allowInsecure {
                reader.error(
                    "issuer `\(issuer.issuer)` is plain HTTP, so it cannot be discovered", at: issuerNode,
                    hint: "OpenID providers are identified by an `https://` URL; `insecure: true` under `discovery` "
                        + "allows plain HTTP for tests")
            }
        } else if !issuer.issuer.isEmpty {
            reader.error(
                "issuer `\(issuer.issuer)` is not a URL, so it cannot be discovered", at: issuerNode,
                hint: "discovery needs the issuer as an `https://` URL without query or fragment; for another "
                    + "issuer, name its JWKS under `remote_keys: { jwks_url: ... }`")
        }
        if remote.url.isEmpty {
            remote.url = Configuration.openIDConfigurationURL(issuer: issuer.issuer)
        } else if let url = ParsedURL(remote.url), !url.isHTTPS, !remote.allowInsecure {
            reader.error(
                "`openid_configuration` `\(remote.url)` is plain HTTP", at: first.value,
                hint: "fetch it over `https://`; `insecure: true` under `discovery` allows plain HTTP for tests")
        }
        issuer.remoteKeys = remote
    }

    /// `key_fetch: { proxy: URL }`: settings for every issuer's remote key fetches.
    mutating func decodeKeyFetch(_ node: Node) {
        var settings = KeyFetchDraft()
        decodeSection(node, "`key_fetch`", into: &settings, Self.keyFetchFields)
        defaultProxy = settings.proxy
    }

    struct KeyFetchDraft {
        var proxy: String?
    }

    static var keyFetchFields: [ConfigurationField<KeyFetchDraft>] {
        [.optional("proxy", \.proxy) { $0.proxy($1, $2, allowDirect: false) }]
    }

    /// An egress proxy URL (``ProxyURL``), or `direct` (per issuer: no proxy, whatever `key_fetch` says).
    mutating func proxy(_ node: Node, _ what: String, allowDirect: Bool) -> String? {
        guard let text = nonEmptyString(node, what) else { return nil }
        if text == "direct", allowDirect { return text }
        guard ProxyURL(text) != nil else {
            let hint = text.hasPrefix("https://")
                ? "the gateway speaks plain HTTP to the proxy and runs TLS to the provider through its tunnel: "
                    + "write `http://host:port`"
                : "write `http://host:port` or `http://user:password@host:port` (an explicit port, no path)"
                    + (allowDirect ? ", or `direct` for no proxy" : "")
            // The value may hold a password: name it without the userinfo.
            let shown = text.contains("@") ? "(with credentials)" : "`\(text)`"
            reader.error("\(what) \(shown) is not a proxy URL", at: node, hint: hint)
            return nil
        }
        return text
    }

    /// The issuer's own `proxy`, else `key_fetch.proxy`; `direct` becomes no proxy.
    func applyDefaultProxy(to issuer: Configuration.Issuer) -> Configuration.Issuer {
        guard var remote = issuer.remoteKeys else { return issuer }
        let proxy = remote.proxy ?? defaultProxy
        remote.proxy = proxy == "direct" ? nil : proxy
        var resolved = issuer
        resolved.remoteKeys = remote
        return resolved
    }
}
