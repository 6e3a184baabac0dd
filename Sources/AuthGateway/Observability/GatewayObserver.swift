import NIOCore

/// One finished request, as the access log and the metrics see it. Never holds a token or a secret.
public struct RequestRecord: Sendable {
    public var requestID: String
    public var clientAddress: String
    public var method: String
    public var path: String
    public var route: String?
    public var decision: String
    public var reason: String?
    public var subject: String?
    public var status: Int
    public var upstreamTarget: String?
    public var startedAt: Double
    public var duration: Double
    public var bytesIn: Int
    public var bytesOut: Int
    public var protocolName: String
}

/// Makes one ``LoopObserver`` per event loop, so that recording a request never takes a lock.
public protocol GatewayObserver: Sendable {
    func makeLoopObserver(for eventLoop: EventLoop) -> LoopObserver
}

/// Receives every request finished on its event loop (access log, metrics). Loop-confined.
public protocol LoopObserver: AnyObject {
    func requestFinished(_ record: RequestRecord)
    /// Writes out anything buffered (shutdown).
    func flush()
}

extension LoopObserver {
    public func flush() {}
}

/// Observes nothing.
public struct SilentObserver: GatewayObserver {
    public init() {}

    public func makeLoopObserver(for eventLoop: EventLoop) -> LoopObserver {
        Silent()
    }

    private final class Silent: LoopObserver {
        func requestFinished(_ record: RequestRecord) {}
    }
}

/// Several observers at once (the access log and the metrics).
public struct CompositeObserver: GatewayObserver {
    let observers: [GatewayObserver]

    public init(_ observers: [GatewayObserver]) {
        self.observers = observers
    }

    public func makeLoopObserver(for eventLoop: EventLoop) -> LoopObserver {
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
