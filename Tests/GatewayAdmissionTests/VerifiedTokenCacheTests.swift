import GatewayPolicy
import JOSE
import Testing

@testable import GatewayAdmission

/// One event loop's verified-token cache on its own: it answers only for a token it stored, under the key
/// generation it was stored with, strictly before the token's `exp`; it never holds more than its capacity;
/// and it never stores a token whose `exp` is not a finite number.
@Suite("Verified-token cache")
struct VerifiedTokenCacheTests {
    static let exp: Double = 1_800_000_300

    static func claims(sub: String = "alice", exp: JSONValue? = .int(Int64(VerifiedTokenCacheTests.exp))) -> [String: JSONValue] {
        var claims: [String: JSONValue] = ["iss": "https://idp.example", "sub": .string(sub)]
        if let exp { claims["exp"] = exp }
        return claims
    }

    static func fingerprint(_ n: Int) -> TokenFingerprint { TokenFingerprint("token-\(n)") }

    @Test("a hit is the stored object itself, so the decision it keeps (VerifiedClaims) outlives the request")
    func hitIsTheStoredObject() {
        let cache = VerifiedTokenCache(capacity: 4, generation: 1)
        let verified = VerifiedClaims(Self.claims())
        cache.store(Self.fingerprint(1), verified, generation: 1)
        #expect(cache.lookup(Self.fingerprint(1), now: 0, generation: 1) === verified)
    }

    @Test("a stored token is a hit with its claims; another token is a miss")
    func hitAndMiss() {
        let cache = VerifiedTokenCache(capacity: 4, generation: 1)
        cache.store(Self.fingerprint(1), claims: Self.claims(), generation: 1)
        #expect(cache.count == 1)
        #expect(cache.lookup(Self.fingerprint(1), now: Self.exp - 100, generation: 1)?.fields == Self.claims())
        #expect(cache.lookup(Self.fingerprint(2), now: Self.exp - 100, generation: 1) == nil)
        #expect(cache.hits == 1)
        #expect(cache.misses == 1)
    }

    @Test("the key is the token's whole fingerprint: a token differing in one byte misses")
    func keyedByFingerprint() {
        let cache = VerifiedTokenCache(capacity: 4, generation: 1)
        cache.store(TokenFingerprint("aaa.bbb.ccc"), claims: Self.claims(), generation: 1)
        #expect(cache.lookup(TokenFingerprint("aaa.bbb.ccd"), now: 0, generation: 1) == nil)
        #expect(cache.lookup(TokenFingerprint("aaa.bbb.ccc"), now: 0, generation: 1)?.fields == Self.claims())
    }

    @Test("an entry answers strictly before exp, never at or past it, and is dropped once expired")
    func expiry() {
        let cache = VerifiedTokenCache(capacity: 4, generation: 1)
        cache.store(Self.fingerprint(1), claims: Self.claims(), generation: 1)
        #expect(cache.lookup(Self.fingerprint(1), now: Self.exp - 0.001, generation: 1) != nil)
        #expect(cache.lookup(Self.fingerprint(1), now: Self.exp, generation: 1) == nil)
        #expect(cache.count == 0)
        // Dropped, not hidden: an earlier clock does not bring it back.
        #expect(cache.lookup(Self.fingerprint(1), now: Self.exp - 100, generation: 1) == nil)

        cache.store(Self.fingerprint(2), claims: Self.claims(), generation: 1)
        #expect(cache.lookup(Self.fingerprint(2), now: Self.exp + 1, generation: 1) == nil)
        #expect(cache.count == 0)
    }

    @Test("a fractional exp is honoured to the fraction")
    func fractionalExp() {
        let cache = VerifiedTokenCache(capacity: 4, generation: 1)
        cache.store(Self.fingerprint(1), claims: Self.claims(exp: .double(1_000.5)), generation: 1)
        #expect(cache.lookup(Self.fingerprint(1), now: 1_000.4, generation: 1) != nil)
        #expect(cache.lookup(Self.fingerprint(1), now: 1_000.5, generation: 1) == nil)
    }

    @Test("another key generation drops the whole cache; the old generation's entries never come back")
    func generationChange() {
        let cache = VerifiedTokenCache(capacity: 4, generation: 1)
        cache.store(Self.fingerprint(1), claims: Self.claims(), generation: 1)
        cache.store(Self.fingerprint(2), claims: Self.claims(sub: "bob"), generation: 1)
        #expect(cache.count == 2)
        #expect(cache.lookup(Self.fingerprint(1), now: 0, generation: 2) == nil)
        #expect(cache.count == 0)
        #expect(cache.lookup(Self.fingerprint(2), now: 0, generation: 1) == nil)
        #expect(cache.lookup(Self.fingerprint(2), now: 0, generation: 2) == nil)
    }

    @Test("a verification from another generation than the cache's is not stored")
    func staleStore() {
        let cache = VerifiedTokenCache(capacity: 4, generation: 1)
        _ = cache.lookup(Self.fingerprint(9), now: 0, generation: 2)
        // A verification that started under generation 1 finishes after the cache moved on.
        cache.store(Self.fingerprint(1), claims: Self.claims(), generation: 1)
        #expect(cache.count == 0)
        #expect(cache.lookup(Self.fingerprint(1), now: 0, generation: 2) == nil)
        #expect(cache.lookup(Self.fingerprint(1), now: 0, generation: 1) == nil)
    }

    @Test("flush drops every entry")
    func flush() {
        let cache = VerifiedTokenCache(capacity: 4, generation: 1)
        for n in 0..<3 { cache.store(Self.fingerprint(n), claims: Self.claims(), generation: 1) }
        cache.flush()
        #expect(cache.count == 0)
        for n in 0..<3 { #expect(cache.lookup(Self.fingerprint(n), now: 0, generation: 1) == nil) }
    }

    @Test("never more entries than the capacity; a full cache evicts one entry for the newest")
    func capacityBound() {
        let cache = VerifiedTokenCache(capacity: 3, generation: 1)
        for n in 0..<10 {
            cache.store(Self.fingerprint(n), claims: Self.claims(sub: "user-\(n)"), generation: 1)
            #expect(cache.count == min(n + 1, 3))
            // The entry just stored is always there, with its own claims.
            #expect(cache.lookup(Self.fingerprint(n), now: 0, generation: 1)?.fields == Self.claims(sub: "user-\(n)"))
        }
        let present = (0..<10).filter { cache.lookup(Self.fingerprint($0), now: 0, generation: 1) != nil }
        #expect(present == [7, 8, 9], "the oldest stored go first")
    }

    @Test("eviction is first in, first out, also after expired entries and a flush left their slots behind")
    func evictionOrder() {
        let cache = VerifiedTokenCache(capacity: 3, generation: 1)
        cache.store(Self.fingerprint(1), claims: Self.claims(exp: .int(100)), generation: 1)
        cache.store(Self.fingerprint(2), claims: Self.claims(), generation: 1)
        cache.store(Self.fingerprint(3), claims: Self.claims(), generation: 1)
        #expect(cache.lookup(Self.fingerprint(1), now: 200, generation: 1) == nil, "expired and dropped")
        cache.store(Self.fingerprint(4), claims: Self.claims(), generation: 1)
        #expect(cache.count == 3, "the expired entry's slot was reused: 2, 3 and 4 stay")
        cache.store(Self.fingerprint(2), claims: Self.claims(sub: "again"), generation: 1)
        #expect(cache.count == 3, "storing a present token again refreshes it without a new slot")
        cache.store(Self.fingerprint(5), claims: Self.claims(), generation: 1)
        let present = (1...5).filter { cache.lookup(Self.fingerprint($0), now: 0, generation: 1) != nil }
        #expect(present == [3, 4, 5])
        cache.flush()
        for n in 6...8 { cache.store(Self.fingerprint(n), claims: Self.claims(), generation: 1) }
        #expect((6...8).allSatisfy { cache.lookup(Self.fingerprint($0), now: 0, generation: 1) != nil })
    }

    @Test("a capacity of zero (or less) caches nothing")
    func zeroCapacity() {
        for capacity in [0, -5] {
            let cache = VerifiedTokenCache(capacity: capacity, generation: 1)
            cache.store(Self.fingerprint(1), claims: Self.claims(), generation: 1)
            #expect(cache.count == 0)
            #expect(cache.lookup(Self.fingerprint(1), now: 0, generation: 1) == nil)
        }
    }

    @Test(
        "a token without a finite numeric exp is never cached",
        arguments: [
            nil, JSONValue.null, .string("1800000300"), .bool(true), .double(.infinity), .double(-.infinity),
            .double(.nan), .array([.int(1_800_000_300)]),
        ] as [JSONValue?])
    func noFiniteExp(_ exp: JSONValue?) {
        let cache = VerifiedTokenCache(capacity: 4, generation: 1)
        cache.store(Self.fingerprint(1), claims: Self.claims(exp: exp), generation: 1)
        #expect(cache.count == 0)
        #expect(cache.lookup(Self.fingerprint(1), now: 0, generation: 1) == nil)
    }
}

extension VerifiedTokenCache {
    /// Stores a token verified with these claims.
    fileprivate func store(_ fingerprint: TokenFingerprint, claims: [String: JSONValue], generation: UInt64) {
        store(fingerprint, VerifiedClaims(claims), generation: generation)
    }
}
