import Yams

/// `rate_limit:` on a route or in a file's `defaults`:
///
///     rate_limit:
///       key: sub              # sub | client_id | iss | client_address | route
///       rate: 100/minute      # <requests>/second, /minute, /hour or /day
///       burst: 20             # optional; default: the rate's request count
///       store: local          # optional: local (default) or redis
///       name: orders          # optional: the bucket family; default: the route's name
///
/// The rule's name is left empty here: the route fills it in (``RateLimitRule/named(_:)``).
struct RateLimitDecoder {
    static let keys = ["key", "rate", "burst", "store", "name"]
    static let periods: [(names: [String], seconds: Int)] = [
        (["second", "s"], 1), (["minute", "m"], 60), (["hour", "h"], 3600), (["day", "d"], 86_400),
    ]
    /// The fastest rate: one request per microsecond, the Redis script's unit.
    static let maxPerSecond = 1_000_000

    let environment: PolicyEnvironment

    /// The decoded rule, and whether it named itself (`name:`).
    func decode(_ node: Node, reader: inout YAMLReader) -> (rule: RateLimitRule, named: Bool)? {
        let errorsBefore = reader.errorCount
        guard let entries = reader.mapping(node, "`rate_limit`") else { return nil }
        reader.checkKeys(entries, allowed: Self.keys, in: "`rate_limit`")
        reader.requireKeys(entries, ["key", "rate"], in: "`rate_limit`", at: node)
        func value(_ key: String) -> Node? { entries.first(where: { $0.key == key })?.value }
        let key = value("key").flatMap { choice($0, "`key`", reader: &reader) as RateLimitRule.Key? }
        let rate = value("rate").flatMap { self.rate($0, reader: &reader) }
        var burst = rate?.requests
        if let node = value("burst"), let value = reader.int(node, "`burst`") {
            if (1...1_000_000).contains(value) {
                burst = value
            } else {
                reader.error("`burst` must be between 1 and 1000000", at: node, hint: "the requests allowed at once after a quiet spell")
            }
        }
        var store = RateLimitRule.Store.local
        if let node = value("store"), let chosen: RateLimitRule.Store = choice(node, "`store`", reader: &reader) {
            store = chosen
            if chosen == .redis, environment.redisRateLimits == false {
                reader.error(
                    "`store: redis` needs Redis in the gateway configuration", at: node,
                    hint: "add `rate_limits.redis` to the gateway configuration, or use `store: local`")
            }
        }
        let name = value("name").flatMap { nameValue($0, reader: &reader) }
        guard reader.errorCount == errorsBefore, let key, let rate, let burst else { return nil }
        let rule = RateLimitRule(
            name: name ?? "", key: key, requests: rate.requests, periodSeconds: rate.seconds, burst: burst, store: store)
        return (rule, name != nil)
    }

    /// `<requests>/<period>`, e.g. `100/minute` or `10/s`.
    private func rate(_ node: Node, reader: inout YAMLReader) -> (requests: Int, seconds: Int)? {
        let hint = "write requests per period, e.g. `100/minute`, `10/second`, `5000/hour` or `10/s`"
        if case .scalar(let scalar) = node, node.tag.rawValue == Tag.Name.int.rawValue {
            reader.error("`\(scalar.string)` is not a rate: it names no period", at: node, hint: hint)
            return nil
        }
        guard let text = reader.string(node, "`rate`") else { return nil }
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let requests = Int(parts[0]), requests >= 1,
            let period = Self.periods.first(where: { $0.names.contains(String(parts[1])) })
        else {
            reader.error("`\(text)` is not a rate", at: node, hint: hint)
            return nil
        }
        guard requests <= Self.maxPerSecond * period.seconds else {
            reader.error("`\(text)` is faster than \(Self.maxPerSecond) requests a second", at: node, hint: hint)
            return nil
        }
        return (requests, period.seconds)
    }

    private func nameValue(_ node: Node, reader: inout YAMLReader) -> String? {
        guard let name = reader.string(node, "`name`") else { return nil }
        guard !name.isEmpty, name.utf8.count <= 128, name.unicodeScalars.allSatisfy({ (0x21...0x7E).contains($0.value) }) else {
            reader.error("`\(name)` is not a rate limit name", at: node, hint: "use 1 to 128 visible ASCII characters, e.g. `orders-api`")
            return nil
        }
        return name
    }

    private func choice<Choice: RawRepresentable & CaseIterable>(
        _ node: Node, _ what: String, reader: inout YAMLReader
    ) -> Choice? where Choice.RawValue == String {
        guard let text = reader.string(node, what) else { return nil }
        if let value = Choice(rawValue: text) { return value }
        let known = Choice.allCases.map(\.rawValue)
        reader.error("unknown \(what) value `\(text)`", at: node, hint: Suggestion.hint(for: text, among: known) ?? "one of \(known.joined(separator: ", "))")
        return nil
    }
}
