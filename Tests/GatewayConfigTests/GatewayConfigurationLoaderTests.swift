import Foundation
import JOSE
import TestSupport
import Testing
import GatewayPolicy
import GatewayConfig

@Suite("Gateway configuration loader")
struct GatewayConfigurationLoaderTests {
    /// The smallest configuration that loads; everything else takes its default.
    static let minimal = """
        listeners:
          - port: 8443
            tls: { certificate_chain: server.pem, private_key: server.key }
        issuers:
          - issuer: https://idp.example.com
            keys: [{ file: jwks.json }]
        upstreams:
          service-a: { targets: ["http://127.0.0.1:8081"] }
        policies: policies
        """

    static func load(_ yaml: String, path: String = "/etc/gw/gateway.yaml") throws -> GatewayConfiguration {
        try GatewayConfigurationLoader.load(text: yaml, path: path)
    }

    /// The diagnostics, one line each, of a configuration that must not load.
    static func errors(_ yaml: String, path: String = "gw.yaml") -> [String] {
        do {
            _ = try GatewayConfigurationLoader.load(text: yaml, path: path)
            Issue.record("the configuration loaded")
            return []
        } catch {
            return error.diagnostics.map(\.description)
        }
    }

    /// `minimal` with one more top-level section.
    static func minimal(adding section: String) -> String {
        minimal + "\n" + section
    }

    // MARK: - Valid files

    @Test func everyFieldLandsInTheModel() throws {
        let configuration = try Self.load("""
            listeners:
              - address: 127.0.0.1
                port: 8443
                tls: { certificate_chain: certs/server.pem, private_key: certs/server.key, min_version: "1.3" }
                http2: false
              - address: "::"
                port: 9443
                tls: { certificate_chain: /pki/chain.pem, private_key: /pki/key.pem }
            admin: { address: 127.0.0.2, port: 9902 }
            issuers:
              - issuer: https://idp.example.com
                audiences: [api, admin-api]
                keys:
                  - { file: keys/jwks.json }
                  - { file: keys/public.pem, alg: RS256, kid: rsa-1 }
                leeway: 30s
                max_lifetime: 1h
                required_claims: [sub, email]
                token_types: [at+jwt]
              - issuer: https://partner.example.org
                keys: [{ file: keys/partner.jwk, alg: EdDSA }]
                leeway: 0
            upstreams:
              service-a:
                targets: [http://127.0.0.1:8081, "http://[::1]:8082"]
                balancing: least_requests
                connect_timeout: 500ms
                response_timeout: 45s
                idle_timeout: 2m
                max_connections: 64
                unhealthy_cooldown: 1.5s
              service-b:
                targets: [http://backend.internal:80]
            limits:
              max_header_bytes: 32KiB
              max_header_count: 50
              max_uri_bytes: 4096
              max_body_bytes: 1MB
              header_read_timeout: 5s
              idle_timeout: 90s
              body_read_timeout: 20s
              max_connections: 500
              http2_max_concurrent_streams: 64
              drain_timeout: 1m
            policies: policies/
            identity: { strip_prefixes: [X-User-, X-Claim-], strip_headers: [X-Remote-User], realm: internal-api }
            token_cache: { enabled: false, max_entries: 500 }
            logging: { level: debug, access_log: logs/access.log }
            """)

        #expect(configuration.listeners.count == 2)
        let first = try #require(configuration.listeners.first)
        #expect(first.address == "127.0.0.1")
        #expect(first.port == 8443)
        #expect(first.http2 == false)
        #expect(first.tls.certificateChainFile == "/etc/gw/certs/server.pem")
        #expect(first.tls.privateKeyFile == "/etc/gw/certs/server.key")
        #expect(first.tls.minimumVersion == .tls13)
        let second = configuration.listeners[1]
        #expect(second.address == "::")
        #expect(second.port == 9443)
        #expect(second.http2 == true)
        #expect(second.tls.certificateChainFile == "/pki/chain.pem")
        #expect(second.tls.minimumVersion == .tls12)

        #expect(configuration.admin?.address == "127.0.0.2")
        #expect(configuration.admin?.port == 9902)

        #expect(configuration.issuers.map(\.issuer) == ["https://idp.example.com", "https://partner.example.org"])
        let idp = configuration.issuers[0]
        #expect(idp.audiences == ["api", "admin-api"])
        #expect(idp.keys.map(\.file) == ["/etc/gw/keys/jwks.json", "/etc/gw/keys/public.pem"])
        #expect(idp.keys.map(\.algorithm) == [nil, .RS256])
        #expect(idp.keys.map(\.keyID) == [nil, "rsa-1"])
        #expect(idp.leeway == .seconds(30))
        #expect(idp.maxLifetime == .seconds(3600))
        #expect(idp.requiredClaims == ["sub", "email"])
        #expect(idp.tokenTypes == ["at+jwt"])
        let partner = configuration.issuers[1]
        #expect(partner.audiences == [])
        #expect(partner.keys.map(\.algorithm) == [.EdDSA])
        #expect(partner.leeway == .seconds(0))
        #expect(partner.maxLifetime == nil)
        #expect(partner.requiredClaims == [])
        #expect(partner.tokenTypes == [], "no token_types: any typ")

        #expect(configuration.upstreams.keys.sorted() == ["service-a", "service-b"])
        let a = try #require(configuration.upstreams["service-a"])
        #expect(a.targets == [.init(host: "127.0.0.1", port: 8081), .init(host: "::1", port: 8082)])
        #expect(a.balancing == .leastRequests)
        #expect(a.connectTimeout == .seconds(0.5))
        #expect(a.responseTimeout == .seconds(45))
        #expect(a.idleTimeout == .seconds(120))
        #expect(a.maxConnections == 64)
        #expect(a.unhealthyCooldown == .seconds(1.5))
        let b = try #require(configuration.upstreams["service-b"])
        #expect(b.targets == [.init(host: "backend.internal", port: 80)])
        #expect(b.balancing == .roundRobin)

        let limits = configuration.limits
        #expect(limits.maxHeaderBytes == 32 * 1024)
        #expect(limits.maxHeaderCount == 50)
        #expect(limits.maxURIBytes == 4096)
        #expect(limits.maxBodyBytes == 1_000_000)
        #expect(limits.headerReadTimeout == .seconds(5))
        #expect(limits.idleTimeout == .seconds(90))
        #expect(limits.bodyReadTimeout == .seconds(20))
        #expect(limits.maxConnections == 500)
        #expect(limits.http2MaxConcurrentStreams == 64)
        #expect(limits.drainTimeout == .seconds(60))

        #expect(configuration.policyDirectory == "/etc/gw/policies/")
        #expect(configuration.identity.stripPrefixes == ["X-User-", "X-Claim-"])
        #expect(configuration.identity.stripHeaders == ["X-Remote-User"])
        #expect(configuration.identity.realm == "internal-api")
        #expect(configuration.tokenCache.enabled == false)
        #expect(configuration.tokenCache.maxEntries == 500)
        #expect(configuration.logging.level == "debug")
        #expect(configuration.logging.accessLog == "/etc/gw/logs/access.log")
    }

    @Test func omittedKeysTakeTheModelDefaults() throws {
        let configuration = try Self.load(Self.minimal)
        let listener = try #require(configuration.listeners.first)
        #expect(listener.address == "0.0.0.0")
        #expect(listener.http2 == true)
        #expect(listener.tls.minimumVersion == .tls12)
        #expect(configuration.admin?.address == "127.0.0.1")
        #expect(configuration.admin?.port == 9901)

        let issuer = try #require(configuration.issuers.first)
        let defaultIssuer = GatewayConfiguration.Issuer(issuer: "x", keys: [])
        #expect(issuer.audiences == defaultIssuer.audiences)
        #expect(issuer.leeway == defaultIssuer.leeway)
        #expect(issuer.maxLifetime == defaultIssuer.maxLifetime)
        #expect(issuer.requiredClaims == defaultIssuer.requiredClaims)
        #expect(issuer.tokenTypes == defaultIssuer.tokenTypes)

        let upstream = try #require(configuration.upstreams["service-a"])
        let defaultUpstream = GatewayConfiguration.Upstream(targets: [])
        #expect(upstream.balancing == defaultUpstream.balancing)
        #expect(upstream.connectTimeout == defaultUpstream.connectTimeout)
        #expect(upstream.responseTimeout == defaultUpstream.responseTimeout)
        #expect(upstream.idleTimeout == defaultUpstream.idleTimeout)
        #expect(upstream.maxConnections == defaultUpstream.maxConnections)
        #expect(upstream.unhealthyCooldown == defaultUpstream.unhealthyCooldown)

        let limits = configuration.limits
        let defaults = GatewayConfiguration.Limits()
        #expect(limits.maxHeaderBytes == defaults.maxHeaderBytes)
        #expect(limits.maxHeaderCount == defaults.maxHeaderCount)
        #expect(limits.maxURIBytes == defaults.maxURIBytes)
        #expect(limits.maxBodyBytes == defaults.maxBodyBytes)
        #expect(limits.headerReadTimeout == defaults.headerReadTimeout)
        #expect(limits.idleTimeout == defaults.idleTimeout)
        #expect(limits.bodyReadTimeout == defaults.bodyReadTimeout)
        #expect(limits.maxConnections == defaults.maxConnections)
        #expect(limits.http2MaxConcurrentStreams == defaults.http2MaxConcurrentStreams)
        #expect(limits.drainTimeout == defaults.drainTimeout)

        #expect(configuration.identity.stripPrefixes == GatewayConfiguration.Identity().stripPrefixes)
        #expect(configuration.identity.stripHeaders == GatewayConfiguration.Identity().stripHeaders)
        #expect(configuration.identity.realm == "auth-gateway")
        #expect(configuration.tokenCache.enabled == true)
        #expect(configuration.tokenCache.maxEntries == 10_000)
        #expect(configuration.logging.level == "info")
        #expect(configuration.logging.accessLog == "stdout")
    }

    @Test func relativePathsResolveAgainstTheConfigurationDirectory() throws {
        let yaml = """
            listeners:
              - port: 8443
                tls: { certificate_chain: ./certs/server.pem, private_key: /var/lib/gw/server.key }
            issuers:
              - issuer: https://idp.example.com
                keys: [{ file: keys/jwks.json }]
            upstreams:
              service-a: { targets: ["http://127.0.0.1:8081"] }
            policies: ../policies
            logging: { access_log: access.log }
            """
        let nested = try Self.load(yaml, path: "/srv/gw/conf/gateway.yaml")
        #expect(nested.listeners[0].tls.certificateChainFile == "/srv/gw/conf/certs/server.pem")
        #expect(nested.listeners[0].tls.privateKeyFile == "/var/lib/gw/server.key")
        #expect(nested.issuers[0].keys[0].file == "/srv/gw/conf/keys/jwks.json")
        #expect(nested.policyDirectory == "/srv/gw/conf/../policies")
        #expect(nested.logging.accessLog == "/srv/gw/conf/access.log")

        let relative = try Self.load(yaml, path: "deploy/gateway.yaml")
        #expect(relative.listeners[0].tls.certificateChainFile == "deploy/certs/server.pem")
        #expect(relative.policyDirectory == "deploy/../policies")

        // A bare file name is in the current directory: paths stay as written.
        let bare = try Self.load(yaml, path: "gateway.yaml")
        #expect(bare.listeners[0].tls.certificateChainFile == "./certs/server.pem")
        #expect(bare.issuers[0].keys[0].file == "keys/jwks.json")

        let root = try Self.load(yaml, path: "/gateway.yaml")
        #expect(root.issuers[0].keys[0].file == "/keys/jwks.json")
    }

    @Test func accessLogKeywordsAreNotPaths() throws {
        let off = try Self.load(Self.minimal(adding: "logging: { access_log: off }"))
        #expect(off.logging.accessLog == "off")
        let quoted = try Self.load(Self.minimal(adding: "logging: { access_log: \"off\" }"))
        #expect(quoted.logging.accessLog == "off")
        let stdout = try Self.load(Self.minimal(adding: "logging: { access_log: stdout }"))
        #expect(stdout.logging.accessLog == "stdout")
    }

    @Test func adminOffDisablesTheAdminListener() throws {
        #expect(try Self.load(Self.minimal(adding: "admin: off")).admin == nil)
        #expect(try Self.load(Self.minimal(adding: "admin: false")).admin == nil)
        let partial = try Self.load(Self.minimal(adding: "admin: { port: 9000 }"))
        #expect(partial.admin?.address == "127.0.0.1")
        #expect(partial.admin?.port == 9000)
        #expect(Self.errors(Self.minimal(adding: "admin: on")) == [
            "gw.yaml:10:8: error: `admin` must be a mapping or `off`, not a boolean; "
                + "hint: write `admin: { address: 127.0.0.1, port: 9901 }`, or `admin: off` to disable it",
        ])
    }

    @Test func unquotedTLSVersionIsAccepted() throws {
        let yaml = Self.minimal.replacingOccurrences(of: "private_key: server.key", with: "private_key: server.key, min_version: 1.3")
        #expect(try Self.load(yaml).listeners[0].tls.minimumVersion == .tls13)
        let old = Self.minimal.replacingOccurrences(of: "private_key: server.key", with: "private_key: server.key, min_version: \"1.1\"")
        #expect(Self.errors(old) == [
            "gw.yaml:3:81: error: unknown TLS version `1.1`; hint: did you mean `1.2`?",
        ])
    }

    @Test func theExampleConfigurationLoads() throws {
        let root = TestTools.repositoryRoot
        let path = root + "/deploy/gateway.example.yaml"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let configuration = try GatewayConfigurationLoader.load(text: text, path: path)
        #expect(configuration.listeners.map(\.port) == [8443])
        #expect(configuration.listeners[0].tls.certificateChainFile == root + "/deploy/state/certs/server.pem")
        #expect(configuration.issuers.first?.keys.allSatisfy { $0.file.hasPrefix(root + "/deploy/state/keys/") } == true)
        #expect(configuration.upstreams["service-a"]?.targets == [.init(host: "127.0.0.1", port: 8081)])
        #expect(configuration.upstreams["service-b"]?.targets == [.init(host: "127.0.0.1", port: 8082)])
        #expect(configuration.policyDirectory == root + "/deploy/../policies")
        // The example names the policies' upstreams, so the policies load against it.
        let environment = PolicyEnvironment(
            upstreams: Array(configuration.upstreams.keys), issuers: configuration.issuers.map(\.issuer))
        _ = try PolicyLoader.load(directory: configuration.policyDirectory, environment: environment)
        // And `load(file:)` reads the same.
        #expect(try GatewayConfigurationLoader.load(file: path).upstreams.count == 2)
    }

    @Test func loadFileReportsAnUnreadableFile() {
        do {
            _ = try GatewayConfigurationLoader.load(file: "/nonexistent/gateway.yaml")
            Issue.record("loaded a missing file")
        } catch {
            #expect(error.description == """
                /nonexistent/gateway.yaml:0:0: error: cannot read the configuration file; \
                hint: check that it exists and is readable
                1 error; the configuration was not loaded
                """)
        }
    }

    // MARK: - Errors

    @Test func misspeltKeySuggestsTheRightOne() {
        let yaml = Self.minimal.replacingOccurrences(of: "upstreams:", with: "upstream:")
        #expect(Self.errors(yaml) == [
            "gw.yaml:1:1: error: missing `upstreams` in the configuration",
            "gw.yaml:7:1: error: unknown key `upstream` in the configuration; hint: did you mean `upstreams`?",
        ])
        let nested = Self.minimal.replacingOccurrences(of: "keys: [", with: "key: [")
        #expect(Self.errors(nested) == [
            "gw.yaml:5:5: error: an issuer needs `keys`, `remote_keys` or `discovery`; hint: list key files under `keys`, "
                + "give the provider's JWKS under `remote_keys: { jwks_url: ... }`, "
                + "or write `discovery: true` to find it from the issuer's OpenID configuration",
            "gw.yaml:6:5: error: unknown key `key` in an issuer; hint: did you mean `keys`?",
        ])
    }

    @Test func unknownBalancingListsTheMethods() {
        let yaml = Self.minimal.replacingOccurrences(
            of: "service-a: { targets: [\"http://127.0.0.1:8081\"] }",
            with: "service-a: { targets: [\"http://127.0.0.1:8081\"], balancing: random }")
        #expect(Self.errors(yaml) == [
            "gw.yaml:8:63: error: unknown balancing method `random`; "
                + "hint: expected one of `round_robin`, `least_requests`",
        ])
    }

    @Test(arguments: [
        ("https://127.0.0.1:8081", "upstreams are reached over plain HTTP inside the network: write `http://host:port`"),
        ("http://127.0.0.1", "write `http://host:port`, as in `http://127.0.0.1:8081`: an explicit port (1-65535), no path"),
        ("http://127.0.0.1:8081/api", "write `http://host:port`, as in `http://127.0.0.1:8081`: an explicit port (1-65535), no path"),
        ("127.0.0.1:8081", "write `http://host:port`, as in `http://127.0.0.1:8081`: an explicit port (1-65535), no path"),
    ])
    func badTargetURL(url: String, hint: String) {
        let yaml = Self.minimal.replacingOccurrences(of: "\"http://127.0.0.1:8081\"", with: "\"\(url)\"")
        #expect(Self.errors(yaml) == ["gw.yaml:8:26: error: `\(url)` is not an upstream target URL; hint: \(hint)"])
    }

    @Test func portOutOfRange() {
        let yaml = Self.minimal.replacingOccurrences(of: "port: 8443", with: "port: 70000")
        #expect(Self.errors(yaml) == ["gw.yaml:2:11: error: `port` must be between 0 and 65535, not 70000"])
    }

    @Test func leewayMustBeADuration() {
        let yaml = Self.minimal.replacingOccurrences(of: "keys: [{ file: jwks.json }]", with: """
            keys: [{ file: jwks.json }]
                leeway: soon
            """)
        #expect(Self.errors(yaml) == [
            "gw.yaml:7:13: error: `leeway` must be a duration, not `soon`; "
                + "hint: write a number and a unit: `500ms`, `2s`, `5m`, `1h` or `1d`",
        ])
    }

    @Test func issuerWithoutKeys() {
        let empty = Self.minimal.replacingOccurrences(of: "keys: [{ file: jwks.json }]", with: "keys: []")
        #expect(Self.errors(empty) == [
            "gw.yaml:6:11: error: `keys` is an empty list; hint: list at least one value, or remove the key",
        ])
        let missing = Self.minimal.replacingOccurrences(of: "    keys: [{ file: jwks.json }]\n", with: "")
        #expect(Self.errors(missing) == [
            "gw.yaml:5:5: error: an issuer needs `keys`, `remote_keys` or `discovery`; hint: list key files under `keys`, "
                + "give the provider's JWKS under `remote_keys: { jwks_url: ... }`, "
                + "or write `discovery: true` to find it from the issuer's OpenID configuration",
        ])
    }

    @Test func remoteKeysLandInTheModel() throws {
        let remoteOnly = Self.minimal.replacingOccurrences(of: "keys: [{ file: jwks.json }]", with: """
            remote_keys:
                  jwks_url: https://idp.example.com/.well-known/jwks.json
                  ca_file: certs/idp-ca.pem
                  default_alg: RS256
                  min_refresh: 30s
                  max_refresh: 2h
                  max_stale: 12h
                  unknown_key_cooldown: 10s
                  fetch_timeout: 3s
            """)
        let issuer = try #require(try Self.load(remoteOnly).issuers.first)
        #expect(issuer.keys.isEmpty)
        let remote = try #require(issuer.remoteKeys)
        #expect(remote.url == "https://idp.example.com/.well-known/jwks.json")
        #expect(remote.allowInsecure == false)
        #expect(remote.caFile == "/etc/gw/certs/idp-ca.pem")
        #expect(remote.defaultAlgorithm == .RS256)
        #expect(remote.minRefresh == .seconds(30))
        #expect(remote.maxRefresh == .seconds(7200))
        #expect(remote.maxStale == .seconds(43_200))
        #expect(remote.unknownKeyCooldown == .seconds(10))
        #expect(remote.fetchTimeout == .seconds(3))

        let defaults = try #require(try Self.load(Self.minimal.replacingOccurrences(
            of: "keys: [{ file: jwks.json }]",
            with: "keys: [{ file: jwks.json }]\n    remote_keys: { jwks_url: \"http://127.0.0.1:9000/jwks\", insecure: true }"
        )).issuers.first)
        #expect(defaults.keys.count == 1)
        #expect(defaults.remoteKeys?.allowInsecure == true)
        #expect(defaults.remoteKeys?.minRefresh == GatewayConfiguration.RemoteKeys(url: "x").minRefresh)
        #expect(defaults.remoteKeys?.fetchTimeout == GatewayConfiguration.RemoteKeys(url: "x").fetchTimeout)
    }

    @Test func remoteKeysNeedHTTPSAndAValidURL() {
        func errors(_ remote: String) -> [String] {
            Self.errors(Self.minimal.replacingOccurrences(
                of: "keys: [{ file: jwks.json }]", with: "remote_keys: \(remote)"))
        }
        #expect(errors("{ jwks_url: \"http://idp.example.com/jwks\" }") == [
            "gw.yaml:6:30: error: `jwks_url` `http://idp.example.com/jwks` is plain HTTP; "
                + "hint: fetch keys over `https://`; `insecure: true` allows plain HTTP for tests",
        ])
        #expect(errors("{ jwks_url: idp.example.com/jwks }") == [
            "gw.yaml:6:30: error: `idp.example.com/jwks` is not a JWKS URL; "
                + "hint: write `https://host[:port]/path`, as in `https://idp.example.com/.well-known/jwks.json`",
        ])
        #expect(errors("{ jwks_url: \"https://idp/jwks\", min_refresh: 2h, max_refresh: 1h }") == [
            "gw.yaml:6:63: error: `min_refresh` is longer than `max_refresh`",
        ])
        #expect(errors("{ jwks_uri: \"https://idp/jwks\" }") == [
            "gw.yaml:6:18: error: missing `jwks_url` in `remote_keys`",
            "gw.yaml:6:20: error: unknown key `jwks_uri` in `remote_keys`; hint: did you mean `jwks_url`?",
        ])
    }

    @Test func yamlOneOneBooleanIsAnError() {
        let yaml = Self.minimal.replacingOccurrences(of: "private_key: server.key }", with: "private_key: server.key }\n    http2: yes")
        #expect(Self.errors(yaml) == [
            "gw.yaml:4:12: error: `http2` must be `true` or `false`, not `yes`; "
                + "hint: `yes` is a boolean only in YAML 1.1; write `true`",
        ])
        let quoted = Self.minimal.replacingOccurrences(of: "private_key: server.key }", with: "private_key: server.key }\n    http2: \"true\"")
        #expect(Self.errors(quoted) == ["gw.yaml:4:12: error: `http2` must be `true` or `false`"])
    }

    @Test func duplicateKey() {
        let yaml = Self.minimal.replacingOccurrences(of: "- port: 8443", with: "- port: 8443\n    port: 8444")
        let errors = Self.errors(yaml)
        #expect(errors.count == 1)
        #expect(errors.first?.hasPrefix("gw.yaml:2:") == true)
        #expect(errors.first?.contains("error: duplicate key `port` in a mapping") == true)
    }

    @Test func everyProblemIsReportedInFileOrder() {
        let errors = Self.errors("""
            listeners:
              - port: 8443
                tls: { certificate_chain: server.pem }
                htp2: true
            issuers:
              - issuer: https://idp.example.com
                keys: [{ file: public.pem }]
                max_lifetime: 0s
            upstreams:
              service-a: { targets: [http://a:1, http://a:1/], max_connections: 0, connect_timeout: 30 }
            limits: { max_header_bytes: 16kb, max_body_bytes: 10M }
            policies: policies
            token_cache: { enabled: on }
            logging: { level: verbose }
            """)
        #expect(errors == [
            "gw.yaml:3:10: error: missing `private_key` in `tls`",
            "gw.yaml:4:5: error: unknown key `htp2` in a listener; hint: did you mean `http2`?",
            "gw.yaml:7:12: error: the PEM key `public.pem` needs `alg`; hint: PEM carries no algorithm: "
                + "add the one the key verifies, as in `alg: RS256`; JWK and JWKS files carry their own",
            "gw.yaml:8:19: error: `max_lifetime` must be longer than 0; "
                + "hint: write a number and a unit: `500ms`, `2s`, `5m`, `1h` or `1d`",
            "gw.yaml:10:38: error: target `http://a:1/` is listed twice (as http://a:1)",
            "gw.yaml:10:69: error: `max_connections` must be at least 1, not 0",
            "gw.yaml:10:89: error: `connect_timeout` `30` has no unit; hint: write `30s` for seconds or `30ms` for milliseconds",
            "gw.yaml:11:29: error: unknown unit `kb` in `max_header_bytes` `16kb`; hint: did you mean `KB`?",
            "gw.yaml:11:51: error: unknown unit `M` in `max_body_bytes` `10M`; "
                + "hint: write `10MiB` (powers of 1024) or `10MB` (powers of 1000)",
            "gw.yaml:13:25: error: `enabled` must be `true` or `false`, not `on`; "
                + "hint: `on` is a boolean only in YAML 1.1; write `true`",
            "gw.yaml:14:19: error: unknown log level `verbose`; "
                + "hint: expected one of `trace`, `debug`, `info`, `notice`, `warning`, `error`, `critical`",
        ])
    }

    @Test func semanticChecks() {
        let errors = Self.errors("""
            listeners:
              - { port: 8443, tls: { certificate_chain: a.pem, private_key: a.key } }
              - { address: 127.0.0.1, port: 8443, tls: { certificate_chain: a.pem, private_key: a.key } }
              - { address: 127.0.0.1, port: 9901, tls: { certificate_chain: a.pem, private_key: a.key } }
            issuers:
              - { issuer: https://idp.example.com, keys: [{ file: a.json }] }
              - { issuer: https://idp.example.com, keys: [{ file: b.json, alg: rs256 }] }
            upstreams:
              service-a: { targets: [] }
              "bad name": { targets: [http://a:1] }
            policies: policies
            """)
        #expect(errors == [
            "gw.yaml:1:1: error: port 9901 on 127.0.0.1 is already taken by a listener on 127.0.0.1 (line 4); "
                + "hint: give each listener its own port; a wildcard address (`0.0.0.0`, `::`) takes the port on every address",
            "gw.yaml:3:33: error: port 8443 on 127.0.0.1 is already taken by a listener on 0.0.0.0 (line 2); "
                + "hint: give each listener its own port; a wildcard address (`0.0.0.0`, `::`) takes the port on every address",
            "gw.yaml:7:68: error: unknown algorithm `rs256`; hint: did you mean `RS256`?",
            "gw.yaml:9:25: error: `targets` is an empty list; hint: list at least one value, or remove the key",
            "gw.yaml:10:3: error: upstream name `bad name` is not valid; "
                + "hint: use letters, digits, `-`, `_` and `.` (it becomes a metric label)",
        ])
        let twice = Self.errors("""
            listeners: [{ port: 0, tls: { certificate_chain: a.pem, private_key: a.key } }]
            issuers:
              - { issuer: https://idp.example.com, keys: [{ file: a.json }] }
              - { issuer: https://idp.example.com, keys: [{ file: b.json }] }
            upstreams: {}
            policies: policies
            admin: off
            """)
        #expect(twice == [
            "gw.yaml:4:15: error: issuer `https://idp.example.com` is configured twice (first at line 3); "
                + "hint: list all of an issuer's keys under one entry",
            "gw.yaml:5:12: error: `upstreams` is empty; hint: name at least one upstream and its `targets`",
        ])
    }

    @Test func wrongTypesAndEmptyFiles() {
        #expect(Self.errors("") == [
            "gw.yaml:1:1: error: the file is empty; "
                + "hint: a gateway configuration needs `listeners`, `issuers`, `upstreams` and `policies`",
        ])
        let listenersMapping = Self.minimal.replacingOccurrences(of: """
            listeners:
              - port: 8443
                tls: { certificate_chain: server.pem, private_key: server.key }
            """, with: "listeners: { port: 8443 }")
        #expect(Self.errors(listenersMapping) == ["gw.yaml:1:12: error: `listeners` must be a list, not a mapping"])
        let quotedPort = Self.minimal.replacingOccurrences(of: "port: 8443", with: "port: \"8443\"")
        #expect(Self.errors(quotedPort) == ["gw.yaml:2:11: error: `port` must be a decimal integer"])
    }

    // MARK: - Values

    @Test(arguments: [
        ("500ms", 0.5), ("2s", 2), ("1.5s", 1.5), ("5m", 300), ("1h", 3600), ("1d", 86_400), ("0.25h", 900),
    ])
    func durations(text: String, seconds: Double) throws {
        let yaml = Self.minimal.replacingOccurrences(
            of: "service-a: { targets: [\"http://127.0.0.1:8081\"] }",
            with: "service-a: { targets: [\"http://127.0.0.1:8081\"], response_timeout: \(text) }")
        #expect(try Self.load(yaml).upstreams["service-a"]?.responseTimeout == .seconds(seconds))
    }

    @Test(arguments: ["-1s", "2 s", "1m30s", "1e3s", ".5s", "2.s", "0.5us", "400d", "0.0001s", "s"])
    func invalidDurations(text: String) {
        let yaml = Self.minimal.replacingOccurrences(
            of: "service-a: { targets: [\"http://127.0.0.1:8081\"] }",
            with: "service-a: { targets: [\"http://127.0.0.1:8081\"], response_timeout: \"\(text)\" }")
        let errors = Self.errors(yaml)
        #expect(errors.count == 1)
        #expect(errors.first?.contains("`response_timeout`") == true)
    }

    @Test(arguments: [
        ("0", 0), ("1024", 1024), ("512B", 512), ("16KiB", 16_384), ("10MiB", 10_485_760), ("1GiB", 1 << 30),
        ("1MB", 1_000_000), ("2kB", 2000), ("3KB", 3000), ("1GB", 1_000_000_000),
    ])
    func sizes(text: String, bytes: Int) throws {
        let configuration = try Self.load(Self.minimal(adding: "limits: { max_body_bytes: \(text) }"))
        #expect(configuration.limits.maxBodyBytes == bytes)
    }

    @Test(arguments: ["-1", "1.5MiB", "016KiB", "KiB", "99999999999999999999", "9999999999999GiB", "16 KiB"])
    func invalidSizes(text: String) {
        let errors = Self.errors(Self.minimal(adding: "limits: { max_body_bytes: \"\(text)\" }"))
        #expect(errors.count == 1)
        #expect(errors.first?.contains("`max_body_bytes`") == true)
    }

    @Test func zeroSizedHeadersAreRefused() {
        #expect(Self.errors(Self.minimal(adding: "limits: { max_header_bytes: 0 }")) == [
            "gw.yaml:10:29: error: `max_header_bytes` must be at least 1 byte, not 0",
        ])
    }

    @Test func errorTextMatchesThePolicyFormat() {
        let error = GatewayConfigurationLoadError(diagnostics: [
            PolicyDiagnostic(.error, at: SourceLocation(file: "b.yaml", line: 2, column: 1), "second"),
            PolicyDiagnostic(.error, at: SourceLocation(file: "a.yaml", line: 9, column: 3), "first", hint: "fix it"),
            PolicyDiagnostic(.error, at: SourceLocation(file: "b.yaml", line: 2, column: 1), "second"),
        ])
        #expect(error.description == """
            a.yaml:9:3: error: first; hint: fix it
            b.yaml:2:1: error: second
            2 errors; the configuration was not loaded
            """)
    }
}
