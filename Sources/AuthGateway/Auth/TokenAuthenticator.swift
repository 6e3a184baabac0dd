import JOSE
import NIOCore
import NIOHTTP1
import GatewayAdmission
import GatewayPolicy
import GatewayObservability

/// The keys the authenticator verifies with: each accepted issuer's keys, and the generation that changes
/// whenever keys may have changed (cached verifications never outlive it).
package struct TokenKeys: Sendable {
    package let issuers: [String: IssuerKeys]
    package let generation: UInt64
    /// Whether verifications are cached (`token_cache.enabled`).
    package let cached: Bool

    package init(issuers: [String: IssuerKeys], generation: UInt64, cached: Bool) {
        self.issuers = issuers
        self.generation = generation
        self.cached = cached
    }
}

/// Turns a request's bearer token into verified claims, with one event loop's verified-token cache.
///
/// The issuer is read from the (not yet trusted) token only to pick that issuer's keys and rules; the
/// signature and every claim are then checked by that issuer's verifier. Loop-confined.
package final class TokenAuthenticator {
    /// The token check, waiting for a key re-fetch with a future on the loop (see ``AdmissionCore``).
    package typealias Result = TokenCheck<EventLoopFuture<Void>>

    package let cache: VerifiedTokenCache
    private let metrics: AuthenticatorMetrics?

    package init(cache: VerifiedTokenCache, metrics: AuthenticatorMetrics?) {
        self.cache = cache
        self.metrics = metrics
    }

    /// `eventLoop` runs a re-fetch for an unknown `kid` when `mayRefetch`.
    package func authenticate(
        headers: HTTPHeaders, query: String?, keys: TokenKeys, now: Double, eventLoop: EventLoop,
        mayRefetch: Bool
    ) -> Result {
        switch BearerToken.extract(from: headers, query: query) {
        case .absent:
            return .anonymous
        case .invalidRequest(let why):
            return .invalidRequest(why)
        case .malformed(let why):
            metrics?.rejected(.malformedToken)
            return .rejected(JOSEError(.malformedToken, why))
        case .token(let token):
            let verify = { (bytes: UnsafeBufferPointer<UInt8>) in
                self.verify(UnsafeRawBufferPointer(bytes), keys: keys, now: now, eventLoop: eventLoop, mayRefetch: mayRefetch)
            }
            // The header value's own UTF-8 when contiguous (a native string); a copy only otherwise.
            if let result = token.utf8.withContiguousStorageIfAvailable(verify) { return result }
            var copy = String(token)
            return copy.withUTF8(verify)
        }
    }

    private func verify(
        _ token: UnsafeRawBufferPointer, keys: TokenKeys, now: Double, eventLoop: EventLoop, mayRefetch: Bool
    ) -> Result {
        let useCache = keys.cached
        let fingerprint = useCache ? TokenFingerprint(token) : nil
        if let fingerprint {
            if let cached = cache.lookup(fingerprint, now: now, generation: keys.generation) {
                metrics?.cacheHits.increment()
                return .verified(cached)
            }
            metrics?.cacheMisses.increment()
        }
        do throws(JOSEError) {
            let parsed = try CompactJWS.parse(token)
            guard let issuer = parsed.claims["iss"]?.stringValue, let issuerKeys = keys.issuers[issuer] else {
                return .rejected(JOSEError(.badIssuer, "the token's issuer is not configured"))
            }
            guard let verifier = issuerKeys.verifier() else { return .keysUnavailable }
            metrics?.verified(parsed.header.algorithm)
            let verified: VerifiedJWT
            do throws(JOSEError) {
                verified = try verifier.verify(parsed: parsed, now: now)
            } catch {
                if error.code == .unknownKey, mayRefetch, let refetch = issuerKeys.remote?.refreshForUnknownKey(on: eventLoop) {
                    return .needsKeys(refetch)
                }
                throw error
            }
            let claims = VerifiedClaims(verified.claims.fields)
            if let fingerprint {
                cache.store(fingerprint, claims, generation: keys.generation)
            }
            return .verified(claims)
        } catch {
            metrics?.rejected(error.code)
            return .rejected(error)
        }
    }
}
