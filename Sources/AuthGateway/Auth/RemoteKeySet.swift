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
/// - With discovery, the JWKS URL comes from the provider's OpenID configuration document (its `issuer`
///   equal to ours, see ``OpenIDConfiguration``), read again after `max_refresh` and after any failure;
///   failures back off (``RetryBackoff``). Keys for algorithms the document does not advertise are not used.
///
/// The lock is taken on verification (a cache miss) and by the refresher, never on a cache hit.
package final class RemoteKeySet: Sendable {
    package let issuer: String
    let configuration: GatewayConfiguration.RemoteKeys
    /// The fetcher of `configuration.url`: the JWKS, or with discovery the OpenID configuration document.
    private let fetcher: KeyDocumentFetcher
    private let state: NIOLockedValueBox<State>
    private let observers = NIOLockedValueBox([@Sendable () -> Void]())
    private let metrics = NIOLockedValueBox<GatewayMetrics?>(nil)

    private struct State {
        var keys: JWKSet?
        var fetchedAt: NIODeadline?
        var nextRefresh = NIODeadline.uptimeNanoseconds(0)
        var inFlight: EventLoopFuture<Void>?
        var lastUnknownKeyFetch: NIODeadline?
        var lastError: String?
        var lastFailure: FetchFailure.Stage?
        var fingerprint: [String] = []
        /// With discovery: what the last good configuration document said; `nil` until then and after a failure.
        var discovered: Discovered?
        var backoff: RetryBackoff
    }

    /// The JWKS a configuration document named, and when it was read.
    private struct Discovered {
        let fetcher: KeyDocumentFetcher
        let algorithms: Set<JWSAlgorithm>?
        let at: NIODeadline
    }

    /// A failed fetch: which document, and why (never a secret: proxy credentials are redacted at the source).
    struct FetchFailure: Error, CustomStringConvertible {
        enum Stage { case discovery, keys }
        let stage: Stage
        let description: String
    }

    static let jwksAccept = "application/jwk-set+json, application/json"

    init(issuer: String, configuration: GatewayConfiguration.RemoteKeys) throws {
        self.issuer = issuer
        self.configuration = configuration
        self.fetcher = try KeyDocumentFetcher(
            url: configuration.url, what: configuration.discovery ? "openid_configuration" : "jwks_url",
            settings: configuration, accept: configuration.discovery ? "application/json" : Self.jwksAccept)
        // The first retry as soon as a JWKS failure's (at most 10 s), the longest wait at most 5 minutes.
        let backoff = RetryBackoff(
            base: min(configuration.minRefresh, .seconds(10)), cap: min(configuration.maxRefresh, .seconds(300)))
        self.state = NIOLockedValueBox(State(backoff: backoff))
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

    /// Whether the last fetch failed at discovery (the OpenID configuration), not at the JWKS.
    var lastFailureWasDiscovery: Bool { state.withLockedValue { $0.lastFailure == .discovery } }

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
        jwksSource(on: eventLoop).flatMap { fetcher, algorithms in
            fetcher.fetch(on: eventLoop)
                .flatMapErrorThrowing { throw FetchFailure(stage: .keys, description: "JWKS \(fetcher.urlText): \($0)") }
                .map { ($0, algorithms) }
        }.whenComplete { result in
            var changed = false
            switch result {
            case .success(let (response, algorithms)):
                do {
                    changed = self.install(try self.keys(from: response.body, algorithms: algorithms), maxAge: response.maxAge)
                    self.metrics.withLockedValue { $0 }?.jwksFetches.increment()
                } catch {
                    self.failed(error)
                }
            case .failure(let error):
                self.failed(error)
            }
            self.state.withLockedValue { $0.inFlight = nil }
            if changed {
                for observer in self.observers.withLockedValue({ $0 }) { observer() }
            }
            promise.succeed(())
        }
    }

    /// Where the keys are: the configured JWKS, or the one the provider's configuration document names (read
    /// again when older than `max_refresh`, or after a failure).
    private func jwksSource(on eventLoop: EventLoop) -> EventLoopFuture<(KeyDocumentFetcher, Set<JWSAlgorithm>?)> {
        guard configuration.discovery else { return eventLoop.makeSucceededFuture((fetcher, nil)) }
        if let discovered = state.withLockedValue({ $0.discovered }),
            NIODeadline.now() - discovered.at < TimeAmount(configuration.maxRefresh)
        {
            return eventLoop.makeSucceededFuture((discovered.fetcher, discovered.algorithms))
        }
        let url = configuration.url
        return fetcher.fetch(on: eventLoop).flatMapThrowing { response in
            let document: OpenIDConfiguration
            switch OpenIDConfiguration.validate(
                response.body, issuer: self.issuer, documentURL: url, allowInsecure: self.configuration.allowInsecure)
            {
            case .success(let valid): document = valid
            case .failure(let refusal): throw FetchFailure(stage: .discovery, description: "OpenID discovery: \(refusal.reason)")
            }
            let jwks = try KeyDocumentFetcher(
                url: document.jwksURL, what: "jwks_uri", settings: self.configuration, accept: Self.jwksAccept)
            let discovered = Discovered(fetcher: jwks, algorithms: document.algorithms, at: .now())
            self.state.withLockedValue { $0.discovered = discovered }
            return (jwks, document.algorithms)
        }.flatMapErrorThrowing { error in
            if error is FetchFailure { throw error }
            let reason = (error as? GatewayConfigurationError)?.problems.joined(separator: "; ") ?? "\(error)"
            throw FetchFailure(stage: .discovery, description: "OpenID discovery at \(url): \(reason)")
        }
    }

    /// The usable keys of a fetched JWKS: never a symmetric one. Discovery narrows them to the advertised
    /// algorithms, and when it advertises exactly one, that one is the `default_alg` of keys without `alg`
    /// (unless one is configured).
    private func keys(from body: [UInt8], algorithms: Set<JWSAlgorithm>?) throws -> JWKSet {
        let advertisedDefault = algorithms.flatMap { $0.count == 1 ? $0.first : nil }
        let parsed: [JWSKey]
        do {
            parsed = try KeyFile.keys(
                from: body, algorithm: configuration.defaultAlgorithm ?? advertisedDefault, unusable: .skip)
        } catch {
            let section = configuration.discovery ? "`discovery`" : "`remote_keys`"
            let hint = error.code == .algNotAllowed ? "; set `default_alg` under this issuer's \(section)" : ""
            let alternative = error.reason.contains("discovery document") && !configuration.discovery
                ? "; write `discovery: true` on the issuer to use it" : ""
            throw FetchFailure(stage: .keys, description: "the JWKS did not parse: \(error.reason)\(hint)\(alternative)")
        }
        // A key published at a URL is public: an HMAC secret there would let anyone sign tokens.
        let asymmetric = parsed.filter { !$0.isSymmetric }
        if asymmetric.isEmpty, !parsed.isEmpty {
            throw FetchFailure(
                stage: .keys,
                description: "the JWKS holds only symmetric (HMAC) keys, which are never taken from a URL: "
                    + "anyone who can read it could sign tokens")
        }
        guard let algorithms else { return JWKSet(asymmetric) }
        let advertised = asymmetric.filter { algorithms.contains($0.algorithm) }
        if advertised.isEmpty, !asymmetric.isEmpty {
            let offered = Set(asymmetric.map(\.algorithm.rawValue)).sorted().joined(separator: ", ")
            let allowed = algorithms.map(\.rawValue).sorted().joined(separator: ", ")
            throw FetchFailure(
                stage: .keys,
                description: "none of the JWKS keys (\(offered)) is for an algorithm the provider advertises (\(allowed))")
        }
        return JWKSet(advertised)
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
            state.lastFailure = nil
            state.backoff.succeeded()
            state.nextRefresh = .now() + TimeAmount(refresh)
            return changed
        }
    }

    private func failed(_ error: Error) {
        let failure = error as? FetchFailure ?? FetchFailure(stage: .keys, description: "\(error)")
        let metrics = self.metrics.withLockedValue { $0 }
        switch failure.stage {
        case .discovery: metrics?.discoveryFailures.increment()
        case .keys: metrics?.jwksFetchFailures.increment()
        }
        state.withLockedValue { state in
            state.lastError = failure.description
            state.lastFailure = failure.stage
            if configuration.discovery {
                // Read the configuration document again next time: the provider may have moved its keys.
                state.discovered = nil
                state.nextRefresh = .now() + TimeAmount(state.backoff.failed(random: Double.random(in: 0..<1)))
            } else {
                // Retry sooner than a full refresh interval, but not in a tight loop.
                state.nextRefresh = .now() + TimeAmount(min(configuration.minRefresh, .seconds(10)))
            }
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
                let message: Logger.Message = lastFailureWasDiscovery ? "OpenID discovery failed" : "JWKS fetch failed"
                logger.warning(message, metadata: ["issuer": "\(issuer)", "error": "\(error)"])
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
