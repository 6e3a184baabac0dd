import JOSE
import GatewayPolicy

/// Verified tokens of one event loop, so the common case (the same token many times) costs a hash
/// lookup instead of a signature check, and the same token on the same route reuses its last decision
/// (``VerifiedClaims``).
///
/// Bounded; keyed by the token's SHA-256; an entry is never used at or past the token's `exp`; the
/// whole cache is dropped when the key generation changes. A full cache evicts the oldest stored entry
/// (first in, first out, in constant time: a ring of the stored fingerprints). Confined to its event loop:
/// no locks.
package final class VerifiedTokenCache {
    struct Entry {
        let verified: VerifiedClaims
        let expiresAt: Double
    }

    private var entries: [TokenFingerprint: Entry] = [:]
    /// The fingerprints in the order they were stored, as a ring once it holds `capacity`; `oldest` is the
    /// next slot to reuse. A slot may name an entry that expired meanwhile (evicting it then frees nothing).
    private var order: [TokenFingerprint] = []
    private var oldest = 0
    private let capacity: Int
    private var generation: UInt64
    private(set) var hits = 0
    private(set) var misses = 0

    package init(capacity: Int, generation: UInt64) {
        self.capacity = max(0, capacity)
        self.generation = generation
    }

    package var count: Int { entries.count }

    /// The cached token for `fingerprint` if still valid at `now` under `generation`.
    package func lookup(_ fingerprint: TokenFingerprint, now: Double, generation: UInt64) -> VerifiedClaims? {
        if generation != self.generation {
            flush()
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
        return entry.verified
    }

    /// Drops every entry (a key set changed).
    package func flush() {
        entries.removeAll(keepingCapacity: true)
        order.removeAll(keepingCapacity: true)
        oldest = 0
    }

    /// Remembers a verified token; tokens without a finite `exp` are not cached.
    package func store(_ fingerprint: TokenFingerprint, _ verified: VerifiedClaims, generation: UInt64) {
        guard capacity > 0, generation == self.generation,
            let expiresAt = verified.fields["exp"]?.numberValue, expiresAt.isFinite
        else { return }
        // A token stored again (verified twice before either stored it) is refreshed in its slot.
        if entries.updateValue(Entry(verified: verified, expiresAt: expiresAt), forKey: fingerprint) != nil { return }
        guard order.count == capacity else { return order.append(fingerprint) }
        let victim = order[oldest]
        order[oldest] = fingerprint
        oldest = (oldest + 1) % capacity
        if victim != fingerprint { entries[victim] = nil }
    }
}
