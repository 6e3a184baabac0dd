import GatewayPolicy
import GatewayRedis

/// The GCRA of ``RateLimitGCRA`` as one Lua script, run atomically by Redis: one round trip per request, on
/// Redis's clock (`TIME`), so every gateway process counts on the same time whatever their clocks say.
/// Times are microseconds (exact in Lua's doubles for centuries); a bucket expires when it would be full.
///
/// KEYS[1]: the bucket. ARGV[1]: the interval, ARGV[2]: the tolerance (µs).
/// Reply: {allowed (1/0), remaining, retry after (µs), reset (µs)}.
enum RedisRateLimitScript {
    static let source = """
        local interval = tonumber(ARGV[1])
        local tolerance = tonumber(ARGV[2])
        local time = redis.call('TIME')
        local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
        local tat = tonumber(redis.call('GET', KEYS[1])) or now
        if tat < now then tat = now end
        local nextTat = tat + interval
        local allowedAt = nextTat - tolerance
        if allowedAt > now then
          return {0, 0, allowedAt - now, tat - now}
        end
        local ttl = math.ceil((nextTat - now) / 1000)
        redis.call('SET', KEYS[1], string.format('%d', nextTat), 'PX', string.format('%d', ttl))
        return {1, math.floor((tolerance - (nextTat - now)) / interval), 0, nextTat - now}
        """

    /// The result of a reply, in nanoseconds; `nil` for a reply of another shape.
    static func result(from reply: RESPValue) -> RateLimitGCRA.Result? {
        guard case .array(let items?) = reply, items.count == 4 else { return nil }
        var numbers: [Int64] = []
        for item in items {
            guard case .integer(let value) = item else { return nil }
            numbers.append(value)
        }
        guard numbers[0] == 0 || numbers[0] == 1, numbers[1] >= 0, numbers[2] >= 0, numbers[3] >= 0 else { return nil }
        let (reset, overflow) = numbers[3].multipliedReportingOverflow(by: 1000)
        let (retry, overflow2) = numbers[2].multipliedReportingOverflow(by: 1000)
        guard !overflow, !overflow2 else { return nil }
        return RateLimitGCRA.Result(
            allowed: numbers[0] == 1, tat: 0, remaining: Int(clamping: numbers[1]), retryAfter: retry, reset: reset)
    }
}
