import JOSE

/// `rate_limit:` on a route or in a file's `defaults`: how many requests a key may make, as a generic cell
/// rate algorithm (GCRA, ``RateLimitGCRA``): a sustained `requests` per `period`, and up to `burst` at once
/// after a quiet spell.
///
/// The key is always something the gateway vouches for: a claim of the verified token, the client's TCP
/// address, or the route itself. Never a header: a header is whatever the client says it is.
package struct RateLimitRule: Sendable, Hashable {
    /// What one bucket is counted for.
    package enum Key: String, Sendable, Hashable, CaseIterable {
        /// The verified token's `sub`.
        case sub
        /// The verified token's `client_id` (RFC 9068), else its `azp` (OpenID Connect).
        case clientID = "client_id"
        /// The verified token's `iss`: one bucket per identity provider.
        case iss
        /// The client's address as the gateway's socket sees it (never `X-Forwarded-For`).
        case clientAddress = "client_address"
        /// Every request on the route shares one bucket.
        case route

        /// Whether the key is a claim of a verified token (a public route has none).
        package var isClaim: Bool { self == .sub || self == .clientID || self == .iss }
    }

    /// Where the buckets live.
    package enum Store: String, Sendable, Hashable, CaseIterable {
        /// In each gateway process, per event loop (no lock on the data path; see docs/POLICY.md for the
        /// approximation this makes).
        case local
        /// In Redis, shared by every gateway process that uses the same Redis and key prefix.
        case redis
    }

    /// The bucket family's name: the route's name unless `name:` says otherwise. Routes with the same name
    /// (and the same key) share buckets; the name is also the `RateLimit-Policy` item's name.
    package let name: String
    package let key: Key
    package let requests: Int
    /// The period `requests` are counted over, in seconds.
    package let periodSeconds: Int
    package let burst: Int
    package let store: Store

    /// The buckets' namespace: the name and the key kind (two rules of one name but different keys never
    /// share a bucket).
    package let family: String

    package init(name: String, key: Key, requests: Int, periodSeconds: Int, burst: Int, store: Store) {
        self.family = "\(name)/\(key.rawValue)"
        self.name = name
        self.key = key
        self.requests = requests
        self.periodSeconds = periodSeconds
        self.burst = burst
        self.store = store
    }

    /// The same rule under another name (a `defaults` rule takes each route's name).
    package func named(_ name: String) -> RateLimitRule {
        RateLimitRule(name: name, key: key, requests: requests, periodSeconds: periodSeconds, burst: burst, store: store)
    }

    /// The time one request costs, in nanoseconds (the GCRA's emission interval): `period / requests`.
    package var intervalNanoseconds: Int64 {
        Int64(periodSeconds) * 1_000_000_000 / Int64(requests)
    }

    /// How far ahead of now a bucket's theoretical arrival time may run (the GCRA's tolerance): `burst`
    /// intervals.
    package var toleranceNanoseconds: Int64 {
        intervalNanoseconds * Int64(burst)
    }

    /// The bucket a request counts against. Requests without a value for the key (a token without
    /// `client_id` or `azp`) share one bucket, named `-` (docs/POLICY.md).
    package func bucket(claims: [String: JSONValue]?, clientAddress: String) -> String {
        switch key {
        case .sub: return claims?["sub"]?.stringValue ?? "-"
        case .clientID: return (claims?["client_id"] ?? claims?["azp"])?.stringValue ?? "-"
        case .iss: return claims?["iss"]?.stringValue ?? "-"
        case .clientAddress: return clientAddress
        case .route: return ""
        }
    }

    /// The `RateLimit-Policy` field value (draft-ietf-httpapi-ratelimit-headers): `burst` requests (`q`) per
    /// the time they take to earn back (`w`, seconds), which is the sustained rate.
    package var policyFieldValue: String {
        let window = max(1, (Int64(burst) * intervalNanoseconds + 999_999_999) / 1_000_000_000)
        return "\(structuredName);q=\(burst);w=\(window)"
    }

    /// The name as a structured-field string (RFC 8941 §3.3.3).
    package var structuredName: String {
        var text = "\""
        for character in name.unicodeScalars where (0x20...0x7E).contains(character.value) {
            if character == "\"" || character == "\\" { text += "\\" }
            text.unicodeScalars.append(character)
        }
        return text + "\""
    }
}
