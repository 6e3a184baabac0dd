import CoreMetrics
import GatewayAdmission

/// The rate-limit counters of one event loop (no lock: counters are made once per label set and kept).
package final class RateLimitMetrics {
    private let metrics: GatewayMetrics
    private var checks: [String: CoreMetrics.Counter] = [:]
    private var errors: [String: CoreMetrics.Counter] = [:]

    package init(_ metrics: GatewayMetrics) {
        self.metrics = metrics
    }

    package func counted(route: String, store: String, result: RateLimitResult) {
        let key = "\(route)\u{0}\(store)\u{0}\(result.rawValue)"
        if let counter = checks[key] { return counter.increment() }
        let labels = [("route", route), ("store", store), ("result", result.rawValue)]
        let counter = metrics.counter("gateway_rate_limit_checks_total", labels)
        checks[key] = counter
        counter.increment()
    }

    package func storeFailed(store: String, reason: String) {
        let key = "\(store)\u{0}\(reason)"
        if let counter = errors[key] { return counter.increment() }
        let counter = metrics.counter("gateway_rate_limit_store_errors_total", [("store", store), ("reason", reason)])
        errors[key] = counter
        counter.increment()
    }
}

@available(*, unavailable)
extension RateLimitMetrics: Sendable {}
