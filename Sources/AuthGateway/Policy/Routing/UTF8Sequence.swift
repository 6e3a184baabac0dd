/// A byte-at-a-time check that percent-decoded bytes ≥ 0x80 form well-formed UTF-8 (RFC 3629):
/// no overlong forms (`%C0%AF`), no surrogates, nothing above U+10FFFF, no truncated sequences.
struct UTF8Sequence {
    private var remaining = 0
    private var lower: UInt8 = 0x80
    private var upper: UInt8 = 0xBF

    /// True when no multi-byte sequence is open.
    var isComplete: Bool { remaining == 0 }

    /// Feeds one byte ≥ 0x80; returns false if the sequence can no longer be well-formed.
    mutating func accept(_ byte: UInt8) -> Bool {
        if remaining > 0 {
            guard byte >= lower, byte <= upper else { return false }
            remaining -= 1
            lower = 0x80
            upper = 0xBF
            return true
        }
        switch byte {
        case 0xC2...0xDF: remaining = 1
        case 0xE0: remaining = 2; lower = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: remaining = 2
        case 0xED: remaining = 2; upper = 0x9F
        case 0xF0: remaining = 3; lower = 0x90
        case 0xF1...0xF3: remaining = 3
        case 0xF4: remaining = 3; upper = 0x8F
        default: return false  // continuation byte without a lead, C0, C1, F5...FF
        }
        return true
    }
}
