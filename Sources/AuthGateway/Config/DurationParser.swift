/// Reads durations as operators write them: `500ms`, `2s`, `1.5s`, `5m`, `1h`, `1d`.
///
/// A number (digits, optionally a fraction) directly followed by one unit. No bare numbers (is `30`
/// seconds or milliseconds?), no signs, no exponents, no compound forms such as `1m30s` (write `90s`).
enum DurationParser {
    /// Seconds per unit, in the order the documentation lists them.
    static let units: [(name: String, seconds: Double)] = [
        ("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86_400),
    ]

    /// The longest duration accepted: a year. Longer values are typos, and the NIO time amounts built from
    /// them would overflow.
    static let maximum: Double = 365 * 86_400

    enum Outcome: Equatable {
        case seconds(Double)
        /// Digits without a unit, such as `30`.
        case missingUnit(String)
        /// A number followed by something that is not a unit, such as `2sec`.
        case unknownUnit(String)
        case invalid
    }

    static func parse(_ text: String) -> Outcome {
        let number = text.prefix(while: { $0.isASCII && ($0.isNumber || $0 == ".") })
        let unit = String(text[number.endIndex...])
        let parts = number.split(separator: ".", omittingEmptySubsequences: false)
        guard !number.isEmpty, parts.count <= 2, parts.allSatisfy({ !$0.isEmpty }), let value = Double(number)
        else { return .invalid }
        if unit.isEmpty { return .missingUnit(String(number)) }
        guard let scale = units.first(where: { $0.name == unit })?.seconds else { return .unknownUnit(unit) }
        return .seconds(value * scale)
    }
}

extension Duration {
    /// The duration in seconds, for APIs that take seconds as a `Double` (JOSE's clock, timers' rates).
    package var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) * 1e-18
    }
}
