import JOSE

/// Verified tokens of one event loop, so the common case (the same token many times) costs a hash
/// lookup instead of a signature check.
///
/// Bounded; keyed by the token's SHA-256; an entry is never used at or past the token's `exp`; the
/// whole cache is dropped when the key generation changes. Confined to its event loop: no locks.
package final class VerifiedTokenCache {
    struct Entry {
        let claims: [String: JSONValue]
        let expiresAt: Double
    }

    private var entries: [TokenFingerprint: Entry] = [:]
    private let capacity: Int
    private var generation: UInt64
    private(set) var hits = 0
    private(set) var misses = 0

    package init(capacity: Int, generation: UInt64) {
        self.capacity = max(0, capacity)
        self.generation = generation
    }

    package var count: Int { entries.count }

    /// The cached claims for `fingerprint` if still valid at `now` under `generation`.
    package func lookup(_ fingerprint: TokenFingerprint, now: Double, generation: UInt64) -> [String: JSONValue]? {
        if generation != self.generation {
            entries.removeAll(keepingCapacity: true)
            self.generation = generation
        }
        guard let entry = entries[fingerprint] else {
            misses += 1
            return nil
        }
        guard now < entry.expiresAt else {
            entries[fingerprint] = nil
            misses += 1
            return nil
        }
        hits += 1
        return entry.claims
    }

    /// Drops every entry (a key set changed).
    package func flush() {
        entries.removeAll(keepingCapacity: true)
    }

    /// Remembers a verified token; tokens without a finite `exp` are not cached.
    package func store(_ fingerprint: TokenFingerprint, claims: [String: JSONValue], generation: UInt64) {
        guard capacity > 0, generation == self.generation,
            let expiresAt = claims["exp"]?.numberValue, expiresAt.isFinite
        else { return }
        if entries.count >= capacity, let victim = entries.keys.first {
            entries[victim] = nil
        }
        entries[fingerprint] = Entry(claims: claims, expiresAt: expiresAt)
    }
}
