import Foundation
import GatewayConfig
import TestSupport
import Testing

/// `discovery`, `openid_configuration`, `proxy` and `key_fetch`: what lands in the model, and every wrong
/// combination reported at its line.
@Suite("Gateway configuration: OpenID discovery and the key-fetch proxy")
struct DiscoveryConfigurationTests {
    /// A configuration whose only issuer is `issuer` (indented lines of an issuer entry after `issuer:`).
    static func yaml(issuer: String = "https://login.example.com", _ lines: String, topLevel: String = "") -> String {
        """
        listeners:
          - port: 8443
            tls: { certificate_chain: server.pem, private_key: server.key }
        issuers:
          - issuer: \(issuer)
        \(lines)
        upstreams:
          service-a: { targets: ["http://127.0.0.1:8081"] }
        policies: policies
        \(topLevel)
        """
    }

    static func remote(_ yaml: String) throws -> GatewayConfiguration.RemoteKeys? {
        try GatewayConfigurationLoader.load(text: yaml, path: "/etc/gw/gateway.yaml").issuers.first?.remoteKeys
    }

    static func errors(_ yaml: String) -> [String] {
        do {
            _ = try GatewayConfigurationLoader.load(text: yaml, path: "gw.yaml")
            Issue.record("the configuration loaded")
            return []
        } catch {
            return error.diagnostics.map(\.description)
        }
    }

    @Test(arguments: [
        ("https://login.example.com", "https://login.example.com/.well-known/openid-configuration"),
        ("https://login.example.com/", "https://login.example.com/.well-known/openid-configuration"),
        ("https://login.example.com/realms/acme", "https://login.example.com/realms/acme/.well-known/openid-configuration"),
    ])
    func discoveryTrueUsesTheWellKnownURL(issuer: String, expected: String) throws {
        let remote = try #require(try Self.remote(Self.yaml(issuer: issuer, "    discovery: true")))
        #expect(remote.discovery)
        #expect(remote.url == expected)
        #expect(remote.proxy == nil)
        #expect(remote.maxStale == GatewayConfiguration.RemoteKeys(url: "x").maxStale)
    }

    @Test func discoverySettingsAndAnExplicitDocument() throws {
        let remote = try #require(try Self.remote(Self.yaml("""
                discovery:
                  openid_configuration: https://login.example.com/tenant/.well-known/openid-configuration
                  ca_file: certs/idp-ca.pem
                  max_stale: 2h
                  proxy: "http://gw:s%40cret@127.0.0.1:3128"
            """)))
        #expect(remote.url == "https://login.example.com/tenant/.well-known/openid-configuration")
        #expect(remote.caFile == "/etc/gw/certs/idp-ca.pem")
        #expect(remote.maxStale == .seconds(7200))
        #expect(remote.proxy == "http://gw:s%40cret@127.0.0.1:3128")
        let shorthand = try #require(try Self.remote(Self.yaml(
            "    openid_configuration: https://login.example.com/custom/openid")))
        #expect(shorthand.discovery && shorthand.url == "https://login.example.com/custom/openid")
    }

    @Test func theGlobalProxyAppliesUnlessAnIssuerSaysOtherwise() throws {
        let global = "key_fetch: { proxy: \"http://127.0.0.1:3128\" }"
        #expect(try Self.remote(Self.yaml("    discovery: true", topLevel: global))?.proxy == "http://127.0.0.1:3128")
        #expect(try Self.remote(Self.yaml(
            "    remote_keys: { jwks_url: \"https://login.example.com/jwks\", proxy: \"http://10.0.0.1:8080\" }",
            topLevel: global))?.proxy == "http://10.0.0.1:8080")
        #expect(try Self.remote(Self.yaml("    discovery: { proxy: direct }", topLevel: global))?.proxy == nil)
        // Configured key files are read from disk: nothing to proxy, nothing changes.
        let local = try GatewayConfigurationLoader.load(text: Self.yaml("    keys: [{ file: jwks.json }]", topLevel: global), path: "gw.yaml")
        #expect(local.issuers.first?.remoteKeys == nil)
    }

    @Test("the worked example in docs/CONFIGURATION.md loads, with the precedence it describes")
    func documentedExampleLoads() throws {
        let text = try String(contentsOfFile: TestTools.repositoryRoot + "/docs/CONFIGURATION.md", encoding: .utf8)
        let example = try #require(text.components(separatedBy: "Worked example: one provider found by discovery").last?
            .components(separatedBy: "```yaml\n").dropFirst().first?.components(separatedBy: "```").first)
        let yaml = """
            listeners:
              - port: 8443
                tls: { certificate_chain: server.pem, private_key: server.key }
            upstreams:
              service-a: { targets: ["http://127.0.0.1:8081"] }
            policies: policies
            \(example)
            """
        let issuers = try GatewayConfigurationLoader.load(text: yaml, path: "/etc/gw/gateway.yaml").issuers
        #expect(issuers.map(\.remoteKeys?.discovery) == [true, false])
        #expect(issuers.first?.remoteKeys?.url == "https://login.example.com/realms/acme/.well-known/openid-configuration")
        #expect(issuers.first?.remoteKeys?.proxy == "http://gateway:s3cret@egress-proxy.internal:3128")
        #expect(issuers.last?.remoteKeys?.proxy == nil)
    }

    @Test func discoveryCombinedWithKeysIsAnError() {
        #expect(Self.errors(Self.yaml("""
                discovery: true
                remote_keys: { jwks_url: "https://login.example.com/jwks" }
                keys: [{ file: jwks.json }]
            """)) == [
            "gw.yaml:7:5: error: `discovery` cannot be combined with `remote_keys`; hint: discovery finds the provider's "
                + "JWKS itself: drop `remote_keys`, or drop `discovery` and name the JWKS under `remote_keys: { jwks_url: ... }`",
            "gw.yaml:8:5: error: `discovery` cannot be combined with `keys`; hint: discovery finds the provider's "
                + "JWKS itself: drop `keys`, or drop `discovery` and name the JWKS under `remote_keys: { jwks_url: ... }`",
        ])
        #expect(Self.errors(Self.yaml("""
                discovery: true
                openid_configuration: https://login.example.com/x
            """)) == [
            "gw.yaml:7:5: error: `discovery` and `openid_configuration` are both set; "
                + "hint: write `discovery: { openid_configuration: URL }`, or only one of the two",
        ])
    }

    @Test func theIssuerMustBeAnHTTPSURL() {
        #expect(Self.errors(Self.yaml(issuer: "http://login.example.com", "    discovery: true")) == [
            "gw.yaml:5:13: error: issuer `http://login.example.com` is plain HTTP, so it cannot be discovered; "
                + "hint: OpenID providers are identified by an `https://` URL; `insecure: true` under `discovery` "
                + "allows plain HTTP for tests",
        ])
        #expect(Self.errors(Self.yaml(issuer: "login-service", "    discovery: true")) == [
            "gw.yaml:5:13: error: issuer `login-service` is not a URL, so it cannot be discovered; "
                + "hint: discovery needs the issuer as an `https://` URL without query or fragment; for another "
                + "issuer, name its JWKS under `remote_keys: { jwks_url: ... }`",
        ])
        #expect(Self.errors(Self.yaml("    openid_configuration: http://login.example.com/oidc")) == [
            "gw.yaml:6:27: error: `openid_configuration` `http://login.example.com/oidc` is plain HTTP; "
                + "hint: fetch it over `https://`; `insecure: true` under `discovery` allows plain HTTP for tests",
        ])
        #expect(Self.errors(Self.yaml("    discovery: false")) == [
            "gw.yaml:6:16: error: `discovery: false` changes nothing; "
                + "hint: leave `discovery` out, and give the issuer `keys` or `remote_keys`",
        ])
    }

    @Test func discoveryHasNoJWKSURL() {
        #expect(Self.errors(Self.yaml("    discovery: { jwks_url: \"https://login.example.com/jwks\" }")) == [
            "gw.yaml:6:18: error: unknown key `jwks_url` in `discovery`; hint: expected one of `openid_configuration`, "
                + "`insecure`, `ca_file`, `default_alg`, `proxy`, `min_refresh`, `max_refresh`, `max_stale`, "
                + "`unknown_key_cooldown`, `fetch_timeout`",
        ])
    }

    @Test func badProxyURLsNeverEchoCredentials() {
        let errors = Self.errors(Self.yaml("    discovery: { proxy: \"http://gw:hunter2@proxy\" }"))
        #expect(errors == [
            "gw.yaml:6:25: error: `proxy` (with credentials) is not a proxy URL; hint: write `http://host:port` or "
                + "`http://user:password@host:port` (an explicit port, no path), or `direct` for no proxy",
        ])
        #expect(!errors.joined().contains("hunter2"))
        #expect(Self.errors(Self.yaml("    discovery: true", topLevel: "key_fetch: { proxy: \"https://proxy:3128\" }")) == [
            "gw.yaml:10:21: error: `proxy` `https://proxy:3128` is not a proxy URL; hint: the gateway speaks plain "
                + "HTTP to the proxy and runs TLS to the provider through its tunnel: write `http://host:port`",
        ])
        #expect(Self.errors(Self.yaml("    discovery: true", topLevel: "key_fetch: { proxy: direct }")).count == 1)
    }
}

/// Proxy URLs: what is taken from them, and how they are printed.
@Suite("Proxy URL")
struct ProxyURLTests {
    @Test func parsesHostPortAndCredentials() throws {
        let plain = try #require(ProxyURL("http://127.0.0.1:3128"))
        #expect(plain.host == "127.0.0.1" && plain.port == 3128 && plain.credentials == nil)
        #expect(plain.description == "http://127.0.0.1:3128")
        let withUser = try #require(ProxyURL("http://gw%2Dbot:p%40ss:word@[::1]:8080/"))
        #expect(withUser.host == "::1" && withUser.port == 8080)
        #expect(withUser.credentials == "gw-bot:p@ss:word")
        #expect(withUser.description == "http://***@[::1]:8080")
    }

    @Test(arguments: [
        "https://proxy:3128", "http://proxy", "http://proxy:3128/path", "http://proxy:3128?x", "proxy:3128",
        "http://user@pass@:3128", "http://%zz@proxy:3128", "http://proxy:0", "http:// proxy:3128",
    ])
    func refuses(_ text: String) {
        #expect(ProxyURL(text) == nil)
    }

    @Test func redactionNeverShowsUserinfo() {
        #expect(ProxyURL.redacted("http://u:secret@proxy:3128") == "http://***@proxy:3128")
        #expect(ProxyURL.redacted("http://u:secret@proxy") == "***@proxy")
        #expect(ProxyURL.redacted("http://proxy") == "http://proxy")
    }
}
