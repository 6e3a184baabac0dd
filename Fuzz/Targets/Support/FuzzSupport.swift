// Linked into every fuzz target (see scripts/fuzz). Not part of the package: SwiftPM never sees Fuzz/.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Stops the run when an invariant breaks. libFuzzer reports the abort as a crash and saves the input
/// under `.build-fuzz/fuzz-artifacts/<target>/`; the message names the invariant, never the input's content.
func invariant(
    _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
    file: StaticString = #fileID, line: UInt = #line
) {
    guard !condition() else { return }
    let text = "INVARIANT VIOLATED (\(file):\(line)): \(message())\n"
    _ = text.withCString { fputs($0, stderr) }
    abort()
}

/// The fuzzer's bytes as a Swift array (the targets work on copies; inputs are small).
func fuzzInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    guard let data, size > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: size))
}

/// Whether `haystack` contains `needle`, comparing ASCII letters case-insensitively.
func containsASCIICaseInsensitive(_ haystack: [UInt8], _ needle: String) -> Bool {
    let pattern = Array(needle.utf8).map(lowerASCII)
    guard !pattern.isEmpty, haystack.count >= pattern.count else { return false }
    for start in 0...(haystack.count - pattern.count) {
        var matched = true
        for offset in 0..<pattern.count where lowerASCII(haystack[start + offset]) != pattern[offset] {
            matched = false
            break
        }
        if matched { return true }
    }
    return false
}

@inline(__always)
func lowerASCII(_ byte: UInt8) -> UInt8 {
    (0x41...0x5A).contains(byte) ? byte | 0x20 : byte
}

/// The number of lines of YAML text as libyaml counts them: CR, LF, CR LF, NEL, LS and PS end a line.
func yamlLineCount(_ text: String) -> Int {
    var count = 1
    var previous: Unicode.Scalar?
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\n" where previous == "\r": break
        case "\r", "\n", "\u{85}", "\u{2028}", "\u{2029}": count += 1
        default: break
        }
        previous = scalar
    }
    return count
}
