import Foundation
import TestSupport
import Testing
import GatewayConfig

/// `mode: decision` listeners: the settings, their defaults per protocol, and every way to get them wrong.
@Suite("Decision listener configuration")
struct DecisionListenerConfigurationTests {
    static func file(listener extra: String) -> String {
        """
        listeners:
          - port: 8443
            tls: { certificate_chain: server.pem, private_key: server.key }
        \(extra.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
        issuers:
          - issuer: https://idp.example.com
            keys: [{ file: jwks.json }]
        upstreams:
          service-a: { targets: ["http://127.0.0.1:8081"] }
        policies: policies
        """
    }

    static func decision(_ extra: String) throws -> DecisionListener {
        let configuration = try GatewayConfigurationLoaderTests.load(file(listener: extra))
        return try #require(configuration.listeners.first?.mode.decision)
    }

    @Test func aListenerProxiesByDefault() throws {
        let configuration = try GatewayConfigurationLoaderTests.load(GatewayConfigurationLoaderTests.minimal)
        #expect(configuration.listeners[0].mode == .proxy)
    }

    @Test func nginxDefaults() throws {
        let settings = try Self.decision("mode: decision\nprotocol: nginx_auth_request\ntrusted_peers: [127.0.0.1]")
        #expect(settings.decisionProtocol == .nginxAuthRequest)
        #expect(settings.headers == .init(
            method: "X-Original-Method", uri: "X-Original-URI", host: "X-Original-Host", proto: "X-Original-Proto"))
        #expect(settings.trustedPeers.map(\.description) == ["127.0.0.1/32"])
    }

    @Test func forwardAuthDefaultsAndOverrides() throws {
        let settings = try Self.decision("""
            mode: decision
            protocol: forward_auth
            trusted_peers: ["10.0.0.0/8", "::1"]
            original_request: { uri: X-Auth-Uri }
            """)
        #expect(settings.headers == .init(
            method: "X-Forwarded-Method", uri: "X-Auth-Uri", host: "X-Forwarded-Host", proto: "X-Forwarded-Proto"))
        #expect(settings.trusts("10.1.2.3"))
        #expect(settings.trusts("::1"))
        #expect(!settings.trusts("11.0.0.1"))
        #expect(!settings.trusts("127.0.0.1"))
    }

    @Test func envoyTakesAPathPrefixAndNoHeaders() throws {
        let settings = try Self.decision(
            "mode: decision\nprotocol: envoy_ext_authz_http\ntrusted_peers: [127.0.0.1]\npath_prefix: /authz")
        #expect(settings.headers == nil)
        #expect(settings.pathPrefix == "/authz")
    }

    @Test func envoyGRPCTakesNoPrefixAndNoHeaders() throws {
        let settings = try Self.decision("mode: decision\nprotocol: envoy_ext_authz_grpc\ntrusted_peers: [10.0.0.0/8]")
        #expect(settings.decisionProtocol == .envoyExtAuthzGRPC)
        #expect(settings.headers == nil)
        #expect(settings.pathPrefix == "")
    }

    @Test(arguments: [
        ("mode: decision\ntrusted_peers: [127.0.0.1]", "missing `protocol` in a decision listener"),
        ("mode: decision\nprotocol: nginx_auth_request", "missing `trusted_peers` in a decision listener"),
        ("protocol: forward_auth", "`protocol` belongs to a decision listener"),
        ("trusted_peers: [127.0.0.1]", "`trusted_peers` belongs to a decision listener"),
        ("mode: decide", "unknown listener mode `decide`"),
        ("mode: decision\nprotocol: nginx\ntrusted_peers: [127.0.0.1]", "unknown decision protocol `nginx`"),
        ("mode: decision\nprotocol: forward_auth\ntrusted_peers: []", "`trusted_peers` is an empty list"),
        ("mode: decision\nprotocol: forward_auth\ntrusted_peers: [127.0.0.1/33]", "`127.0.0.1/33` in `trusted_peers` is not"),
        ("mode: decision\nprotocol: forward_auth\ntrusted_peers: [localhost]", "`localhost` in `trusted_peers` is not"),
        ("mode: decision\nprotocol: forward_auth\ntrusted_peers: [127.0.0.1]\npath_prefix: /a", "`path_prefix` is for"),
        ("mode: decision\nprotocol: envoy_ext_authz_http\ntrusted_peers: [127.0.0.1]\npath_prefix: /a/", "is not a path prefix"),
        ("mode: decision\nprotocol: envoy_ext_authz_http\ntrusted_peers: [127.0.0.1]\noriginal_request: { method: X-M }",
         "`original_request` does not apply"),
        ("mode: decision\nprotocol: forward_auth\ntrusted_peers: [127.0.0.1]\noriginal_request: { uri: \"X Uri\" }",
         "is not a header name"),
        ("mode: decision\nprotocol: forward_auth\ntrusted_peers: [127.0.0.1]\noriginal_request: { path: X-P }",
         "`path`"),
        ("mode: decision\nprotocol: envoy_ext_authz_grpc\ntrusted_peers: [127.0.0.1]\npath_prefix: /a", "`path_prefix` is for"),
        ("mode: decision\nprotocol: envoy_ext_authz_grpc\ntrusted_peers: [127.0.0.1]\noriginal_request: { uri: X-U }",
         "does not apply to `protocol: envoy_ext_authz_grpc`"),
    ])
    func mistakesAreReported(listener: String, message: String) {
        let errors = GatewayConfigurationLoaderTests.errors(Self.file(listener: listener))
        #expect(errors.contains { $0.contains(message) }, "\(errors)")
    }

    @Test("the worked examples in docs/CONFIGURATION.md load, as the table describes them")
    func documentedExamplesLoad() throws {
        let text = try String(contentsOfFile: TestTools.repositoryRoot + "/docs/CONFIGURATION.md", encoding: .utf8)
        let section = try #require(text.components(separatedBy: "### Decision mode").dropFirst().first)
        let example = try #require(section.components(separatedBy: "Worked examples:").last?
            .components(separatedBy: "```yaml\n").dropFirst().first?.components(separatedBy: "```").first)
        let yaml = example + """
            issuers:
              - issuer: https://idp.example.com
                keys: [{ file: jwks.json }]
            upstreams:
              service-a: { targets: ["http://127.0.0.1:8081"] }
            policies: policies
            """
        let listeners = try GatewayConfigurationLoaderTests.load(yaml).listeners
        #expect(listeners.map { $0.mode.decision?.decisionProtocol } == [nil, .nginxAuthRequest, .forwardAuth, .envoyExtAuthzHTTP])
        #expect(listeners[2].mode.decision?.headers?.uri == "X-Auth-Original-Uri")
        #expect(listeners[3].mode.decision?.pathPrefix == "/ext-authz")
    }

    @Test func changingTheModeNeedsARestart() throws {
        let proxy = try GatewayConfigurationLoaderTests.load(Self.file(listener: ""))
        let decision = try GatewayConfigurationLoaderTests.load(
            Self.file(listener: "mode: decision\nprotocol: forward_auth\ntrusted_peers: [127.0.0.1]"))
        #expect(RestartOnlySettings.changed(from: proxy, to: decision) == ["listeners[0].mode"])
    }
}

@Suite("Peer address ranges")
struct PeerAddressRangeTests {
    @Test(arguments: [
        ("127.0.0.1", "127.0.0.1", true), ("127.0.0.1", "127.0.0.2", false),
        ("127.0.0.0/8", "127.255.0.9", true), ("127.0.0.0/8", "128.0.0.1", false),
        ("10.1.2.3/16", "10.1.200.1", true), ("0.0.0.0/0", "8.8.8.8", true),
        ("192.168.1.0/25", "192.168.1.127", true), ("192.168.1.0/25", "192.168.1.128", false),
        ("::1", "::1", true), ("::1", "::2", false), ("fd00::/8", "fd12::1", true), ("fd00::/8", "fe80::1", false),
        ("127.0.0.1", "::ffff:127.0.0.1", true), ("::ffff:127.0.0.1", "127.0.0.1", false),
        ("127.0.0.1", "::1", false), ("::1", "127.0.0.1", false), ("127.0.0.1", "unknown", false),
        ("127.0.0.1", "", false),
    ])
    func membership(range: String, address: String, inside: Bool) throws {
        let parsed = try #require(PeerAddressRange(range))
        #expect(parsed.contains(address) == inside)
    }

    @Test(arguments: ["", "/8", "127.0.0.1/", "127.0.0.1/33", "::1/129", "127.0.0.1/+8", "127.0.0.1/08x",
                      "127.1", "localhost", "127.0.0.1/8/8", "[::1]", "1.2.3.4 "])
    func refused(text: String) {
        #expect(PeerAddressRange(text) == nil)
    }

    @Test func hostBitsAreCleared() throws {
        #expect(try #require(PeerAddressRange("10.1.2.3/8")).description == "10.0.0.0/8")
        #expect(try #require(PeerAddressRange("fd12:3456::1/16")).description == "fd12::/16")
    }
}
