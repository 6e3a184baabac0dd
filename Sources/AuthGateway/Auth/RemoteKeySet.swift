import JOSE
import Logging
import NIOConcurrencyHelpers
import NIOCore
import GatewayConfig
import GatewayObservability

/// The keys an identity provider publishes at its JWKS URL, kept fresh in the background.
///
/// - Refreshed before its lifetime ends (`Cache-Control: max-age`, clamped to the configured bounds).
/// - An unknown `kid` triggers a re-fetch, at most once per cooldown, shared by every request that
///   asks meanwhile (single flight).
/// - When the provider is unreachable the last good set keeps serving up to `maxStale`; after that, or
///   before the first success, there are no keys and requests get 503, not 401.
/// - Every change notifies observers, which drop cached verifications at once.
///
/// The lock is taken on verification (a cache miss) and by the refresher, never on a cache hit.
package final class RemoteKeySet: Sendable {
    package let issuer: String
    let configuration: GatewayConfiguration.RemoteKeys
    private let fetcher: KeyDocumentFetcher
    private let state = NIOLockedValueBox(State())
    private let observers = NIOLockedValueBox([@Sendable () -> Void]())
    private let metrics = NIOLockedValueBox<GatewayMetrics?>(nil)

    private struct State {
        var keys: JWKSet?
        var fetchedAt: NIODeadline?
        var nextRefresh = NIODeadline.uptimeNanoseconds(0)
        var inFlight: EventLoopFuture<Void>?
        var lastUnknownKeyFetch: NIODeadline?
        var lastError: String?
        var fingerprint: [String] = []
    }

    init(issuer: String, configuration: GatewayConfiguration.RemoteKeys) throws {
        self.issuer = issuer
        self.configuration = configuration
        self.fetcher = try KeyDocumentFetcher(
            url: configuration.url, what: "jwks_url", settings: configuration,
            accept: "application/jwk-set+json, application/json")
    }

    /// The current keys, or `nil` when none were ever fetched or the last good set is too old.
    package func currentKeys() -> JWKSet? {
        state.withLockedValue { state in
            guard let keys = state.keys, let fetchedAt = state.fetchedAt else { return nil }
            return NIODeadline.now() - fetchedAt <= TimeAmount(configuration.maxStale) ? keys : nil
        }
    }

    /// Why there are no keys (for logs and readiness).
    package var lastError: String? { state.withLockedValue { $0.lastError } }

    package func observe(_ observer: @escaping @Sendable () -> Void) {
        observers.withLockedValue { $0.append(observer) }
    }

    package func attach(metrics: GatewayMetrics) {
        self.metrics.withLockedValue { $0 = metrics }
    }

    /// Fetches now unless a fetch is already running, in which case that one is returned. The future
    /// completes on `eventLoop` whichever loop started the fetch (the fetch is shared by every loop).
    package func refresh(on eventLoop: EventLoop) -> EventLoopFuture<Void> {
        let (future, start): (EventLoopFuture<Void>, EventLoopPromise<Void>?) = state.withLockedValue { state in
            if let running = state.inFlight { return (running, nil) }
            let promise = eventLoop.makePromise(of: Void.self)
            state.inFlight = promise.futureResult
            return (promise.futureResult, promise)
        }
        if let start { fetch(on: eventLoop, completing: start) }
        return future.hop(to: eventLoop)
    }

    /// A re-fetch for a `kid` the current set lacks, or `nil` inside the cooldown after the last one.
    func refreshForUnknownKey(on eventLoop: EventLoop) -> EventLoopFuture<Void>? {
        let allowed: Bool = state.withLockedValue { state in
            if state.inFlight != nil { return true }
            let now = NIODeadline.now()
            if let last = state.lastUnknownKeyFetch,
                now - last < TimeAmount(configuration.unknownKeyCooldown)
            {
                return false
            }
            state.lastUnknownKeyFetch = now
            return true
        }
        return allowed ? refresh(on: eventLoop) : nil
    }

    /// When the background refresher should fetch next.
    var nextRefresh: NIODeadline { state.withLockedValue { $0.nextRefresh } }

    private func fetch(on eventLoop: EventLoop, completing promise: EventLoopPromise<Void>) {
        fetcher.fetch(on: eventLoop).whenComplete { result in
            var changed = false
            switch result {
            case .success(let response):
                do {
                    let keys = try KeyFile.keys(
                        from: response.body, algorithm: self.configuration.defaultAlgorithm, unusable: .skip)
                    changed = self.install(JWKSet(keys), maxAge: response.maxAge)
                    self.metrics.withLockedValue { $0 }?.jwksFetches.increment()
                } catch {
                    let joseError = error as? JOSEError
                    let hint = joseError?.code == .algNotAllowed ? "; set `default_alg` under this issuer's `remote_keys`" : ""
                    self.failed("the JWKS did not parse: \(joseError?.reason ?? "\(error)")\(hint)")
                }
            case .failure(let error):
                self.failed("\(error)")
            }
            self.state.withLockedValue { $0.inFlight = nil }
            if changed {
                for observer in self.observers.withLockedValue({ $0 }) { observer() }
            }
            promise.succeed(())
        }
    }

    /// Installs a fetched set; returns whether the keys changed.
    private func install(_ keys: JWKSet, maxAge: Double?) -> Bool {
        let advertised = maxAge.map { Duration.nanoseconds(Int64(min($0, 1e9) * 1e9)) }
        let refresh = min(max(advertised ?? configuration.maxRefresh, configuration.minRefresh), configuration.maxRefresh)
        let fingerprint = keys.keys.map { "\($0.keyID)|\($0.algorithm)|\((try? $0.thumbprint()) ?? "")" }.sorted()
        return state.withLockedValue { state in
            let changed = state.fingerprint != fingerprint
            state.keys = keys
            state.fingerprint = fingerprint
            state.fetchedAt = .now()
            state.lastError = nil
            state.nextRefresh = .now() + TimeAmount(refresh)
            return changed
        }
    }

    private func failed(_ reason: String) {
        metrics.withLockedValue { $0 }?.jwksFetchFailures.increment()
        state.withLockedValue { state in
            state.lastError = reason
            // Retry sooner than a full refresh interval, but not in a tight loop.
            state.nextRefresh = .now() + TimeAmount(min(configuration.minRefresh, .seconds(10)))
        }
    }

    /// Refreshes whenever due until cancelled.
    package func runRefresher(group: EventLoopGroup, logger: Logger) async {
        while !Task.isCancelled {
            let due = nextRefresh
            let wait = due - .now()
            if wait.nanoseconds > 0 {
                try? await Task.sleep(nanoseconds: UInt64(min(wait.nanoseconds, 1_000_000_000)))
                continue
            }
            try? await refresh(on: group.next()).get()
            if let error = lastError {
                logger.warning("JWKS fetch failed", metadata: ["issuer": "\(issuer)", "error": "\(error)"])
            }
        }
    }
}

/// The remote key sets of a gateway, kept across reloads while their configuration is unchanged.
package final class RemoteKeyRegistry: Sendable {
    private let sets = NIOLockedValueBox([String: RemoteKeySet]())

    package init() {}

    package func keySet(issuer: String, configuration: GatewayConfiguration.RemoteKeys) throws -> RemoteKeySet {
        let key = "\(issuer)\u{0}\(configuration.url)"
        if let existing = sets.withLockedValue({ $0[key] }), existing.configuration == configuration {
            return existing
        }
        let created = try RemoteKeySet(issuer: issuer, configuration: configuration)
        sets.withLockedValue { $0[key] = created }
        return created
    }
}
