import GatewayPolicy

/// The buckets of `store: local` rules on one event loop: no lock, no I/O, the loop's monotonic clock.
///
/// Each event loop counts on its own, so a key whose requests arrive on k loops (HTTP/1.1 connections spread
/// over them) can pass up to k times its rate; one HTTP/2 connection, or one HTTP/1.1 connection, is counted
/// exactly (docs/POLICY.md "Rate limits"). A full bucket is the same as none, so only keys that spent part
/// of their burst take room; when `capacity` buckets are in use, full ones are swept out (at most once a
/// second), and a new key that still finds no room is not counted: ``check(_:bucket:now:)`` answers `nil`
/// and the caller applies the failure mode.
package struct LocalRateLimiter {
    struct BucketKey: Hashable {
        let family: String
        let bucket: String
    }

    package let capacity: Int
    private var buckets: [BucketKey: Int64] = [:]
    private var nextSweep = Int64.min

    package init(capacity: Int) {
        self.capacity = capacity
    }

    package var count: Int { buckets.count }

    /// Counts one request against `bucket` of `rule` at `now` (nanoseconds, monotonic); `nil` when the table
    /// is full and the bucket is new.
    package mutating func check(_ rule: RateLimitRule, bucket: String, now: Int64) -> RateLimitGCRA.Result? {
        let key = BucketKey(family: rule.family, bucket: bucket)
        let stored = buckets[key]
        let result = RateLimitGCRA.check(
            tat: stored, now: now, interval: rule.intervalNanoseconds, tolerance: rule.toleranceNanoseconds)
        guard result.allowed else { return result }
        if stored == nil, buckets.count >= capacity {
            sweep(now: now)
            guard buckets.count < capacity else { return nil }
        }
        buckets[key] = result.tat
        return result
    }

    /// Drops every full bucket (its TAT is not after now), at most once a second.
    private mutating func sweep(now: Int64) {
        guard now >= nextSweep else { return }
        nextSweep = now + 1_000_000_000
        buckets = buckets.filter { $0.value > now }
    }
}
