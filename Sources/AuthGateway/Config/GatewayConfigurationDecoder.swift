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

    static let fileKeys = [
        "listeners", "admin", "issuers", "upstreams", "limits", "policies", "identity", "token_cache", "logging",
    ]
    static let requiredFileKeys = ["listeners", "issuers", "upstreams", "policies"]
    static let listenerKeys = ["address", "port", "tls", "http2"]
    static let tlsKeys = ["certificate_chain", "private_key", "min_version"]
    static let adminKeys = ["address", "port"]
    static let issuerKeys = [
        "issuer", "audiences", "keys", "remote_keys", "leeway", "max_lifetime", "required_claims", "token_types",
    ]
    static let keyKeys = ["file", "alg", "kid"]
    static let remoteKeysKeys = [
        "jwks_url", "insecure", "ca_file", "default_alg", "min_refresh", "max_refresh", "max_stale",
        "unknown_key_cooldown", "fetch_timeout",
    ]
    static let upstreamKeys = [
        "targets", "balancing", "connect_timeout", "response_timeout", "idle_timeout", "max_connections",
        "max_connections_per_client", "unhealthy_cooldown",
    ]
    static let limitsKeys = [
        "max_header_bytes", "max_header_count", "max_uri_bytes", "max_body_bytes", "header_read_timeout",
        "idle_timeout", "body_read_timeout", "max_connections", "http2_max_concurrent_streams", "drain_timeout",
        "tls_handshake_timeout", "http2_max_resets", "http2_max_stream_errors", "http2_max_control_frames",
        "http2_rate_window", "http2_max_continuation_frames", "body_buffer_bytes", "min_body_rate", "send_timeout",
        "max_pipelined_requests",
    ]
    static let identityKeys = ["strip_prefixes", "strip_headers", "realm"]
    static let tokenCacheKeys = ["enabled", "max_entries"]
    static let loggingKeys = ["level", "format", "access_log", "max_pending"]

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
        guard let entries = reader.mapping(root, "the configuration") else { return nil }
        reader.checkKeys(entries, allowed: Self.fileKeys, in: "the configuration")
        reader.requireKeys(entries, Self.requiredFileKeys, in: "the configuration", at: root)

        var configuration = Configuration(listeners: [], issuers: [], upstreams: [:], policyDirectory: "")
        for entry in entries {
            switch entry.key {
            case "listeners": configuration.listeners = decodeListeners(entry.value)
            case "admin": configuration.admin = decodeAdmin(entry.value)
            case "issuers": configuration.issuers = decodeIssuers(entry.value)
            case "upstreams": configuration.upstreams = decodeUpstreams(entry.value)
            case "limits": configuration.limits = decodeLimits(entry.value)
            case "policies": configuration.policyDirectory = path(entry.value, "`policies`") ?? ""
            case "identity": configuration.identity = decodeIdentity(entry.value)
            case "token_cache": configuration.tokenCache = decodeTokenCache(entry.value)
            case "logging": configuration.logging = decodeLogging(entry.value)
            default: break
            }
        }
        if configuration.admin != nil, !entries.contains(where: { $0.key == "admin" }) {
            // The default admin listener takes a port too.
            let admin = configuration.admin ?? Configuration.AdminListener()
            bindings.append(Binding(address: admin.address, port: admin.port, what: "the default admin listener", node: root))
        }
        checkBindings()
        return reader.errorCount == 0 ? configuration : nil
    }

    // MARK: - Listeners

    private mutating func decodeListeners(_ node: Node) -> [Configuration.Listener] {
        guard let items = reader.sequence(node, "`listeners`") else { return [] }
        return items.compactMap { decodeListener($0) }
    }

    private mutating func decodeListener(_ node: Node) -> Configuration.Listener? {
        let errorsBefore = reader.errorCount
        guard let entries = reader.mapping(node, "a listener") else { return nil }
        reader.checkKeys(entries, allowed: Self.listenerKeys, in: "a listener")
        reader.requireKeys(entries, ["port", "tls"], in: "a listener", at: node)
        var address = "0.0.0.0"
        var port: Int?
        var tls: Configuration.TLS?
        var http2 = true
        for entry in entries {
            switch entry.key {
            case "address": address = self.address(entry.value, "`address`") ?? address
            case "port": port = integer(entry.value, "`port`", in: 0...65535)
            case "tls": tls = decodeTLS(entry.value)
            case "http2": http2 = flag(entry.value, "`http2`") ?? http2
            default: break
            }
        }
        if let port, let portNode = entries.first(where: { $0.key == "port" })?.value {
            bindings.append(Binding(address: address, port: port, what: "a listener", node: portNode))
        }
        guard reader.errorCount == errorsBefore, let port, let tls else { return nil }
        return Configuration.Listener(address: address, port: port, tls: tls, http2: http2)
    }

    private mutating func decodeTLS(_ node: Node) -> Configuration.TLS? {
        let errorsBefore = reader.errorCount
        guard let entries = reader.mapping(node, "`tls`") else { return nil }
        reader.checkKeys(entries, allowed: Self.tlsKeys, in: "`tls`")
        reader.requireKeys(entries, ["certificate_chain", "private_key"], in: "`tls`", at: node)
        var chain: String?
        var key: String?
        var version = Configuration.TLS.Version.tls12
        for entry in entries {
            switch entry.key {
            case "certificate_chain": chain = path(entry.value, "`certificate_chain`")
            case "private_key": key = path(entry.value, "`private_key`")
            case "min_version": version = tlsVersion(entry.value) ?? version
            default: break
            }
        }
        guard reader.errorCount == errorsBefore, let chain, let key else { return nil }
        return Configuration.TLS(certificateChainFile: chain, privateKeyFile: key, minimumVersion: version)
    }

    /// `"1.2"` or `"1.3"`; unquoted `1.2` (a YAML number) is accepted too, since it cannot mean anything else.
    private mutating func tlsVersion(_ node: Node) -> Configuration.TLS.Version? {
        if node.anchor == nil, case .scalar(let scalar) = node, node.tag.rawValue == Tag.Name.float.rawValue,
            let version = Configuration.TLS.Version(rawValue: scalar.string)
        {
            return version
        }
        return choice(node, "`min_version`", noun: "TLS version")
    }

    /// `admin: off` (or `false`) disables the admin listener.
    private mutating func decodeAdmin(_ node: Node) -> Configuration.AdminListener? {
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
        guard let entries = reader.mapping(node, "`admin`") else { return admin }
        reader.checkKeys(entries, allowed: Self.adminKeys, in: "`admin`")
        for entry in entries {
            switch entry.key {
            case "address": admin.address = address(entry.value, "`address`") ?? admin.address
            case "port": admin.port = integer(entry.value, "`port`", in: 0...65535) ?? admin.port
            default: break
            }
        }
        let portNode = entries.first(where: { $0.key == "port" })?.value ?? node
        bindings.append(Binding(address: admin.address, port: admin.port, what: "the admin listener", node: portNode))
        return admin
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

    private mutating func decodeIssuers(_ node: Node) -> [Configuration.Issuer] {
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

    private mutating func decodeIssuer(_ node: Node) -> (Configuration.Issuer, Node)? {
        let errorsBefore = reader.errorCount
        guard let entries = reader.mapping(node, "an issuer") else { return nil }
        reader.checkKeys(entries, allowed: Self.issuerKeys, in: "an issuer")
        reader.requireKeys(entries, ["issuer"], in: "an issuer", at: node)
        if !entries.contains(where: { $0.key == "keys" || $0.key == "remote_keys" }) {
            reader.error(
                "an issuer needs `keys` or `remote_keys`", at: node,
                hint: "list key files under `keys`, or give the provider's JWKS under `remote_keys: { jwks_url: ... }`")
        }
        var issuer = Configuration.Issuer(issuer: "", keys: [])
        var issuerNode = node
        for entry in entries {
            switch entry.key {
            case "issuer":
                issuerNode = entry.value
                issuer.issuer = nonEmptyString(entry.value, "`issuer`") ?? ""
            case "audiences":
                issuer.audiences = names(entry.value, "`audiences`") ?? []
            case "keys":
                issuer.keys = decodeKeys(entry.value)
            case "remote_keys":
                issuer.remoteKeys = decodeRemoteKeys(entry.value)
            case "leeway":
                issuer.leeway = duration(entry.value, "`leeway`", allowZero: true) ?? issuer.leeway
            case "max_lifetime":
                issuer.maxLifetime = duration(entry.value, "`max_lifetime`")
            case "required_claims":
                issuer.requiredClaims = names(entry.value, "`required_claims`") ?? []
            case "token_types":
                issuer.tokenTypes = names(entry.value, "`token_types`") ?? []
            default:
                break
            }
        }
        guard reader.errorCount == errorsBefore else { return nil }
        return (issuer, issuerNode)
    }

    private mutating func decodeKeys(_ node: Node) -> [Configuration.KeySource] {
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

    private mutating func decodeKey(_ node: Node) -> Configuration.KeySource? {
        let errorsBefore = reader.errorCount
        guard let entries = reader.mapping(node, "a key") else {
            return nil
        }
        reader.checkKeys(entries, allowed: Self.keyKeys, in: "a key")
        reader.requireKeys(entries, ["file"], in: "a key", at: node)
        var file: String?
        var algorithm: JWSAlgorithm?
        var keyID: String?
        for entry in entries {
            switch entry.key {
            case "file": file = path(entry.value, "`file`")
            case "alg": algorithm = choice(entry.value, "`alg`", noun: "algorithm")
            case "kid": keyID = nonEmptyString(entry.value, "`kid`")
            default: break
            }
        }
        // PEM carries no algorithm, and the key must fix it: catch the omission now, not at the first reload.
        if let file, algorithm == nil, [".pem", ".key", ".crt", ".cer"].contains(where: { file.lowercased().hasSuffix($0) }) {
            reader.error(
                "the PEM key `\(file)` needs `alg`", at: node,
                hint: "PEM carries no algorithm: add the one the key verifies, as in `alg: RS256`; "
                    + "JWK and JWKS files carry their own")
        }
        guard reader.errorCount == errorsBefore, let file else { return nil }
        return Configuration.KeySource(file: file, algorithm: algorithm, keyID: keyID)
    }

    private mutating func decodeRemoteKeys(_ node: Node) -> Configuration.RemoteKeys? {
        let errorsBefore = reader.errorCount
        guard let entries = reader.mapping(node, "`remote_keys`") else { return nil }
        reader.checkKeys(entries, allowed: Self.remoteKeysKeys, in: "`remote_keys`")
        reader.requireKeys(entries, ["jwks_url"], in: "`remote_keys`", at: node)
        var remote = Configuration.RemoteKeys(url: "")
        for entry in entries {
            let value = entry.value
            let what = "`\(entry.key)`"
            switch entry.key {
            case "jwks_url": remote.url = nonEmptyString(value, what) ?? ""
            case "insecure": remote.allowInsecure = flag(value, what) ?? false
            case "ca_file": remote.caFile = path(value, what)
            case "default_alg": remote.defaultAlgorithm = choice(value, what, noun: "algorithm")
            case "min_refresh": remote.minRefresh = duration(value, what) ?? remote.minRefresh
            case "max_refresh": remote.maxRefresh = duration(value, what) ?? remote.maxRefresh
            case "max_stale": remote.maxStale = duration(value, what) ?? remote.maxStale
            case "unknown_key_cooldown": remote.unknownKeyCooldown = duration(value, what) ?? remote.unknownKeyCooldown
            case "fetch_timeout": remote.fetchTimeout = duration(value, what) ?? remote.fetchTimeout
            default: break
            }
        }
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

    // MARK: - Upstreams

    private mutating func decodeUpstreams(_ node: Node) -> [String: Configuration.Upstream] {
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

    private mutating func decodeUpstream(_ node: Node, name: String) -> Configuration.Upstream? {
        let errorsBefore = reader.errorCount
        let what = "upstream `\(name)`"
        guard let entries = reader.mapping(node, what) else { return nil }
        reader.checkKeys(entries, allowed: Self.upstreamKeys, in: what)
        reader.requireKeys(entries, ["targets"], in: what, at: node)
        var upstream = Configuration.Upstream(targets: [])
        for entry in entries {
            switch entry.key {
            case "targets":
                upstream.targets = decodeTargets(entry.value)
            case "balancing":
                upstream.balancing = choice(entry.value, "`balancing`", noun: "balancing method") ?? upstream.balancing
            case "connect_timeout":
                upstream.connectTimeout = duration(entry.value, "`connect_timeout`") ?? upstream.connectTimeout
            case "response_timeout":
                upstream.responseTimeout = duration(entry.value, "`response_timeout`") ?? upstream.responseTimeout
            case "idle_timeout":
                upstream.idleTimeout = duration(entry.value, "`idle_timeout`") ?? upstream.idleTimeout
            case "max_connections":
                upstream.maxConnections = integer(entry.value, "`max_connections`", in: 1...Int.max)
                    ?? upstream.maxConnections
            case "max_connections_per_client":
                upstream.maxConnectionsPerClient = integer(entry.value, "`max_connections_per_client`", in: 1...Int.max)
            case "unhealthy_cooldown":
                upstream.unhealthyCooldown = duration(entry.value, "`unhealthy_cooldown`") ?? upstream.unhealthyCooldown
            default:
                break
            }
        }
        return reader.errorCount == errorsBefore ? upstream : nil
    }

    private mutating func decodeTargets(_ node: Node) -> [Configuration.Target] {
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

    private mutating func decodeLimits(_ node: Node) -> Configuration.Limits {
        var limits = Configuration.Limits()
        guard let entries = reader.mapping(node, "`limits`") else { return limits }
        reader.checkKeys(entries, allowed: Self.limitsKeys, in: "`limits`")
        for entry in entries {
            let value = entry.value
            let what = "`\(entry.key)`"
            switch entry.key {
            case "max_header_bytes": limits.maxHeaderBytes = size(value, what, minimum: 1) ?? limits.maxHeaderBytes
            case "max_header_count":
                limits.maxHeaderCount = integer(value, what, in: 1...Int.max) ?? limits.maxHeaderCount
            case "max_uri_bytes": limits.maxURIBytes = size(value, what, minimum: 1) ?? limits.maxURIBytes
            case "max_body_bytes": limits.maxBodyBytes = size(value, what, minimum: 0) ?? limits.maxBodyBytes
            case "header_read_timeout": limits.headerReadTimeout = duration(value, what) ?? limits.headerReadTimeout
            case "idle_timeout": limits.idleTimeout = duration(value, what) ?? limits.idleTimeout
            case "body_read_timeout": limits.bodyReadTimeout = duration(value, what) ?? limits.bodyReadTimeout
            case "max_connections":
                limits.maxConnections = integer(value, what, in: 1...Int.max) ?? limits.maxConnections
            case "http2_max_concurrent_streams":
                limits.http2MaxConcurrentStreams = integer(value, what, in: 1...Int(Int32.max))
                    ?? limits.http2MaxConcurrentStreams
            case "drain_timeout": limits.drainTimeout = duration(value, what) ?? limits.drainTimeout
            case "tls_handshake_timeout":
                limits.tlsHandshakeTimeout = duration(value, what) ?? limits.tlsHandshakeTimeout
            case "http2_max_resets": limits.http2MaxResets = integer(value, what, in: 1...Int.max) ?? limits.http2MaxResets
            case "http2_max_stream_errors":
                limits.http2MaxStreamErrors = integer(value, what, in: 1...Int.max) ?? limits.http2MaxStreamErrors
            case "http2_max_control_frames":
                limits.http2MaxControlFrames = integer(value, what, in: 1...Int.max) ?? limits.http2MaxControlFrames
            case "http2_rate_window": limits.http2RateWindow = duration(value, what) ?? limits.http2RateWindow
            case "body_buffer_bytes": limits.bodyBufferBytes = size(value, what, minimum: 0) ?? limits.bodyBufferBytes
            case "min_body_rate": limits.minBodyRate = size(value, what, minimum: 0) ?? limits.minBodyRate
            case "send_timeout": limits.sendTimeout = duration(value, what) ?? limits.sendTimeout
            case "max_pipelined_requests":
                limits.maxPipelinedRequests = integer(value, what, in: 1...Int.max) ?? limits.maxPipelinedRequests
            case "http2_max_continuation_frames":
                limits.http2MaxContinuationFrames = integer(value, what, in: 0...Int.max) ?? limits.http2MaxContinuationFrames
            default: break
            }
        }
        return limits
    }

    private mutating func decodeIdentity(_ node: Node) -> Configuration.Identity {
        var identity = Configuration.Identity()
        guard let entries = reader.mapping(node, "`identity`") else { return identity }
        reader.checkKeys(entries, allowed: Self.identityKeys, in: "`identity`")
        for entry in entries {
            switch entry.key {
            case "strip_prefixes":
                identity.stripPrefixes = headerNames(entry.value, "`strip_prefixes`") ?? identity.stripPrefixes
            case "strip_headers":
                identity.stripHeaders = headerNames(entry.value, "`strip_headers`") ?? identity.stripHeaders
            case "realm":
                identity.realm = realm(entry.value) ?? identity.realm
            default:
                break
            }
        }
        return identity
    }

    private mutating func decodeTokenCache(_ node: Node) -> Configuration.TokenCache {
        var cache = Configuration.TokenCache()
        guard let entries = reader.mapping(node, "`token_cache`") else { return cache }
        reader.checkKeys(entries, allowed: Self.tokenCacheKeys, in: "`token_cache`")
        for entry in entries {
            switch entry.key {
            case "enabled": cache.enabled = flag(entry.value, "`enabled`") ?? cache.enabled
            case "max_entries": cache.maxEntries = integer(entry.value, "`max_entries`", in: 1...Int.max) ?? cache.maxEntries
            default: break
            }
        }
        return cache
    }

    private mutating func decodeLogging(_ node: Node) -> Configuration.Logging {
        var logging = Configuration.Logging()
        guard let entries = reader.mapping(node, "`logging`") else { return logging }
        reader.checkKeys(entries, allowed: Self.loggingKeys, in: "`logging`")
        for entry in entries {
            switch entry.key {
            case "level":
                if let level: Logger.Level = choice(entry.value, "`level`", noun: "log level") {
                    logging.level = level.rawValue
                }
            case "format":
                if let format: Configuration.LogFormat = choice(entry.value, "`format`", noun: "log format") {
                    logging.format = format
                }
            case "access_log":
                logging.accessLog = accessLog(entry.value) ?? logging.accessLog
            case "max_pending":
                logging.maxPendingBytes = size(entry.value, "`max_pending`", minimum: 64 * 1024) ?? logging.maxPendingBytes
            default:
                break
            }
        }
        return logging
    }

    /// `stdout`, `off` (also unquoted, which YAML reads as `false`), or a file path.
    private mutating func accessLog(_ node: Node) -> String? {
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
