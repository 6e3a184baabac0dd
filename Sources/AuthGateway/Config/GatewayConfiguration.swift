import JOSE
import GatewayPolicy

/// The operators' configuration: listeners, TLS, issuers and keys, upstreams, limits, logging.
///
/// A plain value: ``GatewayConfigurationLoader`` builds it from YAML, tests and the demo build it in code.
/// Durations are `Duration`s, sizes in bytes.
package struct GatewayConfiguration: Sendable {
    package var listeners: [Listener]
    package var admin: AdminListener?
    package var issuers: [Issuer]
    package var upstreams: [String: Upstream]
    package var limits: Limits
    /// The policy directory.
    package var policyDirectory: String
    package var identity: Identity
    package var tokenCache: TokenCache
    package var logging: Logging
    /// Where `rate_limit` buckets live: the local table's bound, and Redis for `store: redis`.
    package var rateLimits = RateLimits()
    /// Where each file path was written in the configuration file, so that a file that cannot be read is
    /// reported at its line (empty for a configuration built in code).
    package var pathLocations: [String: SourceLocation] = [:]

    /// `path`, preceded by `file:line:column: ` where the configuration file names it.
    package static func located(_ path: String, in locations: [String: SourceLocation]) -> String {
        (locations[path].map { "\($0): " } ?? "") + path
    }

    package init(
        listeners: [Listener], admin: AdminListener? = AdminListener(), issuers: [Issuer],
        upstreams: [String: Upstream], limits: Limits = Limits(), policyDirectory: String,
        identity: Identity = Identity(), tokenCache: TokenCache = TokenCache(), logging: Logging = Logging()
    ) {
        self.listeners = listeners
        self.admin = admin
        self.issuers = issuers
        self.upstreams = upstreams
        self.limits = limits
        self.policyDirectory = policyDirectory
        self.identity = identity
        self.tokenCache = tokenCache
        self.logging = logging
    }

    /// One HTTPS listener.
    package struct Listener: Sendable {
        package var address: String
        /// 0 lets the system choose (tests).
        package var port: Int
        package var tls: TLS
        package var http2: Bool
        /// Proxy (the default), or decision mode (docs/CONFIGURATION.md, "Decision mode").
        package var mode: ListenerMode

        package init(address: String = "0.0.0.0", port: Int, tls: TLS, http2: Bool = true, mode: ListenerMode = .proxy) {
            self.address = address
            self.port = port
            self.tls = tls
            self.http2 = http2
            self.mode = mode
        }
    }

    package struct TLS: Sendable {
        /// PEM file with the server certificate first, then intermediates.
        package var certificateChainFile: String
        package var privateKeyFile: String
        package var minimumVersion: Version

        package enum Version: String, Sendable, CaseIterable {
            case tls12 = "1.2"
            case tls13 = "1.3"
        }

        package init(certificateChainFile: String, privateKeyFile: String, minimumVersion: Version = .tls12) {
            self.certificateChainFile = certificateChainFile
            self.privateKeyFile = privateKeyFile
            self.minimumVersion = minimumVersion
        }
    }

    /// Plain-HTTP admin listener for `/metrics`, `/healthz`, `/readyz`; loopback by default.
    package struct AdminListener: Sendable {
        package var address: String
        package var port: Int

        package init(address: String = "127.0.0.1", port: Int = 9901) {
            self.address = address
            self.port = port
        }
    }

    /// A token issuer and the keys that verify its tokens.
    package struct Issuer: Sendable {
        /// The exact `iss` value.
        package var issuer: String
        /// Accepted `aud` values; empty means `aud` is not checked.
        package var audiences: [String]
        package var keys: [KeySource]
        /// Keys published by the identity provider, fetched and refreshed in the background.
        package var remoteKeys: RemoteKeys?
        package var leeway: Duration
        package var maxLifetime: Duration?
        package var requiredClaims: [String]
        /// Accepted header `typ` values (e.g. `at+jwt`); empty: any. Keeps the issuer's other kinds of JWT
        /// (ID tokens, logout tokens) from being used as access tokens (RFC 8725 section 3.11).
        package var tokenTypes: [String]

        package init(
            issuer: String, audiences: [String] = [], keys: [KeySource], remoteKeys: RemoteKeys? = nil,
            leeway: Duration = .seconds(60), maxLifetime: Duration? = nil, requiredClaims: [String] = [], tokenTypes: [String] = []
        ) {
            self.issuer = issuer
            self.audiences = audiences
            self.keys = keys
            self.remoteKeys = remoteKeys
            self.leeway = leeway
            self.maxLifetime = maxLifetime
            self.requiredClaims = requiredClaims
            self.tokenTypes = tokenTypes
        }
    }

    /// A remote JWKS (an identity provider's `jwks_uri`), named directly or found by OpenID Connect discovery.
    package struct RemoteKeys: Sendable, Hashable {
        /// `https://...`; `http://` only with ``allowInsecure``. The JWKS, or with ``discovery`` the provider's
        /// OpenID configuration document, which names the JWKS.
        package var url: String
        /// Whether ``url`` is an OpenID configuration document (`discovery`, `openid_configuration`): its
        /// `issuer` must equal the issuer exactly, and its `jwks_uri` is where the keys are.
        package var discovery: Bool
        /// The HTTP proxy every fetch goes through (CONNECT, then TLS to the provider), as written:
        /// `http://[user:password@]host:port`; `nil`: direct. See ``ProxyURL``.
        package var proxy: String?
        package var allowInsecure: Bool
        /// PEM CA bundle to verify the provider's certificate (default: the system's trust store).
        package var caFile: String?
        /// The algorithm of published keys that carry no `alg` (some providers omit it).
        package var defaultAlgorithm: JWSAlgorithm?
        /// Refresh interval bounds; `Cache-Control: max-age` is honoured within them.
        package var minRefresh: Duration
        package var maxRefresh: Duration
        /// How long the last good key set keeps serving while the provider is unreachable.
        package var maxStale: Duration
        /// The least time between two re-fetches caused by an unknown `kid`.
        package var unknownKeyCooldown: Duration
        package var fetchTimeout: Duration

        package init(
            url: String, discovery: Bool = false, proxy: String? = nil, allowInsecure: Bool = false, caFile: String? = nil,
            defaultAlgorithm: JWSAlgorithm? = nil, minRefresh: Duration = .seconds(60), maxRefresh: Duration = .seconds(3600),
            maxStale: Duration = .seconds(86_400), unknownKeyCooldown: Duration = .seconds(30), fetchTimeout: Duration = .seconds(5)
        ) {
            self.url = url
            self.discovery = discovery
            self.proxy = proxy
            self.allowInsecure = allowInsecure
            self.caFile = caFile
            self.defaultAlgorithm = defaultAlgorithm
            self.minRefresh = minRefresh
            self.maxRefresh = maxRefresh
            self.maxStale = maxStale
            self.unknownKeyCooldown = unknownKeyCooldown
            self.fetchTimeout = fetchTimeout
        }
    }

    /// The OpenID configuration URL of `issuer` (OpenID Connect Discovery 1.0 section 4.1): the issuer without
    /// a final `/`, then `/.well-known/openid-configuration`, so an issuer with a path keeps it.
    package static func openIDConfigurationURL(issuer: String) -> String {
        var base = Substring(issuer)
        while base.hasSuffix("/") { base = base.dropLast() }
        return base + "/.well-known/openid-configuration"
    }

    /// A key file, as keytool takes it: PEM, JWK or JWKS.
    package struct KeySource: Sendable {
        package var file: String
        /// Required for PEM files; optional for JWK/JWKS (their `alg` binds each key).
        package var algorithm: JWSAlgorithm?
        package var keyID: String?

        package init(file: String, algorithm: JWSAlgorithm? = nil, keyID: String? = nil) {
            self.file = file
            self.algorithm = algorithm
            self.keyID = keyID
        }
    }

    /// A named internal service and the instances that serve it.
    package struct Upstream: Sendable {
        package var targets: [Target]
        package var balancing: Balancing
        package var connectTimeout: Duration
        /// From the request's last byte to the response head.
        package var responseTimeout: Duration
        /// How long a pooled keep-alive connection may stay unused.
        package var idleTimeout: Duration
        /// Connections per target per event loop.
        package var maxConnections: Int
        /// Connections of one target (per event loop) that one client address may hold at once; further
        /// requests from it queue behind everyone else's. `nil`: half of ``maxConnections``, rounded up.
        package var maxConnectionsPerClient: Int?
        /// How long a target that refused a connection is skipped.
        package var unhealthyCooldown: Duration

        /// The per-client share in force: the configured one, at most ``maxConnections``.
        package var effectiveMaxConnectionsPerClient: Int {
            min(maxConnections, maxConnectionsPerClient ?? (maxConnections + 1) / 2)
        }

        package enum Balancing: String, Sendable, CaseIterable {
            case roundRobin = "round_robin"
            case leastRequests = "least_requests"
        }

        package init(
            targets: [Target], balancing: Balancing = .roundRobin, connectTimeout: Duration = .seconds(2),
            responseTimeout: Duration = .seconds(30), idleTimeout: Duration = .seconds(60), maxConnections: Int = 256,
            maxConnectionsPerClient: Int? = nil, unhealthyCooldown: Duration = .seconds(5)
        ) {
            self.maxConnectionsPerClient = maxConnectionsPerClient
            self.targets = targets
            self.balancing = balancing
            self.connectTimeout = connectTimeout
            self.responseTimeout = responseTimeout
            self.idleTimeout = idleTimeout
            self.maxConnections = maxConnections
            self.unhealthyCooldown = unhealthyCooldown
        }
    }

    /// `http://host:port` of one upstream instance.
    package struct Target: Sendable, Hashable, CustomStringConvertible {
        package var host: String
        package var port: Int

        package init(host: String, port: Int) {
            self.host = host
            self.port = port
        }

        /// Parses `http://host:port` (IPv6 in brackets, an optional final `/`); `nil` for anything else:
        /// https, a missing port, a path, userinfo.
        package init?(url: String) {
            guard let parsed = ParsedURL(url), !parsed.isHTTPS, parsed.hasExplicitPort, parsed.path == "/" else {
                return nil
            }
            self.host = parsed.host
            self.port = parsed.port
        }

        package var description: String {
            host.contains(":") ? "http://[\(host)]:\(port)" : "http://\(host):\(port)"
        }
    }

    /// Limits on what a client may send, with safe defaults.
    package struct Limits: Sendable {
        package var maxHeaderBytes: Int = 16 * 1024
        package var maxHeaderCount: Int = 100
        package var maxURIBytes: Int = 8 * 1024
        package var maxBodyBytes: Int = 10 * 1024 * 1024
        /// From a connection's first byte (or its previous response) to a complete request head.
        package var headerReadTimeout: Duration = .seconds(10)
        /// A keep-alive connection with no traffic is closed after this.
        package var idleTimeout: Duration = .seconds(60)
        /// Longest pause between two reads of a request body.
        package var bodyReadTimeout: Duration = .seconds(30)
        /// Request bodies are read into memory up to this size before an upstream connection is taken, so a
        /// client that sends its body slowly never holds an upstream connection for it; larger bodies are
        /// streamed once this much has arrived. 0 streams every body at once.
        package var bodyBufferBytes: Int = 64 * 1024
        /// The least average rate (bytes per second) of a request body after its first ``bodyReadTimeout``;
        /// below it the request gets 408. 0 turns the check off.
        package var minBodyRate: Int = 1024
        /// How long a response may wait on a client that does not read it (its connection or stream takes
        /// no more bytes) before the exchange is cut and the upstream connection closed.
        package var sendTimeout: Duration = .seconds(30)
        package var maxConnections: Int = 10_000
        package var http2MaxConcurrentStreams: Int = 100
        /// How long SIGTERM waits for in-flight requests.
        package var drainTimeout: Duration = .seconds(30)
        /// From TCP accept to a finished TLS handshake; half-open handshakes are closed after this.
        package var tlsHandshakeTimeout: Duration = .seconds(10)
        /// RST_STREAM frames an HTTP/2 client may send per ``http2RateWindow`` (rapid reset,
        /// CVE-2023-44487); one more and the connection gets GOAWAY `ENHANCE_YOUR_CALM` and is closed.
        package var http2MaxResets: Int = 200
        /// Stream errors (malformed requests answered with RST_STREAM) per ``http2RateWindow``.
        package var http2MaxStreamErrors: Int = 200
        /// PING, SETTINGS and PRIORITY frames per ``http2RateWindow`` (CVE-2019-9512, CVE-2019-9515).
        package var http2MaxControlFrames: Int = 200
        /// The sliding window of the three HTTP/2 rates above.
        package var http2RateWindow: Duration = .seconds(30)
        /// CONTINUATION frames after one HEADERS frame (CVE-2024-27316 class floods).
        package var http2MaxContinuationFrames: Int = 5

        package init() {}
    }

    /// Which client headers are identity claims and must never reach an upstream from a client.
    package struct Identity: Sendable {
        /// Header name prefixes stripped from every request, in any case, with `_`/`.` for `-`.
        package var stripPrefixes: [String] = ["X-User-", "X-Auth-Request-", "X-Token-"]
        /// Exact header names stripped as well.
        package var stripHeaders: [String] = ["X-Forwarded-User", "X-Remote-User", "Remote-User", "X-Authenticated-User"]
        /// The realm in `WWW-Authenticate`.
        package var realm: String = "auth-gateway"

        package init() {}
    }

    /// The verified-token cache, per event loop.
    package struct TokenCache: Sendable {
        package var enabled: Bool = true
        package var maxEntries: Int = 10_000

        package init() {}
    }

    package struct Logging: Sendable {
        package var level: String = "info"
        /// The application log on standard error: text lines or one JSON object per record.
        package var format: LogFormat = .text
        /// `stdout`, `off`, or a file path.
        package var accessLog: String = "stdout"
        /// The most log bytes held in memory per destination while it does not keep up; lines beyond it are
        /// dropped and counted (`gateway_access_log_dropped_total`, `gateway_application_log_dropped_total`).
        package var maxPendingBytes: Int = 4 * 1024 * 1024

        package init() {}
    }

    /// The application log's format (`logging.format`).
    package enum LogFormat: String, Sendable, CaseIterable {
        /// `2026-12-06T16:49:42.123Z info auth-gateway: key=value [module] message`, as swift-log's stream
        /// handler prints it (with UTC milliseconds).
        case text
        /// One JSON object per record: `time`, `level`, `label`, `source`, `message`, then the metadata's
        /// dotted keys. A message with line breaks stays one line.
        case json
    }
}
