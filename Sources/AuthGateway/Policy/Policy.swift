import JOSE

/// A loaded, validated policy: an immutable snapshot the gateway swaps atomically on reload.
///
/// Per request the gateway calls ``route(method:host:path:)`` (before reading any token), then
/// ``authorize(_:claims:)`` with the verified claims (or `nil` without a token); ``decide(method:host:path:claims:)``
/// does both. Paths must be canonical (``CanonicalPath``). Default deny: no route is 404 `no_route`.
package struct Policy: Sendable {
    /// Every route, in file order (files sorted by name).
    package let routes: [Route]
    let trie: RouteTrie

    init(routes: [Route], trie: RouteTrie) {
        self.routes = routes
        self.trie = trie
    }

    /// The route for a request, or `nil` (404). Allocation-free.
    ///
    /// - Parameters:
    ///   - method: the request method, case-sensitive.
    ///   - host: the `Host` / `:authority` value (a port and one trailing dot are ignored), or `nil`.
    ///   - path: the canonical path.
    package func route(method: String, host: String?, path: String) -> Route? {
        guard let slot = HTTPMethodSet.slot(of: method) else { return nil }
        let index = Self.withBytes(path) { pathBytes in
            guard let host, trie.hasHostRoutes else { return trie.match(methodSlot: slot, host: nil, path: pathBytes) }
            return Self.withBytes(host) { trie.match(methodSlot: slot, host: $0, path: pathBytes) }
        }
        guard let index else { return nil }
        return routes[index]
    }

    /// The decision for a request that matched `route`, given the verified claims (`nil`: no token).
    ///
    /// Order: public → allow; no token → 401 `token_missing`; issuer not accepted → 401 `issuer_not_allowed`;
    /// requirement not held → 403 with the failed clause's reason; a required identity header whose claim is
    /// missing → 401 `claim_missing`; an identity header that cannot be encoded → 401 `claim_unencodable`;
    /// otherwise allow with the identity headers.
    ///
    /// Depends on nothing but `route` and `claims` (``VerifiedClaims`` keeps its result for a cached token).
    package func authorize(_ route: Route, claims: [String: JSONValue]?) -> Decision {
        guard case .token(let issuers, let requirement) = route.access else {
            return .allow(route: route, identityHeaders: [])
        }
        guard let claims else {
            return .deny(Denial(
                route: route, status: 401, reason: .tokenMissing, cause: nil, challenge: .tokenRequired))
        }
        if let issuers {
            let issuer = claims["iss"]?.stringValue
            guard let issuer, issuers.contains(issuer) else {
                return .deny(Denial(
                    route: route, status: 401, reason: .issuerNotAllowed, cause: .issuer(issuer),
                    challenge: .invalidToken))
            }
        }
        if let requirement {
            let result = requirement.evaluate(claims)
            if result.outcome != .held {
                let clause = result.blame ?? requirement
                return .deny(Denial(
                    route: route, status: 403, reason: clause.denyReason, cause: .clause(clause),
                    challenge: .insufficientScope(scopes: route.challengeScopes)))
            }
        }
        var headers: [IdentityHeader] = []
        headers.reserveCapacity(route.identityHeaders.count)
        for rule in route.identityHeaders {
            switch IdentityHeaderEncoder.encode(rule.source, claims) {
            case .value(let value):
                headers.append(IdentityHeader(name: rule.name, value: value))
            case .omitted where rule.optional:
                continue
            case .omitted:
                return .deny(Denial(
                    route: route, status: 401, reason: .claimMissing, cause: .identityHeader(rule.name),
                    challenge: .invalidToken))
            case .unencodable:
                return .deny(Denial(
                    route: route, status: 401, reason: .claimUnencodable, cause: .identityHeader(rule.name),
                    challenge: .invalidToken))
            }
        }
        return .allow(route: route, identityHeaders: headers)
    }

    /// Routing and authorization in one call, for claims already verified (or none): ``AdmissionCore``'s order.
    package func decide(method: String, host: String?, path: String, claims: [String: JSONValue]?) -> Decision {
        AdmissionCore.decide(self, method: method, host: host, path: path) { .success(claims) }
    }

    /// The methods routes take `path` for on `host`: those of public routes, and those needing a token.
    package func routedMethods(host: String?, path: String) -> (public: HTTPMethodSet, protected: HTTPMethodSet) {
        var open = HTTPMethodSet()
        var protected = HTTPMethodSet()
        for (slot, name) in HTTPMethodSet.names.enumerated() {
            guard let route = route(method: name, host: host, path: path) else { continue }
            let method = HTTPMethodSet(rawValue: 1 << UInt8(slot))
            if route.isPublic { open.formUnion(method) } else { protected.formUnion(method) }
        }
        return (open, protected)
    }

    /// The decision for a request whose method no route takes: 405 with `Allow` when routes take the path
    /// for other methods the client may learn of (public ones; protected ones only once `authenticated`,
    /// so that anonymous clients learn nothing a 404 would not tell them), else 404 `no_route`.
    package func unrouted(host: String?, path: String, authenticated: Bool) -> Decision {
        unrouted(routedMethods(host: host, path: path), authenticated: authenticated)
    }

    /// ``unrouted(host:path:authenticated:)`` for a caller that already has ``routedMethods(host:path:)``.
    package func unrouted(_ routed: (public: HTTPMethodSet, protected: HTTPMethodSet), authenticated: Bool) -> Decision {
        let allow = authenticated ? routed.public.union(routed.protected) : routed.public
        guard !allow.isEmpty else {
            return .deny(Denial(route: nil, status: 404, reason: .noRoute, cause: nil, challenge: nil))
        }
        return .deny(Denial(route: nil, status: 405, reason: .methodNotAllowed, cause: nil, challenge: nil, allow: allow))
    }

    /// Every identity header name any route sets, lower-cased: the gateway strips these from clients.
    package var identityHeaderNames: Set<String> {
        Set(routes.flatMap { $0.identityHeaders.map { $0.name.lowercased() } })
    }

    @inline(__always)
    static func withBytes<Result>(_ text: String, _ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        if let result = text.utf8.withContiguousStorageIfAvailable(body) { return result }
        var copy = text
        return copy.withUTF8(body)
    }
}
