import JOSE
import Logging
import Yams
import GatewayPolicy

/// Reads one gateway configuration file into a ``GatewayConfiguration``, reporting every problem it finds.
///
/// Each section is decoded on its own, so one mistake does not hide the next; the configuration is returned
/// only if the reader collected no error. Typed reads of single values are in `+Values.swift`.
struct GatewayConfigurationDecoder {
    typealias Configuration = GatewayConfiguration

    /// An address and port something listens on, remembered to find two listeners on one socket.
    struct Binding {
        let address: String
        let port: Int
        let what: String
        let node: Node

        /// Whether both cannot be bound at once: the same port on the same address, or on a wildcard address
        /// (which takes the port on every address). Port 0 is a fresh port each time.
        func clashes(with other: Binding) -> Bool {
            guard port != 0, port == other.port else { return false }
            let wildcards = ["0.0.0.0", "::"]
            return address == other.address || wildcards.contains(address) || wildcards.contains(other.address)
        }
    }

    var reader: YAMLReader
    /// The directory relative paths are resolved against: the configuration file's; empty for the current one.
    let directory: String
    private var bindings: [Binding] = []
    /// Where each file path was written (``GatewayConfiguration/pathLocations``).
    var pathLocations: [String: SourceLocation] = [:]
    /// `key_fetch.proxy`: the proxy of every remote key fetch whose issuer names none.
    var defaultProxy: String?

    init(file: String) {
        reader = YAMLReader(file: file)
        directory = Self.directory(of: file)
    }

    /// The configuration, or `nil` if anything is wrong (the problems are in `reader.diagnostics`).
    mutating func decode(_ root: Node?) -> Configuration? {
        guard let root else {
            reader.error(
                "the file is empty", at: SourceLocation(file: reader.file, line: 1, column: 1),
                hint: "a gateway configuration needs `listeners`, `issuers`, `upstreams` and `policies`")
            return nil
        }
        var configuration = Configuration(listeners: [], issuers: [], upstreams: [:], policyDirectory: "")
        guard
            let entries = decodeSection(
                root, "the configuration", into: &configuration, Self.fileFields,
                required: ["listeners", "issuers", "upstreams", "policies"])
        else { return nil }
        if configuration.admin != nil, !entries.contains(where: { $0.key == "admin" }) {
            // The default admin listener takes a port too.
            let admin = configuration.admin ?? Configuration.AdminListener()
            bindings.append(Binding(address: admin.address, port: admin.port, what: "the default admin listener", node: root))
        }
        checkBindings()
        configuration.issuers = configuration.issuers.map { applyDefaultProxy(to: $0) }
        configuration.pathLocations = pathLocations
        return reader.errorCount == 0 ? configuration : nil
    }

    static var fileFields: [ConfigurationField<Configuration>] {
        [
            .custom("listeners") { $2.listeners = $0.decodeListeners($1) },
            .custom("admin") { $2.admin = $0.decodeAdmin($1) },
            .custom("issuers") { $2.issuers = $0.decodeIssuers($1) },
            .custom("upstreams") { $2.upstreams = $0.decodeUpstreams($1) },
            .custom("limits") { $2.limits = $0.decodeLimits($1) },
            .custom("policies") { $2.policyDirectory = $0.path($1, "`policies`") ?? "" },
            .custom("identity") { $2.identity = $0.decodeIdentity($1) },
            .custom("token_cache") { $2.tokenCache = $0.decodeTokenCache($1) },
            .custom("logging") { $2.logging = $0.decodeLogging($1) },
            .custom("rate_limits") { $2.rateLimits = $0.decodeRateLimits($1) },
            .custom("key_fetch") { decoder, node, _ in decoder.decodeKeyFetch(node) },
        ]
    }

    // MARK: - Listeners

    mutating func decodeListeners(_ node: Node) -> [Configuration.Listener] {
        guard let items = reader.sequence(node, "`listeners`") else { return [] }
        return items.compactMap { decodeListener($0) }
    }

    /// A listener or its TLS settings as read so far; required keys stay `nil` until read.
    struct ListenerDraft {
        var address = "0.0.0.0"
        var port: Int?
        var tls: Configuration.TLS?
        var http2 = true
        var mode = ListenerModeName.proxy
        var decision = DecisionDraft()
    }

    static var listenerFields: [ConfigurationField<ListenerDraft>] {
        [
            .value("address", \.address) { $0.address($1, $2) },
            .optional("port", \.port) { $0.integer($1, $2, in: 0...65535) },
            .optional("tls", \.tls) { decoder, node, _ in decoder.decodeTLS(node) },
            .flag("http2", \.http2),
            .choice("mode", \.mode, noun: "listener mode"),
        ] + decisionFields
    }

    private mutating func decodeListener(_ node: Node) -> Configuration.Listener? {
        let errorsBefore = reader.errorCount
        var draft = ListenerDraft()
        guard let entries = decodeSection(node, "a listener", into: &draft, Self.listenerFields, required: ["port", "tls"])
        else { return nil }
        if let port = draft.port, let portNode = entries.first(where: { $0.key == "port" })?.value {
            bindings.append(Binding(address: draft.address, port: port, what: "a listener", node: portNode))
        }
        let mode = listenerMode(draft, entries, at: node)
        guard reader.errorCount == errorsBefore, let port = draft.port, let tls = draft.tls, let mode else { return nil }
        return Configuration.Listener(address: draft.address, port: port, tls: tls, http2: draft.http2, mode: mode)
    }

    struct TLSDraft {
        var chain: String?
        var key: String?
        var version = Configuration.TLS.Version.tls12
    }

    static var tlsFields: [ConfigurationField<TLSDraft>] {
        [
            .optional("certificate_chain", \.chain) { $0.path($1, $2) },
            .optional("private_key", \.key) { $0.path($1, $2) },
            .value("min_version", \.version) { decoder, node, _ in decoder.tlsVersion(node) },
        ]
    }

    mutating func decodeTLS(_ node: Node) -> Configuration.TLS? {
        let errorsBefore = reader.errorCount
        var draft = TLSDraft()
        guard decodeSection(node, "`tls`", into: &draft, Self.tlsFields, required: ["certificate_chain", "private_key"]) != nil
        else { return nil }
        guard reader.errorCount == errorsBefore, let chain = draft.chain, let key = draft.key else { return nil }
        return Configuration.TLS(certificateChainFile: chain, privateKeyFile: key, minimumVersion: draft.version)
    }

    /// `"1.2"` or `"1.3"`; unquoted `1.2` (a YAML number) is accepted too, since it cannot mean anything else.
    mutating func tlsVersion(_ node: Node) -> Configuration.TLS.Version? {
        if node.anchor == nil, case .scalar(let scalar) = node, node.tag.rawValue == Tag.Name.float.rawValue,
            let version = Configuration.TLS.Version(rawValue: scalar.string)
        {
            return version
        }
        return choice(node, "`min_version`", noun: "TLS version")
    }

    /// `admin: off` (or `false`) disables the admin listener.
    mutating func decodeAdmin(_ node: Node) -> Configuration.AdminListener? {
        if node.anchor == nil, case .scalar(let scalar) = node, ["off", "false"].contains(scalar.string),
            [Tag.Name.bool.rawValue, Tag.Name.str.rawValue].contains(node.tag.rawValue)
        {
            return nil
        }
        if case .scalar = node {
            reader.error(
                "`admin` must be a mapping or `off`, not \(YAMLReader.describe(node))", at: node,
                hint: "write `admin: { address: 127.0.0.1, port: 9901 }`, or `admin: off` to disable it")
            return nil
        }
        var admin = Configuration.AdminListener()
        guard let entries = decodeSection(node, "`admin`", into: &admin, Self.adminFields) else { return admin }
        let portNode = entries.first(where: { $0.key == "port" })?.value ?? node
        bindings.append(Binding(address: admin.address, port: admin.port, what: "the admin listener", node: portNode))
        return admin
    }

    static var adminFields: [ConfigurationField<Configuration.AdminListener>] {
        [.value("address", \.address) { $0.address($1, $2) }, .integer("port", \.port, in: 0...65535)]
    }

    /// Reports every listener whose socket another one, declared earlier, already takes.
    private mutating func checkBindings() {
        for (index, binding) in bindings.enumerated() {
            guard let earlier = bindings[..<index].first(where: { $0.clashes(with: binding) }) else { continue }
            reader.error(
                "port \(binding.port) on \(binding.address) is already taken by \(earlier.what) on "
                    + "\(earlier.address) (line \(reader.location(earlier.node).line))",
                at: binding.node,
                hint: "give each listener its own port; a wildcard address (`0.0.0.0`, `::`) takes the port on every address")
        }
    }

    // MARK: - Issuers

    mutating func decodeIssuers(_ node: Node) -> [Configuration.Issuer] {
        guard let items = reader.sequence(node, "`issuers`") else { return [] }
        var issuers: [Configuration.Issuer] = []
        var seen: [String: Node] = [:]
        for item in items {
            guard let decoded = decodeIssuer(item) else { continue }
            let (issuer, issuerNode) = decoded
            if let first = seen[issuer.issuer] {
                reader.error(
                    "issuer `\(issuer.issuer)` is configured twice (first at line \(reader.location(first).line))",
                    at: issuerNode, hint: "list all of an issuer's keys under one entry")
                continue
            }
            seen[issuer.issuer] = issuerNode
            issuers.append(issuer)
        }
        return issuers
    }

    static var issuerFields: [ConfigurationField<Configuration.Issuer>] {
        [
            .value("issuer", \.issuer) { $0.nonEmptyString($1, $2) },
            .custom("audiences") { $2.audiences = $0.names($1, "`audiences`") ?? [] },
            .custom("keys") { $2.keys = $0.decodeKeys($1) },
            .custom("remote_keys") { $2.remoteKeys = $0.decodeRemoteKeys($1) },
            .custom("discovery") { $2.remoteKeys = $0.decodeDiscovery($1) },
            .custom("openid_configuration") { decoder, node, issuer in
                issuer.remoteKeys = decoder.discoveryURL(node, "`openid_configuration`").map {
                    Configuration.RemoteKeys(url: $0, discovery: true)
                }
            },
            .duration("leeway", \.leeway, allowZero: true),
            .optional("max_lifetime", \.maxLifetime) { $0.duration($1, $2) },
            .custom("required_claims") { $2.requiredClaims = $0.names($1, "`required_claims`") ?? [] },
            .custom("token_types") { $2.tokenTypes = $0.names($1, "`token_types`") ?? [] },
        ]
    }

    private mutating func decodeIssuer(_ node: Node) -> (Configuration.Issuer, Node)? {
        let errorsBefore = reader.errorCount
        var issuer = Configuration.Issuer(issuer: "", keys: [])
        guard let entries = decodeSection(node, "an issuer", into: &issuer, Self.issuerFields, required: ["issuer"])
        else { return nil }
        if !entries.contains(where: { ["keys", "remote_keys", "discovery", "openid_configuration"].contains($0.key) }) {
            reader.error(
                "an issuer needs `keys`, `remote_keys` or `discovery`", at: node,
                hint: "list key files under `keys`, give the provider's JWKS under `remote_keys: { jwks_url: ... }`, "
                    + "or write `discovery: true` to find it from the issuer's OpenID configuration")
        }
        checkDiscovery(of: &issuer, entries, at: node)
        guard reader.errorCount == errorsBefore else { return nil }
        return (issuer, entries.first(where: { $0.key == "issuer" })?.value ?? node)
    }

    mutating func decodeKeys(_ node: Node) -> [Configuration.KeySource] {
        guard let items = reader.sequence(node, "`keys`") else { return [] }
        var keys: [Configuration.KeySource] = []
        for item in items {
            guard let key = decodeKey(item) else { continue }
            if keys.contains(where: { $0.file == key.file && $0.algorithm == key.algorithm && $0.keyID == key.keyID }) {
                reader.error("key file `\(key.file)` is listed twice", at: item)
                continue
            }
            keys.append(key)
        }
        return keys
    }

    struct KeyDraft {
        var file: String?
        var algorithm: JWSAlgorithm?
        var keyID: String?
    }

    static var keyFields: [ConfigurationField<KeyDraft>] {
        [
            .optional("file", \.file) { $0.path($1, $2) },
            .optional("alg", \.algorithm) { $0.choice($1, $2, noun: "algorithm") },
            .optional("kid", \.keyID) { $0.nonEmptyString($1, $2) },
        ]
    }

    private mutating func decodeKey(_ node: Node) -> Configuration.KeySource? {
        let errorsBefore = reader.errorCount
        var draft = KeyDraft()
        guard decodeSection(node, "a key", into: &draft, Self.keyFields, required: ["file"]) != nil else { return nil }
        // PEM carries no algorithm, and the key must fix it: catch the omission now, not at the first reload.
        if let file = draft.file, draft.algorithm == nil,
            [".pem", ".key", ".crt", ".cer"].contains(where: { file.lowercased().hasSuffix($0) })
        {
            reader.error(
                "the PEM key `\(file)` needs `alg`", at: node,
                hint: "PEM carries no algorithm: add the one the key verifies, as in `alg: RS256`; "
                    + "JWK and JWKS files carry their own")
        }
        guard reader.errorCount == errorsBefore, let file = draft.file else { return nil }
        return Configuration.KeySource(file: file, algorithm: draft.algorithm, keyID: draft.keyID)
    }

    mutating func decodeRemoteKeys(_ node: Node) -> Configuration.RemoteKeys? {
        let errorsBefore = reader.errorCount
        var remote = Configuration.RemoteKeys(url: "")
        guard let entries = decodeSection(node, "`remote_keys`", into: &remote, Self.remoteKeysFields, required: ["jwks_url"])
        else { return nil }
        if let urlNode = entries.first(where: { $0.key == "jwks_url" })?.value, !remote.url.isEmpty {
            if let url = ParsedURL(remote.url), (1...65535).contains(url.port), !url.host.isEmpty,
                !remote.url.contains("#"), !remote.url.contains(where: { $0.isWhitespace })
            {
                if !url.isHTTPS, !remote.allowInsecure {
                    reader.error(
                        "`jwks_url` `\(remote.url)` is plain HTTP", at: urlNode,
                        hint: "fetch keys over `https://`; `insecure: true` allows plain HTTP for tests")
                }
            } else {
                reader.error(
                    "`\(remote.url)` is not a JWKS URL", at: urlNode,
                    hint: "write `https://host[:port]/path`, as in `https://idp.example.com/.well-known/jwks.json`")
            }
        }
        if remote.minRefresh > remote.maxRefresh {
            let at = entries.first(where: { $0.key == "min_refresh" })?.value ?? node
            reader.error("`min_refresh` is longer than `max_refresh`", at: at)
        }
        return reader.errorCount == errorsBefore ? remote : nil
    }

    static var remoteKeysFields: [ConfigurationField<Configuration.RemoteKeys>] {
        [
            .value("jwks_url", \.url) { $0.nonEmptyString($1, $2) },
            .flag("insecure", \.allowInsecure),
            .optional("ca_file", \.caFile) { $0.path($1, $2) },
            .optional("default_alg", \.defaultAlgorithm) { $0.choice($1, $2, noun: "algorithm") },
            .optional("proxy", \.proxy) { $0.proxy($1, $2, allowDirect: true) },
            .duration("min_refresh", \.minRefresh),
            .duration("max_refresh", \.maxRefresh),
            .duration("max_stale", \.maxStale),
            .duration("unknown_key_cooldown", \.unknownKeyCooldown),
            .duration("fetch_timeout", \.fetchTimeout),
        ]
    }

    // MARK: - Upstreams

    mutating func decodeUpstreams(_ node: Node) -> [String: Configuration.Upstream] {
        guard let entries = reader.mapping(node, "`upstreams`") else { return [:] }
        if entries.isEmpty {
            reader.error("`upstreams` is empty", at: node, hint: "name at least one upstream and its `targets`")
        }
        var upstreams: [String: Configuration.Upstream] = [:]
        for entry in entries {
            let nameIsValid = !entry.key.isEmpty && entry.key.count <= 100 && entry.key.unicodeScalars.allSatisfy {
                $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_.".unicodeScalars.contains($0))
            }
            if !nameIsValid {
                reader.error(
                    "upstream name `\(entry.key)` is not valid", at: entry.keyNode,
                    hint: "use letters, digits, `-`, `_` and `.` (it becomes a metric label)")
            }
            if let upstream = decodeUpstream(entry.value, name: entry.key), nameIsValid {
                upstreams[entry.key] = upstream
            }
        }
        return upstreams
    }

    static var upstreamFields: [ConfigurationField<Configuration.Upstream>] {
        [
            .custom("targets") { $2.targets = $0.decodeTargets($1) },
            .choice("balancing", \.balancing, noun: "balancing method"),
            .duration("connect_timeout", \.connectTimeout),
            .duration("response_timeout", \.responseTimeout),
            .duration("idle_timeout", \.idleTimeout),
            .integer("max_connections", \.maxConnections, in: 1...Int.max),
            .optional("max_connections_per_client", \.maxConnectionsPerClient) { $0.integer($1, $2, in: 1...Int.max) },
            .duration("unhealthy_cooldown", \.unhealthyCooldown),
        ]
    }

    private mutating func decodeUpstream(_ node: Node, name: String) -> Configuration.Upstream? {
        let errorsBefore = reader.errorCount
        var upstream = Configuration.Upstream(targets: [])
        decodeSection(node, "upstream `\(name)`", into: &upstream, Self.upstreamFields, required: ["targets"])
        return reader.errorCount == errorsBefore ? upstream : nil
    }

    mutating func decodeTargets(_ node: Node) -> [Configuration.Target] {
        guard let urls = reader.strings(node, "`targets`") else { return [] }
        var targets: [Configuration.Target] = []
        for (url, item) in urls {
            guard let target = Configuration.Target(url: url) else {
                let hint = url.hasPrefix("https://")
                    ? "upstreams are reached over plain HTTP inside the network: write `http://host:port`"
                    : "write `http://host:port`, as in `http://127.0.0.1:8081`: an explicit port (1-65535), no path"
                reader.error("`\(url)` is not an upstream target URL", at: item, hint: hint)
                continue
            }
            if targets.contains(target) {
                reader.error("target `\(url)` is listed twice (as \(target))", at: item)
                continue
            }
            targets.append(target)
        }
        return targets
    }

    // MARK: - Limits, identity, cache, logging

    static var limitsFields: [ConfigurationField<Configuration.Limits>] {
        [
            .size("max_header_bytes", \.maxHeaderBytes, minimum: 1),
            .integer("max_header_count", \.maxHeaderCount, in: 1...Int.max),
            .size("max_uri_bytes", \.maxURIBytes, minimum: 1),
            .size("max_body_bytes", \.maxBodyBytes, minimum: 0),
            .duration("header_read_timeout", \.headerReadTimeout),
            .duration("idle_timeout", \.idleTimeout),
            .duration("body_read_timeout", \.bodyReadTimeout),
            .integer("max_connections", \.maxConnections, in: 1...Int.max),
            .integer("http2_max_concurrent_streams", \.http2MaxConcurrentStreams, in: 1...Int(Int32.max)),
            .duration("drain_timeout", \.drainTimeout),
            .duration("tls_handshake_timeout", \.tlsHandshakeTimeout),
            .integer("http2_max_resets", \.http2MaxResets, in: 1...Int.max),
            .integer("http2_max_stream_errors", \.http2MaxStreamErrors, in: 1...Int.max),
            .integer("http2_max_control_frames", \.http2MaxControlFrames, in: 1...Int.max),
            .duration("http2_rate_window", \.http2RateWindow),
            .integer("http2_max_continuation_frames", \.http2MaxContinuationFrames, in: 0...Int.max),
            .size("body_buffer_bytes", \.bodyBufferBytes, minimum: 0),
            .size("min_body_rate", \.minBodyRate, minimum: 0),
            .duration("send_timeout", \.sendTimeout),
        ]
    }

    mutating func decodeLimits(_ node: Node) -> Configuration.Limits {
        var limits = Configuration.Limits()
        decodeSection(node, "`limits`", into: &limits, Self.limitsFields)
        return limits
    }

    static var identityFields: [ConfigurationField<Configuration.Identity>] {
        [
            .value("strip_prefixes", \.stripPrefixes) { $0.headerNames($1, $2) },
            .value("strip_headers", \.stripHeaders) { $0.headerNames($1, $2) },
            .value("realm", \.realm) { decoder, node, _ in decoder.realm(node) },
        ]
    }

    mutating func decodeIdentity(_ node: Node) -> Configuration.Identity {
        var identity = Configuration.Identity()
        decodeSection(node, "`identity`", into: &identity, Self.identityFields)
        return identity
    }

    static var tokenCacheFields: [ConfigurationField<Configuration.TokenCache>] {
        [.flag("enabled", \.enabled), .integer("max_entries", \.maxEntries, in: 1...Int.max)]
    }

    mutating func decodeTokenCache(_ node: Node) -> Configuration.TokenCache {
        var cache = Configuration.TokenCache()
        decodeSection(node, "`token_cache`", into: &cache, Self.tokenCacheFields)
        return cache
    }

    static var loggingFields: [ConfigurationField<Configuration.Logging>] {
        [
            .value("level", \.level) { decoder, node, what in
                (decoder.choice(node, what, noun: "log level") as Logger.Level?)?.rawValue
            },
            .choice("format", \.format, noun: "log format"),
            .value("access_log", \.accessLog) { decoder, node, _ in decoder.accessLog(node) },
            .size("max_pending", \.maxPendingBytes, minimum: 64 * 1024),
        ]
    }

    mutating func decodeLogging(_ node: Node) -> Configuration.Logging {
        var logging = Configuration.Logging()
        decodeSection(node, "`logging`", into: &logging, Self.loggingFields)
        return logging
    }

    /// `stdout`, `off` (also unquoted, which YAML reads as `false`), or a file path.
    mutating func accessLog(_ node: Node) -> String? {
        if node.anchor == nil, case .scalar(let scalar) = node, node.tag.rawValue == Tag.Name.bool.rawValue,
            ["off", "false"].contains(scalar.string)
        {
            return "off"
        }
        guard let text = reader.string(node, "`access_log`") else { return nil }
        switch text {
        case "stdout", "off":
            return text
        case "stderr":
            reader.error(
                "`access_log` cannot be `stderr`", at: node,
                hint: "the access log is `stdout`, `off` or a file; write `/dev/stderr` for the standard error")
            return nil
        default:
            return path(node, "`access_log`")
        }
    }
}
