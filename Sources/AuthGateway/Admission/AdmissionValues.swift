import NIOHTTP1

/// An authorized request, ready to send.
package struct UpstreamRequest {
    package let upstream: String
    package let head: HTTPRequestHead
    package let framing: RequestGuard.BodyFraming
    package var outcome: RequestOutcome
    /// For a route with a CORS rule: the CORS headers the client's response carries instead of the upstream's.
    package var corsHeaders: [(String, String)]?
    /// For a route with a `rate_limit`: the bucket to count the request against before it is forwarded.
    package var rateLimit: RateLimitCheck?
    /// Fields the client's response gains (`RateLimit-Policy`, `RateLimit`), after the upstream's.
    package var addedResponseHeaders: [(String, String)] = []

    package init(
        upstream: String, head: HTTPRequestHead, framing: RequestGuard.BodyFraming, outcome: RequestOutcome,
        corsHeaders: [(String, String)]? = nil, rateLimit: RateLimitCheck? = nil
    ) {
        self.rateLimit = rateLimit
        self.upstream = upstream
        self.head = head
        self.framing = framing
        self.outcome = outcome
        self.corsHeaders = corsHeaders
    }
}

/// The facts about the client connection the gateway vouches for.
package struct ClientConnection: Sendable {
    package let address: String
    /// The unit of the per-client upstream share: the address, or for IPv6 its /64 (one host usually owns a
    /// whole /64, so single addresses would make the share worthless against it).
    package let poolKey: String
    package let isHTTP2: Bool

    package init(address: String, poolKey: String? = nil, isHTTP2: Bool) {
        self.address = address
        self.poolKey = poolKey ?? address
        self.isHTTP2 = isHTTP2
    }
}
