// Fuzz target `path`: bytes → CanonicalPath.canonicalize (the request target of the request line or `:path`).
//
// Invariants on every accepted target: the path starts with `/`, is printable ASCII, has no `//`, no dot
// segment, no `\`, no escape of `/`, `\`, NUL, a control byte or an unreserved character, only upper-case
// hex, and is no longer than the input's path; the query is the input's bytes after the first `?`;
// canonicalizing again changes nothing; the text and byte entry points agree; and the path equals an
// independent, slow re-implementation (decode unreserved escapes, then RFC 3986 §5.2.4 plus `//` merging).
// Inputs with a raw `\`, `#`, space or control byte, or an escaped `/`, `\` or NUL, are always refused.

@testable import GatewayPolicy

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    let result = CanonicalPath.canonicalize(input)
    if let text = String(validating: input, as: UTF8.self) {
        invariant(CanonicalPath.canonicalize(text) == result, "the text and byte entry points disagree")
    }
    let pathEnd = input.firstIndex(of: UInt8(ascii: "?")) ?? input.count
    let rawPath = Array(input[..<pathEnd])
    guard case .success(let target) = result else { return 0 }

    for byte in input {
        invariant(byte > 0x20 && byte < 0x7F, "accepted a target with byte \(byte)")
        invariant(byte != UInt8(ascii: "#"), "accepted a target with a raw #")
    }
    invariant(!rawPath.contains(UInt8(ascii: "\\")), "accepted a raw backslash in the path")
    for escape in ["%2f", "%5c", "%00"] {
        invariant(!containsASCIICaseInsensitive(rawPath, escape), "accepted \(escape) in the path")
    }

    let path = Array(target.path.utf8)
    checkCanonical(path)
    invariant(path.count <= rawPath.count, "the canonical path is longer than the input's path")
    if pathEnd < input.count {
        invariant(target.query.map { Array($0.utf8) } == Array(input[(pathEnd + 1)...]), "the query was changed")
    } else {
        invariant(target.query == nil, "a query appeared from nowhere")
    }

    // Idempotent, through the forwarded form (path + query) and through the path alone.
    invariant(CanonicalPath.canonicalize(target.description) == .success(target), "canonicalize is not idempotent")
    invariant(
        CanonicalPath.canonicalize(target.path) == .success(CanonicalTarget(path: target.path, query: nil)),
        "the canonical path alone does not canonicalize to itself")

    invariant(path == referenceCanonicalPath(rawPath), "the canonical path differs from the reference")
    return 0
}

/// The shape every canonical path has, checked byte by byte.
private func checkCanonical(_ path: [UInt8]) {
    invariant(path.first == UInt8(ascii: "/"), "the canonical path does not start with /")
    let text = String(decoding: path, as: UTF8.self)
    for forbidden in ["//", "/./", "/../", "\\"] {
        invariant(!text.contains(forbidden), "the canonical path contains \(forbidden)")
    }
    invariant(!text.hasSuffix("/.") && !text.hasSuffix("/.."), "the canonical path ends in a dot segment")
    var index = 0
    while index < path.count {
        let byte = path[index]
        invariant(byte > 0x20 && byte < 0x7F, "the canonical path holds byte \(byte)")
        invariant(byte != UInt8(ascii: "?") && byte != UInt8(ascii: "#"), "the canonical path holds ? or #")
        if byte == UInt8(ascii: "%") {
            guard index + 2 < path.count, let high = upperHex(path[index + 1]), let low = upperHex(path[index + 2])
            else {
                invariant(false, "the canonical path has an escape that is not %XX in upper case")
                return
            }
            let value = high << 4 | low
            invariant(!isUnreserved(value), "the canonical path keeps an escaped unreserved character")
            invariant(
                value >= 0x80 || !(value < 0x20 || value == 0x7F), "the canonical path keeps an escaped control byte")
            invariant(value != UInt8(ascii: "/") && value != UInt8(ascii: "\\"), "the canonical path keeps %2F or %5C")
            index += 3
            continue
        }
        index += 1
    }
}

/// The canonical form computed the slow, obvious way: split into segments, decode unreserved escapes
/// (upper-casing the rest), drop empty and `.` segments, let `..` remove the previous one; keep a trailing
/// `/` when the last segment was empty or a dot segment.
private func referenceCanonicalPath(_ path: [UInt8]) -> [UInt8] {
    let segments = path.dropFirst().split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).map(
        decodeUnreserved)
    var kept: [[UInt8]] = []
    for segment in segments {
        switch segment {
        case [], [UInt8(ascii: ".")]: continue
        case [UInt8(ascii: "."), UInt8(ascii: ".")]: _ = kept.popLast()
        default: kept.append(segment)
        }
    }
    let last = segments.last ?? []
    let trailingSlash = last.isEmpty || last == [UInt8(ascii: ".")] || last == [UInt8(ascii: "."), UInt8(ascii: ".")]
    var result: [UInt8] = [UInt8(ascii: "/")]
    result += Array(kept.joined(separator: [UInt8(ascii: "/")]))
    if trailingSlash && !kept.isEmpty { result.append(UInt8(ascii: "/")) }
    return result
}

private func decodeUnreserved(_ segment: ArraySlice<UInt8>) -> [UInt8] {
    let bytes = Array(segment)
    var output: [UInt8] = []
    var index = 0
    while index < bytes.count {
        if bytes[index] == UInt8(ascii: "%"), index + 2 < bytes.count, let high = anyHex(bytes[index + 1]),
            let low = anyHex(bytes[index + 2])
        {
            let value = high << 4 | low
            if isUnreserved(value) {
                output.append(value)
            } else {
                output += [UInt8(ascii: "%"), hexDigit(high), hexDigit(low)]
            }
            index += 3
        } else {
            output.append(bytes[index])
            index += 1
        }
    }
    return output
}

private func isUnreserved(_ byte: UInt8) -> Bool {
    switch byte {
    case 0x41...0x5A, 0x61...0x7A, 0x30...0x39, UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
        UInt8(ascii: "~"):
        return true
    default:
        return false
    }
}

private func upperHex(_ byte: UInt8) -> UInt8? {
    switch byte {
    case 0x30...0x39: return byte - 0x30
    case 0x41...0x46: return byte - 0x41 + 10
    default: return nil
    }
}

private func anyHex(_ byte: UInt8) -> UInt8? {
    upperHex(byte) ?? ((0x61...0x66).contains(byte) ? byte - 0x61 + 10 : nil)
}

private func hexDigit(_ value: UInt8) -> UInt8 {
    value < 10 ? 0x30 + value : 0x41 + value - 10
}
