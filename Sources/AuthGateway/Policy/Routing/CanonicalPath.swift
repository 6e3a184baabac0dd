/// The one canonical form of a request target (docs/POLICY.md, "Canonical paths"), used for matching and forwarding.
///
/// Rules, in order:
/// - The target must be origin-form (start with `/`). The query (after the first `?`) is split off, checked
///   for bytes that can never appear in a request target, and kept verbatim; it is never used for routing.
/// - Rejected anywhere: raw `#`, spaces, control bytes, non-ASCII bytes, malformed `%` escapes.
/// - Rejected in the path: `\`, `;`, characters RFC 3986 does not allow in a path, `%2F`, `%5C`, `%00`,
///   other encoded control bytes, and encoded bytes ≥ 0x80 that are not well-formed UTF-8 (`%C0%AF`).
/// - Escapes of unreserved characters (`A–Z a–z 0–9 - . _ ~`) are decoded; every other escape stays encoded
///   with upper-case hex.
/// - Dot segments are removed (RFC 3986 §5.2.4; `..` never climbs above `/`) and empty segments are merged,
///   except that a trailing `/` is kept.
///
/// The function is pure and idempotent: `canonicalize(canonicalize(x).path) == canonicalize(x)`.
/// It allocates the result strings and nothing else.
package enum CanonicalPath {
    /// Canonicalizes a request target given as text.
    package static func canonicalize(_ target: String) -> Result<CanonicalTarget, PathRejection> {
        var target = target
        return target.withUTF8 { canonicalize($0) }
    }

    /// Canonicalizes a request target given as bytes.
    package static func canonicalize(_ target: [UInt8]) -> Result<CanonicalTarget, PathRejection> {
        target.withUnsafeBufferPointer { canonicalize($0) }
    }

    /// Canonicalizes a request target given as bytes: the origin-form target of the request line or `:path`.
    package static func canonicalize(_ target: UnsafeBufferPointer<UInt8>) -> Result<CanonicalTarget, PathRejection> {
        guard target.first == ASCII.slash else {
            return .failure(PathRejection(.notOriginForm, at: 0))
        }
        var pathEnd = target.count
        for index in target.indices where target[index] == ASCII.question {
            pathEnd = index
            break
        }
        if pathEnd < target.count, let rejection = checkQuery(target, from: pathEnd + 1) {
            return .failure(rejection)
        }
        var rejection: PathRejection?
        let path = String(unsafeUninitializedCapacity: pathEnd) { output in
            switch writePath(target, end: pathEnd, into: output) {
            case .success(let count):
                return count
            case .failure(let error):
                rejection = error
                return 0
            }
        }
        if let rejection {
            return .failure(rejection)
        }
        var query: String?
        if pathEnd < target.count {
            query = String(decoding: UnsafeBufferPointer(rebasing: target[(pathEnd + 1)...]), as: UTF8.self)
        }
        return .success(CanonicalTarget(path: path, query: query))
    }

    /// Checks the query: printable ASCII except `#`, and well-formed `%` escapes. Nothing is decoded.
    private static func checkQuery(_ target: UnsafeBufferPointer<UInt8>, from start: Int) -> PathRejection? {
        var index = start
        while index < target.count {
            let byte = target[index]
            switch byte {
            case ASCII.hash:
                return PathRejection(.fragment, at: index)
            case ASCII.percent:
                guard index + 2 < target.count, hexValue(target[index + 1]) != nil, hexValue(target[index + 2]) != nil
                else {
                    return PathRejection(.invalidEscape, at: index)
                }
                index += 3
                continue
            case 0x00..<0x20, 0x7F:
                return PathRejection(.controlCharacter, at: index)
            case 0x21...0x7E:
                break
            default:
                return PathRejection(.invalidCharacter, at: index)
            }
            index += 1
        }
        return nil
    }

    /// Writes the canonical path of `target[0..<end]` into `output` and returns its length.
    ///
    /// The output is never longer than the input: decoding and merging only shrink, re-cased hex keeps length.
    private static func writePath(
        _ target: UnsafeBufferPointer<UInt8>,
        end: Int,
        into output: UnsafeMutableBufferPointer<UInt8>
    ) -> Result<Int, PathRejection> {
        output[0] = ASCII.slash
        var count = 1  // invariant at each segment start: output[0..<count] ends with "/"
        var index = 1
        var utf8 = UTF8Sequence()
        while true {
            let segmentStart = count
            while index < end, target[index] != ASCII.slash {
                let byte = target[index]
                if byte == ASCII.percent {
                    guard index + 2 < end, let high = hexValue(target[index + 1]), let low = hexValue(target[index + 2])
                    else {
                        return .failure(PathRejection(.invalidEscape, at: index))
                    }
                    let value = high &<< 4 | low
                    if value >= 0x80 {
                        guard utf8.accept(value) else { return .failure(PathRejection(.invalidUTF8, at: index)) }
                    } else {
                        guard utf8.isComplete else { return .failure(PathRejection(.invalidUTF8, at: index)) }
                        if let code = encodedRejection(value) { return .failure(PathRejection(code, at: index)) }
                    }
                    if isUnreserved(value) {
                        output[count] = value
                        count += 1
                    } else {
                        output[count] = ASCII.percent
                        output[count + 1] = hexDigit(high)
                        output[count + 2] = hexDigit(low)
                        count += 3
                    }
                    index += 3
                    continue
                }
                guard utf8.isComplete else { return .failure(PathRejection(.invalidUTF8, at: index)) }
                if let code = rawRejection(byte) { return .failure(PathRejection(code, at: index)) }
                output[count] = byte
                count += 1
                index += 1
            }
            guard utf8.isComplete else { return .failure(PathRejection(.invalidUTF8, at: index)) }
            let atEnd = index >= end
            let length = count - segmentStart
            if length == 1, output[segmentStart] == ASCII.dot {
                count = segmentStart
            } else if length == 2, output[segmentStart] == ASCII.dot, output[segmentStart + 1] == ASCII.dot {
                count = segmentStart
                if count > 1 {
                    // Drop the previous segment: back up to the "/" before it. Never above the root.
                    var cut = count - 2
                    while output[cut] != ASCII.slash { cut -= 1 }
                    count = cut + 1
                }
            } else if length > 0, !atEnd {
                output[count] = ASCII.slash
                count += 1
            }
            if atEnd { return .success(count) }
            index += 1  // the "/" that ended this segment
        }
    }

    /// Why a raw path byte is refused, or `nil` if it may appear as is.
    @inline(__always)
    private static func rawRejection(_ byte: UInt8) -> PathRejection.Code? {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return nil
        // unreserved punctuation, sub-delims except ";", ":" and "@"
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"),
            UInt8(ascii: "!"), UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("),
            UInt8(ascii: ")"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: ","), UInt8(ascii: "="),
            UInt8(ascii: ":"), UInt8(ascii: "@"):
            return nil
        case ASCII.hash: return .fragment
        case ASCII.backslash: return .backslash
        case UInt8(ascii: ";"): return .pathParameter
        case 0x00..<0x20, 0x7F: return .controlCharacter
        default: return .invalidCharacter
        }
    }

    /// Why an escape of an ASCII byte is refused, or `nil` if it may stay (or be decoded).
    @inline(__always)
    private static func encodedRejection(_ value: UInt8) -> PathRejection.Code? {
        switch value {
        case 0x00: return .encodedNUL
        case ASCII.slash: return .encodedSlash
        case ASCII.backslash: return .encodedBackslash
        case 0x01..<0x20, 0x7F: return .encodedControl
        default: return nil
        }
    }

    @inline(__always)
    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
            UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    @inline(__always)
    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte &- UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte &- UInt8(ascii: "a") &+ 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte &- UInt8(ascii: "A") &+ 10
        default: return nil
        }
    }

    @inline(__always)
    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") &+ value : UInt8(ascii: "A") &+ value &- 10
    }
}

/// Byte constants shared by the routing code.
package enum ASCII {
    static let slash = UInt8(ascii: "/")
    static let backslash = UInt8(ascii: "\\")
    static let question = UInt8(ascii: "?")
    static let hash = UInt8(ascii: "#")
    static let percent = UInt8(ascii: "%")
    static let dot = UInt8(ascii: ".")
    static let colon = UInt8(ascii: ":")
}
