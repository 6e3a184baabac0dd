import JOSE
import NIOHTTP1

/// Turns a request's bearer token into verified claims, with one event loop's verified-token cache.
///
/// The issuer is read from the (not yet trusted) token only to pick that issuer's keys and rules; the
/// signature and every claim are then checked by that issuer's verifier. Loop-confined.
final class TokenAuthenticator {
    enum Result {
        /// No token: the policy decides whether the route needs one.
        case anonymous
        case verified([String: JSONValue])
        /// 401 `invalid_token` with the verifier's reason code.
        case rejected(JOSEError)
        /// 400 `invalid_request`.
        case malformed(String)
    }

    let cache: VerifiedTokenCache
    private let metrics: AuthenticatorMetrics?

    init(cache: VerifiedTokenCache, metrics: AuthenticatorMetrics?) {
        self.cache = cache
        self.metrics = metrics
    }

    func authenticate(headers: HTTPHeaders, query: String?, snapshot: GatewaySnapshot, now: Double) -> Result {
        switch BearerToken.extract(from: headers, query: query) {
        case .absent:
            return .anonymous
        case .invalidRequest(let why):
            return .malformed(why)
        case .token(let token):
            var text = String(token)
            return text.withUTF8 { verify(UnsafeRawBufferPointer($0), snapshot: snapshot, now: now) }
        }
    }

    private func verify(_ token: UnsafeRawBufferPointer, snapshot: GatewaySnapshot, now: Double) -> Result {
        let useCache = snapshot.configuration.tokenCache.enabled
        let fingerprint = useCache ? TokenFingerprint(token) : nil
        if let fingerprint {
            if let claims = cache.lookup(fingerprint, now: now, generation: snapshot.keyGeneration) {
                metrics?.cacheHits.increment()
                return .verified(claims)
            }
            metrics?.cacheMisses.increment()
        }
        do {
            let parsed = try CompactJWS.parse(token)
            guard let issuer = parsed.claims["iss"]?.stringValue, let verifier = snapshot.verifiers[issuer] else {
                return .rejected(JOSEError(.badIssuer, "the token's issuer is not configured"))
            }
            metrics?.verified(parsed.header.algorithm)
            let verified = try verifier.verify(parsed: parsed, now: now)
            if let fingerprint {
                cache.store(fingerprint, claims: verified.claims.fields, generation: snapshot.keyGeneration)
            }
            return .verified(verified.claims.fields)
        } catch {
            metrics?.rejected(error.code)
            return .rejected(error)
        }
    }
}
