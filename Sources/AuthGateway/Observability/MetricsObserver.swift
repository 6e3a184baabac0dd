import CoreMetrics
import NIOCore

/// Records finished requests into ``GatewayMetrics``: requests by route, status and decision; latency by
/// route; upstream errors by kind. Handles are cached per loop.
public struct MetricsObserver: GatewayObserver {
    let metrics: GatewayMetrics

    public init(metrics: GatewayMetrics) {
        self.metrics = metrics
    }

    public func makeLoopObserver(for eventLoop: EventLoop) -> LoopObserver {
        Loop(metrics: metrics)
    }

    final class Loop: LoopObserver {
        private struct RequestKey: Hashable {
            let route: String
            let status: Int
            let decision: String
        }

        private let metrics: GatewayMetrics
        private var requests: [RequestKey: CoreMetrics.Counter] = [:]
        private var latencies: [String: CoreMetrics.Timer] = [:]
        private var upstreamErrors: [String: CoreMetrics.Counter] = [:]
        private lazy var keysUnavailable = metrics.counter("gateway_keys_unavailable_total", [])

        init(metrics: GatewayMetrics) {
            self.metrics = metrics
        }

        func requestFinished(_ record: RequestRecord) {
            let route = record.route ?? "none"
            let key = RequestKey(route: route, status: record.status, decision: record.decision)
            let counter = requests[key] ?? {
                let made = metrics.counter("gateway_requests_total", [
                    ("route", route), ("status", String(record.status)), ("decision", record.decision),
                ])
                requests[key] = made
                return made
            }()
            counter.increment()
            let timer = latencies[route] ?? {
                let made = metrics.timer("gateway_request_duration_seconds", [("route", route)])
                latencies[route] = made
                return made
            }()
            timer.recordNanoseconds(Int64(record.duration * 1e9))
            if record.reason == "keys_unavailable" { keysUnavailable.increment() }
            if record.decision == "error", let kind = record.reason, UpstreamFailure.labels.contains(kind) {
                let errors = upstreamErrors[kind] ?? {
                    let made = metrics.counter("gateway_upstream_errors_total", [("kind", kind)])
                    upstreamErrors[kind] = made
                    return made
                }()
                errors.increment()
            }
        }
    }
}
