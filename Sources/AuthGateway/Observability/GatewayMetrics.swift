import CoreMetrics
import GatewayPolicy
import JOSE
import NIOConcurrencyHelpers
import Prometheus

/// The gateway's metrics, through swift-metrics into a Prometheus registry of this instance (no global
/// bootstrap, so several gateways and tests never share counters).
///
/// Per-request handles are cached per event loop (``MetricsObserver``), so recording a request is a few
/// atomic increments, never a registry lookup.
package final class GatewayMetrics: Sendable {
    package let registry: PrometheusCollectorRegistry
    let factory: DocumentedMetricsFactory

    let reloads: CoreMetrics.Counter
    let reloadFailures: CoreMetrics.Counter
    package let openConnections: CoreMetrics.Gauge
    package let rejectedConnections: CoreMetrics.Counter
    package let jwksFetches: CoreMetrics.Counter
    package let jwksFetchFailures: CoreMetrics.Counter
    /// OpenID configuration documents that could not be fetched or were refused (issuer mismatch, ...).
    package let discoveryFailures: CoreMetrics.Counter
    /// Requests answered 503 `keys_unavailable`.
    let keysUnavailable: CoreMetrics.Counter
    /// Decision requests refused because the peer is not trusted.
    let untrustedPeers: CoreMetrics.Counter
    /// The pool gauges set at the last scrape, so that a target gone since then reads 0, not its last value.
    private let poolGaugeKeys = NIOLockedValueBox(Set<[String]>())

    package init() {
        let registry = PrometheusCollectorRegistry()
        var prometheus = PrometheusMetricsFactory(registry: registry)
        prometheus.defaultDurationHistogramBuckets = [
            .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
            .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
            .milliseconds(500), .seconds(1), .seconds(2), .seconds(5), .seconds(10), .seconds(30),
        ]
        self.registry = registry
        let factory = DocumentedMetricsFactory(base: prometheus)
        self.factory = factory
        reloads = CoreMetrics.Counter(label: "gateway_reloads_total", factory: factory)
        reloadFailures = CoreMetrics.Counter(label: "gateway_reload_failures_total", factory: factory)
        openConnections = CoreMetrics.Gauge(label: "gateway_open_connections", factory: factory)
        rejectedConnections = CoreMetrics.Counter(label: "gateway_rejected_connections_total", factory: factory)
        jwksFetches = CoreMetrics.Counter(label: "gateway_jwks_fetches_total", factory: factory)
        jwksFetchFailures = CoreMetrics.Counter(label: "gateway_jwks_fetch_failures_total", factory: factory)
        discoveryFailures = CoreMetrics.Counter(label: "gateway_oidc_discovery_failures_total", factory: factory)
        // Every series without labels exists from start-up, at 0: an alert on `increase(...) > 0` then sees the
        // first event, which a series born at 1 would hide (Prometheus has no earlier sample to compare with).
        keysUnavailable = CoreMetrics.Counter(label: "gateway_keys_unavailable_total", factory: factory)
        untrustedPeers = CoreMetrics.Counter(label: "gateway_decision_untrusted_peers_total", factory: factory)
        CoreMetrics.Gauge(label: "gateway_build_info", dimensions: [
            ("version", BuildInfo.version), ("commit", BuildInfo.commit), ("swift", BuildInfo.swift),
            ("openssl", CryptoLibrary.version),
        ], factory: factory).record(1)
    }

    func counter(_ label: String, _ dimensions: [(String, String)]) -> CoreMetrics.Counter {
        CoreMetrics.Counter(label: label, dimensions: dimensions, factory: factory)
    }

    func timer(_ label: String, _ dimensions: [(String, String)]) -> CoreMetrics.Timer {
        CoreMetrics.Timer(label: label, dimensions: dimensions, factory: factory)
    }

    /// The Prometheus text exposition of every metric.
    package func exposition() -> [UInt8] {
        for collect in collectors.withLockedValue({ $0 }) { collect() }
        return registry.emitToBuffer()
    }

    /// Counters read at scrape time from parts that keep their own counts (the log writers).
    private let collectors = NIOLockedValueBox([@Sendable () -> Void]())

    /// Counts the lines `writer` drops as the counter `label` (brought up to date at every scrape).
    package func countDrops(of writer: LogWriter, as label: String) {
        let counter = CoreMetrics.Counter(label: label, factory: factory)
        let reported = NIOLockedValueBox(0)
        counter.increment(by: 0)
        collectors.withLockedValue {
            $0.append {
                let dropped = writer.droppedLines
                let delta = reported.withLockedValue { last in
                    defer { last = dropped }
                    return dropped - last
                }
                if delta > 0 { counter.increment(by: delta) }
            }
        }
    }

    /// Sets the upstream pool gauges (taken from the event loops at scrape time, so that keeping them
    /// costs the data path nothing): `gateway_upstream_connections{upstream,target,state}` for connecting,
    /// in-use and idle connections, and `gateway_upstream_queued_requests{upstream,target}`.
    package func recordUpstreamPools(_ pools: [UpstreamTargetCounts]) {
        var values: [[String]: Int] = [:]
        for pool in pools {
            values[[pool.upstream, pool.target, "connecting"]] = pool.counts.connecting
            values[[pool.upstream, pool.target, "in_use"]] = pool.counts.inUse
            values[[pool.upstream, pool.target, "idle"]] = pool.counts.idle
            values[[pool.upstream, pool.target, "queued"]] = pool.counts.queued
        }
        let stale = poolGaugeKeys.withLockedValue { keys in
            defer { keys = Set(values.keys) }
            return keys.subtracting(values.keys)
        }
        for key in stale { values[key] = 0 }
        for (key, value) in values {
            let dimensions = [("upstream", key[0]), ("target", key[1])]
            if key[2] == "queued" {
                CoreMetrics.Gauge(label: "gateway_upstream_queued_requests", dimensions: dimensions, factory: factory)
                    .record(value)
            } else {
                CoreMetrics.Gauge(
                    label: "gateway_upstream_connections", dimensions: dimensions + [("state", key[2])], factory: factory
                ).record(value)
            }
        }
    }

    /// `gateway_issuer_keys_available{issuer}`: 1 while the issuer can verify tokens, 0 while it has no usable
    /// keys (set at scrape time).
    package func recordIssuerKeys(_ states: [(issuer: String, available: Bool, problem: String?)]) {
        for state in states {
            CoreMetrics.Gauge(label: "gateway_issuer_keys_available", dimensions: [("issuer", state.issuer)], factory: factory)
                .record(state.available ? 1 : 0)
        }
    }

    /// `gateway_event_loops`: the event loops serving traffic (each has its own upstream pools, so per-loop
    /// limits such as `max_connections` multiply by it).
    package func recordEventLoops(_ count: Int) {
        CoreMetrics.Gauge(label: "gateway_event_loops", factory: factory).record(count)
    }

    package func recordReload(succeeded: Bool) {
        succeeded ? reloads.increment() : reloadFailures.increment()
    }
}

/// The token cache and verification counters of one event loop's authenticator.
package final class AuthenticatorMetrics {
    private let metrics: GatewayMetrics
    package let cacheHits: CoreMetrics.Counter
    package let cacheMisses: CoreMetrics.Counter
    private var verifications: [JWSAlgorithm: CoreMetrics.Counter] = [:]
    private var rejections: [String: CoreMetrics.Counter] = [:]

    package init(_ metrics: GatewayMetrics) {
        self.metrics = metrics
        cacheHits = metrics.counter("gateway_token_cache_hits_total", [])
        cacheMisses = metrics.counter("gateway_token_cache_misses_total", [])
    }

    package func verified(_ algorithm: JWSAlgorithm) {
        if let counter = verifications[algorithm] {
            counter.increment()
            return
        }
        let counter = metrics.counter("gateway_token_verifications_total", [("alg", algorithm.rawValue)])
        verifications[algorithm] = counter
        counter.increment()
    }

    package func rejected(_ code: JOSEError.Code) {
        if let counter = rejections[code.rawValue] {
            counter.increment()
            return
        }
        let counter = metrics.counter("gateway_token_rejections_total", [("reason", code.rawValue)])
        rejections[code.rawValue] = counter
        counter.increment()
    }
}

@available(*, unavailable)
extension AuthenticatorMetrics: Sendable {}
