/// The generic cell rate algorithm, as one pure function: a bucket is one number, its theoretical arrival
/// time (TAT), the time at which it would be full again. Each request moves it one `interval` later; a
/// request that would move it more than `tolerance` (`burst` intervals) past now is refused, and the bucket
/// is left as it was. A TAT at or before now is a full bucket, the same as none at all.
///
/// The local store runs it on each event loop's monotonic clock; the Redis store runs the same steps in a
/// Lua script on Redis's clock (`RedisRateLimitScript`), so every gateway process shares one time.
package enum RateLimitGCRA {
    package struct Result: Equatable, Sendable {
        package var allowed: Bool
        /// The bucket's TAT after the request (unchanged when refused).
        package var tat: Int64
        /// Requests the bucket still takes right now.
        package var remaining: Int
        /// For a refused request, how long until one would be allowed.
        package var retryAfter: Int64
        /// How long until the bucket is full again.
        package var reset: Int64

        package init(allowed: Bool, tat: Int64, remaining: Int, retryAfter: Int64, reset: Int64) {
            self.allowed = allowed
            self.tat = tat
            self.remaining = remaining
            self.retryAfter = retryAfter
            self.reset = reset
        }
    }

    package static func check(tat stored: Int64?, now: Int64, interval: Int64, tolerance: Int64) -> Result {
        let tat = max(stored ?? now, now)
        let next = tat + interval
        let allowedAt = next - tolerance
        guard allowedAt <= now else {
            return Result(allowed: false, tat: tat, remaining: 0, retryAfter: allowedAt - now, reset: tat - now)
        }
        let remaining = Int((tolerance - (next - now)) / interval)
        return Result(allowed: true, tat: next, remaining: remaining, retryAfter: 0, reset: next - now)
    }
}
