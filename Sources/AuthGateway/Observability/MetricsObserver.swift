import CoreMetrics
import NIOCore
import GatewayAdmission

/// Records finished requests into ``GatewayMetrics``: requests by route, status and decision; latency by
/// route; upstream errors by kind. Handles are cached per loop.
package struct MetricsObserver: GatewayObserver {
    let metrics: GatewayMetrics

    package init(metrics: GatewayMetrics) {
        self.metrics = metrics
    }

    package func makeLoopObserver(for eventLoop: EventLoop) -> LoopObserver {
        Loop(metrics: metrics)
    }

    final class Loop: LoopObserver {
        private struct RequestKey: Hashable {
            let route: String
            let status: Int
            let verdict: Verdict
        }

        private let metrics: GatewayMetrics
        private var requests: [RequestKey: CoreMetrics.Counter] = [:]
        private var latencies: [String: CoreMetrics.Timer] = [:]
        private struct UpstreamErrorKey: Hashable {
            let upstream: String
            let target: String
            let kind: UpstreamFailure
        }

        private var upstreamErrors: [UpstreamErrorKey: CoreMetrics.Counter] = [:]
        private var decisions: [RequestKey: CoreMetrics.Counter] = [:]

        init(metrics: GatewayMetrics) {
            self.metrics = metrics
        }

        func requestFinished(_ record: RequestRecord) {
            let route = record.route ?? "none"
            let key = RequestKey(route: route, status: record.status, verdict: record.verdict)
            let counter = requests[key] ?? {
                let made = metrics.counter("gateway_requests_total", [
                    ("route", route), ("status", String(record.status)), ("decision", record.verdict.rawValue),
                ])
                requests[key] = made
                return made
            }()
            counter.increment()
            if record.mode == .decision { recordDecision(key, record) }
            let timer = latencies[route] ?? {
                let made = metrics.timer("gateway_request_duration_seconds", [("route", route)])
                latencies[route] = made
                return made
            }()
            timer.recordNanoseconds(Int64(record.duration * 1e9))
            switch record.reason {
            case .keysUnavailable?:
                metrics.keysUnavailable.increment()
            case .upstream(let failure)?:
                let key = UpstreamErrorKey(upstream: record.upstream ?? "none", target: record.upstreamTarget ?? "none", kind: failure)
                let errors = upstreamErrors[key] ?? {
                    let made = metrics.counter("gateway_upstream_errors_total", [
                        ("upstream", key.upstream), ("target", key.target), ("kind", failure.label),
                    ])
                    upstreamErrors[key] = made
                    return made
                }()
                errors.increment()
            default:
                break
            }
        }

        /// Decision-mode answers, counted in `gateway_requests_total` too.
        private func recordDecision(_ key: RequestKey, _ record: RequestRecord) {
            let counter = decisions[key] ?? {
                let made = metrics.counter("gateway_decisions_total", [
                    ("route", key.route), ("status", String(key.status)), ("decision", key.verdict.rawValue),
                ])
                decisions[key] = made
                return made
            }()
            counter.increment()
            if record.reason == .gateway(.untrustedPeer) { metrics.untrustedPeers.increment() }
        }
    }
}
