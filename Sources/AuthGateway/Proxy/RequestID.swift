/// A request's id: 128 random-looking bits, printed as 32 hex digits, doubling as a W3C trace id.
///
/// Made from a per-loop generator seeded by the system's random source: unique, cheap, not secret.
struct RequestID {
    let high: UInt64
    let low: UInt64

    var text: String { Self.hex(high) + Self.hex(low) }

    /// `traceparent` for a new trace whose id is this request id (W3C Trace Context §3.2).
    var traceparent: String { "00-" + text + "-" + Self.hex(low ^ 0x9E37_79B9_7F4A_7C15) + "-01" }

    private static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// A SplitMix64 stream: one per event loop.
    struct Generator {
        private var state: UInt64

        init() {
            var system = SystemRandomNumberGenerator()
            state = system.next()
        }

        mutating func next() -> RequestID {
            RequestID(high: step(), low: step())
        }

        private mutating func step() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }
}
