import CoreMetrics
import Prometheus

/// Every metric the gateway exports, with the `# HELP` text its exposition carries. docs/OPERATIONS.md has
/// the long form; a metric missing here is exported without `# HELP` and fails `MetricCatalogTests`.
package enum MetricCatalog {
    package static let help: [String: String] = [
        "gateway_build_info": "Always 1; the labels name the version, the commit, the Swift compiler and the OpenSSL of this build.",
        "gateway_requests_total": "Requests answered, by route, status and decision (allow, deny, reject, error).",
        "gateway_decisions_total": "Decision-mode answers (also in gateway_requests_total), by route, status and decision.",
        "gateway_decision_untrusted_peers_total": "Decision requests refused (403 untrusted_peer): the peer is not in trusted_peers.",
        "gateway_request_duration_seconds": "From the request head to the end of the response, by route.",
        "gateway_upstream_errors_total": "Upstream exchanges that failed, by upstream, target and kind.",
        "gateway_token_cache_hits_total": "Verified-token cache hits.",
        "gateway_token_cache_misses_total": "Verified-token cache misses (a full verification follows).",
        "gateway_token_verifications_total": "Signature verifications performed, by the token's algorithm.",
        "gateway_token_rejections_total": "Tokens refused, by the verifier's reason.",
        "gateway_open_connections": "Client connections open now.",
        "gateway_event_loops": "Event loops serving traffic (upstream pools are per loop).",
        "gateway_rejected_connections_total": "Client connections refused at limits.max_connections.",
        "gateway_reloads_total": "Successful configuration reloads.",
        "gateway_reload_failures_total": "Failed configuration reloads (the previous configuration kept serving).",
        "gateway_jwks_fetches_total": "Remote JWKS fetches.",
        "gateway_jwks_fetch_failures_total": "Remote JWKS fetches that failed (the last good key set keeps serving).",
        "gateway_oidc_discovery_failures_total": "OpenID configuration documents not fetched or refused (issuer mismatch, no jwks_uri, ...).",
        "gateway_issuer_keys_available": "1 while the issuer can verify tokens, 0 while it has no usable keys.",
        "gateway_keys_unavailable_total": "Requests answered 503 keys_unavailable: their issuer had no usable keys.",
        "gateway_upstream_connections": "Upstream connections by upstream, target and state (connecting, in_use, idle).",
        "gateway_upstream_queued_requests": "Requests waiting for a connection to a target at max_connections.",
        "gateway_access_log_dropped_total": "Access log lines dropped because the destination did not keep up.",
        "gateway_application_log_dropped_total": "Application log lines dropped because standard error did not keep up.",
        "gateway_rate_limit_checks_total": "Requests counted against a rate_limit, by route, store and result (allowed, limited, failed_open, failed_closed).",
        "gateway_rate_limit_store_errors_total": "Rate-limit checks the store could not answer, by store and reason (the failure mode decided them).",
    ]

    static func descriptor(_ name: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help[name] ?? "")
    }
}

/// swift-metrics into the gateway's Prometheus registry, like `PrometheusMetricsFactory`, with each metric's
/// `# HELP` text from ``MetricCatalog``.
struct DocumentedMetricsFactory: CoreMetrics.MetricsFactory {
    let base: PrometheusMetricsFactory
    var registry: PrometheusCollectorRegistry { base.registry }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CoreMetrics.CounterHandler {
        registry.makeCounter(descriptor: MetricCatalog.descriptor(label), labels: dimensions)
    }

    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any CoreMetrics.FloatingPointCounterHandler {
        registry.makeCounter(descriptor: MetricCatalog.descriptor(label), labels: dimensions)
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any CoreMetrics.RecorderHandler {
        guard aggregate else { return registry.makeGauge(descriptor: MetricCatalog.descriptor(label), labels: dimensions) }
        return registry.makeValueHistogram(
            descriptor: MetricCatalog.descriptor(label), labels: dimensions, buckets: base.defaultValueHistogramBuckets)
    }

    func makeMeter(label: String, dimensions: [(String, String)]) -> any CoreMetrics.MeterHandler {
        registry.makeGauge(descriptor: MetricCatalog.descriptor(label), labels: dimensions)
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any CoreMetrics.TimerHandler {
        registry.makeDurationHistogram(
            descriptor: MetricCatalog.descriptor(label), labels: dimensions, buckets: base.defaultDurationHistogramBuckets)
    }

    func destroyCounter(_ handler: any CoreMetrics.CounterHandler) { base.destroyCounter(handler) }
    func destroyFloatingPointCounter(_ handler: any CoreMetrics.FloatingPointCounterHandler) { base.destroyFloatingPointCounter(handler) }
    func destroyRecorder(_ handler: any CoreMetrics.RecorderHandler) { base.destroyRecorder(handler) }
    func destroyMeter(_ handler: any CoreMetrics.MeterHandler) { base.destroyMeter(handler) }
    func destroyTimer(_ handler: any CoreMetrics.TimerHandler) { base.destroyTimer(handler) }
}
