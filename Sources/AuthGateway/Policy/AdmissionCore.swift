import JOSE

/// What checking a request's credentials found, as ``AdmissionCore`` needs it. `Pending` is how the caller
/// waits for an issuer's keys to be fetched again (the gateway: a future on its event loop; tools that
/// never fetch: `Never`).
package enum TokenCheck<Pending> {
    /// No credential.
    case anonymous
    case verified(VerifiedClaims)
    /// 401 `invalid_token`, with the verifier's reason.
    case rejected(JOSEError)
    /// 400 `invalid_request`: credentials no token can be read from (two of them, a token in the query).
    case invalidRequest(String)
    /// 503: the issuer's keys are not available.
    case keysUnavailable
    /// The token names a key the issuer may just have published: decide again once `Pending` completes.
    case needsKeys(Pending)
}

/// The gateway's order of checks for one request whose target is canonical, as one pure function: the
/// route first; a public route takes no token; a protected route's token is checked, then the policy
/// authorizes the claims; a request no route takes is 404, or 405 naming the methods the client may learn
/// of (a protected route's only with a valid token, which is checked only then).
///
/// The gateway (``RequestAdmission``), the `http` fuzz target and `keytool policy test` / `explain` all
/// decide through it, so a policy test that passes means the gateway decides the same. The credentials are
/// checked only when a route needs them, through `token`, which runs at most once.
package enum AdmissionCore {
    package enum Outcome<Pending> {
        /// The policy's decision, with the verified claims (none for a public route, an anonymous request or a
        /// refused token) and the verifier's error for a refused token.
        case decided(Decision, claims: [String: JSONValue]?, tokenError: JOSEError?)
        /// 400 `invalid_request` on this protected route.
        case invalidRequest(Route)
        /// 503 on this protected route: the issuer's keys are not available.
        case keysUnavailable(Route)
        /// Decide again once `Pending` completes.
        case needsKeys(Pending)
    }

    package static func decide<Pending>(
        _ policy: Policy, method: String, host: String?, path: String, token: () -> TokenCheck<Pending>
    ) -> Outcome<Pending> {
        guard let route = policy.route(method: method, host: host, path: path) else {
            let routed = policy.routedMethods(host: host, path: path)
            var authenticated = false
            if !routed.protected.isEmpty {
                switch token() {
                case .verified: authenticated = true
                case .needsKeys(let pending): return .needsKeys(pending)
                case .anonymous, .rejected, .invalidRequest, .keysUnavailable: break
                }
            }
            return .decided(policy.unrouted(routed, authenticated: authenticated), claims: nil, tokenError: nil)
        }
        guard !route.isPublic else {
            return .decided(policy.authorize(route, claims: nil), claims: nil, tokenError: nil)
        }
        switch token() {
        case .anonymous:
            return .decided(policy.authorize(route, claims: nil), claims: nil, tokenError: nil)
        case .verified(let verified):
            return .decided(verified.decision(for: route, by: policy), claims: verified.fields, tokenError: nil)
        case .rejected(let error):
            return .decided(.invalidToken(route: route, code: error.code.rawValue), claims: nil, tokenError: error)
        case .invalidRequest:
            return .invalidRequest(route)
        case .keysUnavailable:
            return .keysUnavailable(route)
        case .needsKeys(let pending):
            return .needsKeys(pending)
        }
    }

    /// ``decide(_:method:host:path:token:)`` for a token already checked, or never fetched for: tools and
    /// tests. `credential` runs only when a route needs it: `.success(nil)` for no token, the claims of a
    /// verified one, or the verifier's error.
    package static func decide(
        _ policy: Policy, method: String, host: String?, path: String,
        credential: () -> Result<[String: JSONValue]?, JOSEError>
    ) -> Decision {
        let outcome = decide(policy, method: method, host: host, path: path) { () -> TokenCheck<Never> in
            switch credential() {
            case .success(let claims?): return .verified(VerifiedClaims(claims))
            case .success(nil): return .anonymous
            case .failure(let error): return .rejected(error)
            }
        }
        switch outcome {
        case .decided(let decision, _, _):
            return decision
        case .invalidRequest(let route), .keysUnavailable(let route):
            preconditionFailure("a checked credential left \(route.name) without a decision")
        }
    }
}
