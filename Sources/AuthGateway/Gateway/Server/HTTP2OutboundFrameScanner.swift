import NIOCore

/// Follows the frames an HTTP/2 endpoint writes, to notice a GOAWAY that reports an error.
///
/// Pure: bytes in, in the order they go out (frame boundaries may fall anywhere); `true` out when the bytes
/// complete a GOAWAY whose error code is not `NO_ERROR` (RFC 9113 §6.8). Payloads are skipped by count.
struct HTTP2OutboundFrameScanner {
    private enum State {
        /// Collecting the 9-byte frame header.
        case header([UInt8])
        /// Skipping the rest of a payload.
        case payload(remaining: Int)
        /// Reading a GOAWAY payload: last stream id (4 bytes), error code (4 bytes), debug data (skipped).
        case goAway(remaining: Int, prefix: [UInt8])
    }

    private static let frameHeaderLength = 9
    private static let goAwayType: UInt8 = 0x7

    private var state = State.header([])

    /// The error code of the last GOAWAY seen, if any.
    private(set) var goAwayErrorCode: UInt32?

    /// Consumes the next bytes written; `true` if they complete a GOAWAY with an error code.
    mutating func consume(_ bytes: ByteBufferView) -> Bool {
        var index = bytes.startIndex
        var sawError = false
        while index < bytes.endIndex {
            let available = bytes.endIndex - index
            switch state {
            case .header(var collected):
                let take = min(Self.frameHeaderLength - collected.count, available)
                collected.append(contentsOf: bytes[index..<(index + take)])
                index += take
                guard collected.count == Self.frameHeaderLength else {
                    state = .header(collected)
                    continue
                }
                let length = Int(collected[0]) << 16 | Int(collected[1]) << 8 | Int(collected[2])
                if collected[3] == Self.goAwayType, length >= 8 {
                    state = .goAway(remaining: length, prefix: [])
                } else {
                    state = length == 0 ? .header([]) : .payload(remaining: length)
                }
            case .payload(let remaining):
                let take = min(remaining, available)
                index += take
                state = remaining == take ? .header([]) : .payload(remaining: remaining - take)
            case .goAway(let remaining, var prefix):
                let take = min(remaining, available)
                let wanted = max(0, min(take, 8 - prefix.count))
                if wanted > 0 {
                    prefix.append(contentsOf: bytes[index..<(index + wanted)])
                    if prefix.count == 8 {
                        let code = prefix[4..<8].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
                        goAwayErrorCode = code
                        if code != 0 { sawError = true }
                    }
                }
                index += take
                state = remaining == take ? .header([]) : .goAway(remaining: remaining - take, prefix: prefix)
            }
        }
        return sawError
    }

    /// Consumes bytes written from elsewhere than memory (a file region): payload bytes, never a GOAWAY.
    mutating func skip(_ count: Int) {
        guard case .payload(let remaining) = state else { return }
        state = remaining <= count ? .header([]) : .payload(remaining: remaining - count)
    }
}
