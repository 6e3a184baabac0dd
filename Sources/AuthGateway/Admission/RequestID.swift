/// A request's id: 128 random-looking bits, printed as 32 hex digits, doubling as a W3C trace id.
///
/// Made from a per-loop generator seeded by the system's random source: unique, cheap, not secret.
package struct RequestID {
    let high: UInt64
    let low: UInt64

    package var text: String {
        String(unsafeUninitializedCapacity: 32) { buffer in
            Self.writeHex(high, into: buffer, at: 0)
            Self.writeHex(low, into: buffer, at: 16)
            return 32
        }
    }

    /// `traceparent` for a new trace whose id is this request id (W3C Trace Context §3.2):
    /// `00-<trace id>-<parent id>-01`.
    var traceparent: String {
        String(unsafeUninitializedCapacity: 55) { buffer in
            let dash = UInt8(ascii: "-"), zero = UInt8(ascii: "0")
            (buffer[0], buffer[1], buffer[2]) = (zero, zero, dash)
            Self.writeHex(high, into: buffer, at: 3)
            Self.writeHex(low, into: buffer, at: 19)
            buffer[35] = dash
            Self.writeHex(low ^ 0x9E37_79B9_7F4A_7C15, into: buffer, at: 36)
            (buffer[52], buffer[53], buffer[54]) = (dash, zero, UInt8(ascii: "1"))
            return 55
        }
    }

    /// 16 lowercase hex digits of `value`, most significant first.
    private static func writeHex(_ value: UInt64, into buffer: UnsafeMutableBufferPointer<UInt8>, at offset: Int) {
        let digits: StaticString = "0123456789abcdef"
        digits.withUTF8Buffer { digits in
            for index in 0..<16 {
                buffer[offset + index] = digits[Int(truncatingIfNeeded: value >> UInt64(60 - 4 * index)) & 0xF]
            }
        }
    }

    /// A SplitMix64 stream: one per event loop.
    package struct Generator {
        private var state: UInt64

        package init() {
            var system = SystemRandomNumberGenerator()
            state = system.next()
        }

        package mutating func next() -> RequestID {
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
