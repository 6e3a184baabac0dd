import GatewayAdmission
import NIOCore

/// One finished request, as the access log and the metrics see it. Never holds a token or a secret.
///
/// A class: made once per request and handed from the exchange to every observer, it is passed by one
/// reference instead of copied field by field (it holds a dozen strings).
package final class RequestRecord: Sendable {
    package let requestID: String
    package let clientAddress: String
    package let method: String
    package let path: String
    package let route: String?
    package let verdict: Verdict
    package let reason: OutcomeReason?
    /// For a policy denial, the clause (or issuer list, or identity header) that denied it.
    package let deniedBy: String?
    /// The verified token's `sub` and `iss` (allowed or denied after verification).
    package let subject: String?
    package let issuer: String?
    package let status: Int
    /// The upstream's name and the target that served the request.
    package let upstream: String?
    package let upstreamTarget: String?
    package let startedAt: Double
    package let duration: Double
    /// From the request head sent upstream to the end of the upstream's answer.
    package let upstreamDuration: Double?
    package let bytesIn: Int
    package let bytesOut: Int
    package let protocolName: String
    /// The `Host` routed on, and the client's `User-Agent`.
    package let host: String?
    package let userAgent: String?
    /// `decision` for a decision-mode answer (then `method` is the original request's).
    package let mode: ServingMode

    package init(
        requestID: String, clientAddress: String, method: String, path: String, route: String?, verdict: Verdict,
        reason: OutcomeReason?, subject: String?, issuer: String?, status: Int, upstream: String?, upstreamTarget: String?,
        startedAt: Double, duration: Double, upstreamDuration: Double?, bytesIn: Int, bytesOut: Int, protocolName: String,
        host: String?, userAgent: String?, deniedBy: String? = nil, mode: ServingMode = .proxy
    ) {
        self.requestID = requestID
        self.clientAddress = clientAddress
        self.method = method
        self.path = path
        self.route = route
        self.verdict = verdict
        self.reason = reason
        self.subject = subject
        self.issuer = issuer
        self.status = status
        self.upstream = upstream
        self.upstreamTarget = upstreamTarget
        self.startedAt = startedAt
        self.duration = duration
        self.upstreamDuration = upstreamDuration
        self.bytesIn = bytesIn
        self.bytesOut = bytesOut
        self.protocolName = protocolName
        self.host = host
        self.userAgent = userAgent
        self.deniedBy = deniedBy
        self.mode = mode
    }
}

/// Makes one ``LoopObserver`` per event loop, so that recording a request never takes a lock.
package protocol GatewayObserver: Sendable {
    func makeLoopObserver(for eventLoop: EventLoop) -> LoopObserver
}

/// Receives every request finished on its event loop (access log, metrics). Loop-confined.
package protocol LoopObserver: AnyObject {
    func requestFinished(_ record: RequestRecord)
    /// Writes out anything buffered (shutdown).
    func flush()
}

extension LoopObserver {
    package func flush() {}
}

/// Observes nothing.
package struct SilentObserver: GatewayObserver {
    package init() {}

    package func makeLoopObserver(for eventLoop: EventLoop) -> LoopObserver {
        Silent()
    }

    private final class Silent: LoopObserver {
        func requestFinished(_ record: RequestRecord) {}
    }
}

/// Several observers at once (the access log and the metrics).
package struct CompositeObserver: GatewayObserver {
    let observers: [GatewayObserver]

    package init(_ observers: [GatewayObserver]) {
        self.observers = observers
    }

    package func makeLoopObserver(for eventLoop: EventLoop) -> LoopObserver {
        Fanout(observers.map { $0.makeLoopObserver(for: eventLoop) })
    }

    private final class Fanout: LoopObserver {
        let observers: [LoopObserver]
        init(_ observers: [LoopObserver]) { self.observers = observers }
        func requestFinished(_ record: RequestRecord) {
            for observer in observers { observer.requestFinished(record) }
        }

        func flush() {
            for observer in observers { observer.flush() }
        }
    }
}
