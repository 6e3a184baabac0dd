import JOSE

/// The operators' configuration: listeners, TLS, issuers and keys, upstreams, limits, logging.
///
/// A plain value: ``GatewayConfigurationLoader`` builds it from YAML, tests and the demo build it in code.
/// Durations are `Duration`s, sizes in bytes.
public struct GatewayConfiguration: Sendable {
    public var listeners: [Listener]
    public var admin: AdminListener?
    public var issuers: [Issuer]
    public var upstreams: [String: Upstream]
    public var limits: Limits
    /// The policy directory.
    public var policyDirectory: String
    public var identity: Identity
    public var tokenCache: TokenCache
    public var logging: Logging

    public init(
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
    public struct Listener: Sendable {
        public var address: String
        /// 0 lets the system choose (tests).
        public var port: Int
        public var tls: TLS
        public var http2: Bool

        public init(address: String = "0.0.0.0", port: Int, tls: TLS, http2: Bool = true) {
            self.address = address
            self.port = port
            self.tls = tls
            self.http2 = http2
        }
    }

    public struct TLS: Sendable {
        /// PEM file with the server certificate first, then intermediates.
        public var certificateChainFile: String
        public var privateKeyFile: String
        public var minimumVersion: Version

        public enum Version: String, Sendable, CaseIterable {
            case tls12 = "1.2"
            case tls13 = "1.3"
        }

        public init(certificateChainFile: String, privateKeyFile: String, minimumVersion: Version = .tls12) {
            self.certificateChainFile = certificateChainFile
            self.privateKeyFile = privateKeyFile
            self.minimumVersion = minimumVersion
        }
    }

    /// Plain-HTTP admin listener for `/metrics`, `/healthz`, `/readyz`; loopback by default.
    public struct AdminListener: Sendable {
        public var address: String
        public var port: Int

        public init(address: String = "127.0.0.1", port: Int = 9901) {
            self.address = address
            self.port = port
        }
    }

    /// A token issuer and the keys that verify its tokens.
    public struct Issuer: Sendable {
        /// The exact `iss` value.
        public var issuer: String
        /// Accepted `aud` values; empty means `aud` is not checked.
        public var audiences: [String]
        public var keys: [KeySource]
        /// Keys published by the identity provider, fetched and refreshed in the background.
        public var remoteKeys: RemoteKeys?
        public var leeway: Duration
        public var maxLifetime: Duration?
        public var requiredClaims: [String]
        /// Accepted header `typ` values (e.g. `at+jwt`); empty: any. Keeps the issuer's other kinds of JWT
        /// (ID tokens, logout tokens) from being used as access tokens (RFC 8725 section 3.11).
        public var tokenTypes: [String]

        public init(
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

    /// A remote JWKS (an identity provider's `jwks_uri`).
    public struct RemoteKeys: Sendable, Hashable {
        /// `https://...`; `http://` only with ``allowInsecure``.
        public var url: String
        public var allowInsecure: Bool
        /// PEM CA bundle to verify the provider's certificate (default: the system's trust store).
        public var caFile: String?
        /// The algorithm of published keys that carry no `alg` (some providers omit it).
        public var defaultAlgorithm: JWSAlgorithm?
        /// Refresh interval bounds; `Cache-Control: max-age` is honoured within them.
        public var minRefresh: Duration
        public var maxRefresh: Duration
        /// How long the last good key set keeps serving while the provider is unreachable.
        public var maxStale: Duration
        /// The least time between two re-fetches caused by an unknown `kid`.
        public var unknownKeyCooldown: Duration
        public var fetchTimeout: Duration

        public init(
            url: String, allowInsecure: Bool = false, caFile: String? = nil, defaultAlgorithm: JWSAlgorithm? = nil,
            minRefresh: Duration = .seconds(60), maxRefresh: Duration = .seconds(3600), maxStale: Duration = .seconds(86_400),
            unknownKeyCooldown: Duration = .seconds(30), fetchTimeout: Duration = .seconds(5)
        ) {
            self.url = url
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

    /// A key file, as keytool takes it: PEM, JWK or JWKS.
    public struct KeySource: Sendable {
        public var file: String
        /// Required for PEM files; optional for JWK/JWKS (their `alg` binds each key).
        public var algorithm: JWSAlgorithm?
        public var keyID: String?

        public init(file: String, algorithm: JWSAlgorithm? = nil, keyID: String? = nil) {
            self.file = file
            self.algorithm = algorithm
            self.keyID = keyID
        }
    }

    /// A named internal service and the instances that serve it.
    public struct Upstream: Sendable {
        public var targets: [Target]
        public var balancing: Balancing
        public var connectTimeout: Duration
        /// From the request's last byte to the response head.
        public var responseTimeout: Duration
        /// How long a pooled keep-alive connection may stay unused.
        public var idleTimeout: Duration
        /// Connections per target per event loop.
        public var maxConnections: Int
        /// Connections of one target (per event loop) that one client address may hold at once; further
        /// requests from it queue behind everyone else's. `nil`: half of ``maxConnections``, rounded up.
        public var maxConnectionsPerClient: Int?
        /// How long a target that refused a connection is skipped.
        public var unhealthyCooldown: Duration

        /// The per-client share in force: the configured one, at most ``maxConnections``.
        public var effectiveMaxConnectionsPerClient: Int {
            min(maxConnections, maxConnectionsPerClient ?? (maxConnections + 1) / 2)
        }

        public enum Balancing: String, Sendable, CaseIterable {
            case roundRobin = "round_robin"
            case leastRequests = "least_requests"
        }

        public init(
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
    public struct Target: Sendable, Hashable, CustomStringConvertible {
        public var host: String
        public var port: Int

        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }

        /// Parses `http://host:port` (IPv6 in brackets, an optional final `/`); `nil` for anything else:
        /// https, a missing port, a path, userinfo.
        public init?(url: String) {
            guard let parsed = ParsedURL(url), !parsed.isHTTPS, parsed.hasExplicitPort, parsed.path == "/" else {
                return nil
            }
            self.host = parsed.host
            self.port = parsed.port
        }

        public var description: String {
            host.contains(":") ? "http://[\(host)]:\(port)" : "http://\(host):\(port)"
        }
    }

    /// Limits on what a client may send, with safe defaults.
    public struct Limits: Sendable {
        public var maxHeaderBytes: Int = 16 * 1024
        public var maxHeaderCount: Int = 100
        public var maxURIBytes: Int = 8 * 1024
        public var maxBodyBytes: Int = 10 * 1024 * 1024
        /// From a connection's first byte (or its previous response) to a complete request head.
        public var headerReadTimeout: Duration = .seconds(10)
        /// A keep-alive connection with no traffic is closed after this.
        public var idleTimeout: Duration = .seconds(60)
        /// Longest pause between two reads of a request body.
        public var bodyReadTimeout: Duration = .seconds(30)
        /// Request bodies are read into memory up to this size before an upstream connection is taken, so a
        /// client that sends its body slowly never holds an upstream connection for it; larger bodies are
        /// streamed once this much has arrived. 0 streams every body at once.
        public var bodyBufferBytes: Int = 64 * 1024
        /// The least average rate (bytes per second) of a request body after its first ``bodyReadTimeout``;
        /// below it the request gets 408. 0 turns the check off.
        public var minBodyRate: Int = 1024
        /// How long a response may wait on a client that does not read it (its connection or stream takes
        /// no more bytes) before the exchange is cut and the upstream connection closed.
        public var sendTimeout: Duration = .seconds(30)
        /// HTTP/1.1 requests one connection may send ahead of their answers; beyond it the rest is dropped
        /// and the connection closes once the accepted ones are answered.
        public var maxPipelinedRequests: Int = 32
        public var maxConnections: Int = 10_000
        public var http2MaxConcurrentStreams: Int = 100
        /// How long SIGTERM waits for in-flight requests.
        public var drainTimeout: Duration = .seconds(30)
        /// From TCP accept to a finished TLS handshake; half-open handshakes are closed after this.
        public var tlsHandshakeTimeout: Duration = .seconds(10)
        /// RST_STREAM frames an HTTP/2 client may send per ``http2RateWindow`` (rapid reset,
        /// CVE-2023-44487); one more and the connection gets GOAWAY `ENHANCE_YOUR_CALM` and is closed.
        public var http2MaxResets: Int = 200
        /// Stream errors (malformed requests answered with RST_STREAM) per ``http2RateWindow``.
        public var http2MaxStreamErrors: Int = 200
        /// PING, SETTINGS and PRIORITY frames per ``http2RateWindow`` (CVE-2019-9512, CVE-2019-9515).
        public var http2MaxControlFrames: Int = 200
        /// The sliding window of the three HTTP/2 rates above.
        public var http2RateWindow: Duration = .seconds(30)
        /// CONTINUATION frames after one HEADERS frame (CVE-2024-27316 class floods).
        public var http2MaxContinuationFrames: Int = 5

        public init() {}
    }

    /// Which client headers are identity claims and must never reach an upstream from a client.
    public struct Identity: Sendable {
        /// Header name prefixes stripped from every request, in any case, with `_`/`.` for `-`.
        public var stripPrefixes: [String] = ["X-User-", "X-Auth-Request-", "X-Token-"]
        /// Exact header names stripped as well.
        public var stripHeaders: [String] = ["X-Forwarded-User", "X-Remote-User", "Remote-User", "X-Authenticated-User"]
        /// The realm in `WWW-Authenticate`.
        public var realm: String = "auth-gateway"

        public init() {}
    }

    /// The verified-token cache, per event loop.
    public struct TokenCache: Sendable {
        public var enabled: Bool = true
        public var maxEntries: Int = 10_000

        public init() {}
    }

    public struct Logging: Sendable {
        public var level: String = "info"
        /// The application log on standard error: text lines or one JSON object per record.
        public var format: LogFormat = .text
        /// `stdout`, `off`, or a file path.
        public var accessLog: String = "stdout"
        /// The most log bytes held in memory per destination while it does not keep up; lines beyond it are
        /// dropped and counted (`gateway_access_log_dropped_total`, `gateway_application_log_dropped_total`).
        public var maxPendingBytes: Int = 4 * 1024 * 1024

        public init() {}
    }

    /// The application log's format (`logging.format`).
    public enum LogFormat: String, Sendable, CaseIterable {
        /// `2026-12-06T16:49:42.123Z info auth-gateway: key=value [module] message`, as swift-log's stream
        /// handler prints it (with UTC milliseconds).
        case text
        /// One JSON object per record: `time`, `level`, `label`, `source`, `message`, then the metadata's
        /// dotted keys. A message with line breaks stays one line.
        case json
    }
}
