/// A strict RFC 8259 JSON parser over UTF-8 bytes.
///
/// Strict means one reading of every accepted document, and a rejection (never a trap) for everything else:
/// - duplicate member names in an object are rejected (two parsers could otherwise see different values);
///   names are compared as Swift strings, so names that differ only in Unicode normalization are duplicates too;
/// - nesting deeper than `maxDepth` arrays and objects is rejected before descending, so the stack stays
///   bounded whatever the input (`maxDepth` is capped at ``depthCeiling``);
/// - numbers follow the RFC grammar exactly (no leading zeros, `+`, `.5`, `1.`, `NaN` or `Infinity`); an
///   integer literal that fits `Int64` becomes ``JSONValue/int(_:)``, any other number a finite
///   ``JSONValue/double(_:)``, and a number too large for `Double` (`1e400`) is rejected;
/// - strings must be valid UTF-8 (no overlong forms, no encoded surrogates), control characters must be
///   escaped, and `\u` escapes must form valid scalars (surrogates only as a high-low pair);
/// - only space, tab, CR and LF are whitespace; empty input and trailing content are rejected.
///
/// Every error is ``JOSEError/Code/malformedToken`` with a reason that names the problem and its byte
/// offset, never the input's content.
public struct JSONParser {
    /// The largest accepted `maxDepth`; larger values are treated as this one so that recursion stays
    /// far from the end of any thread's stack.
    public static let depthCeiling = 512

    private let start: UnsafePointer<UInt8>
    private let end: UnsafePointer<UInt8>
    private var cursor: UnsafePointer<UInt8>
    private let maxDepth: Int

    private init(start: UnsafePointer<UInt8>, count: Int, maxDepth: Int) {
        self.start = start
        self.end = start + count
        self.cursor = start
        self.maxDepth = min(maxDepth, Self.depthCeiling)
    }

    // MARK: Entry points

    /// Parses one JSON document (any value) from UTF-8 bytes.
    public static func parse(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = 32) throws(JOSEError) -> JSONValue {
        guard let base = bytes.baseAddress, bytes.count > 0 else {
            throw JOSEError(.malformedToken, "invalid JSON: empty input")
        }
        var parser = JSONParser(
            start: base.assumingMemoryBound(to: UInt8.self), count: bytes.count, maxDepth: maxDepth
        )
        let value = try parser.parseValue(depth: 0)
        try parser.expectEnd()
        return value
    }

    /// Parses one JSON document (any value) from UTF-8 bytes.
    public static func parse(_ bytes: [UInt8], maxDepth: Int = 32) throws(JOSEError) -> JSONValue {
        try bytes.withUnsafeBytes { buffer in
            Result { () throws(JOSEError) in try parse(buffer, maxDepth: maxDepth) }
        }.get()
    }

    /// Parses one JSON document (any value) from a string.
    public static func parse(_ text: String, maxDepth: Int = 32) throws(JOSEError) -> JSONValue {
        var text = text
        return try text.withUTF8 { buffer in
            Result { () throws(JOSEError) in try parse(UnsafeRawBufferPointer(buffer), maxDepth: maxDepth) }
        }.get()
    }

    /// Parses a JSON document whose top-level value must be an object.
    public static func parseObject(
        _ bytes: UnsafeRawBufferPointer,
        maxDepth: Int = 32
    ) throws(JOSEError) -> [String: JSONValue] {
        guard let base = bytes.baseAddress, bytes.count > 0 else {
            throw JOSEError(.malformedToken, "invalid JSON: empty input")
        }
        var parser = JSONParser(
            start: base.assumingMemoryBound(to: UInt8.self), count: bytes.count, maxDepth: maxDepth
        )
        parser.skipWhitespace()
        guard parser.cursor < parser.end, parser.cursor.pointee == UInt8(ascii: "{") else {
            // Parse anyway so that broken JSON reports its syntax error rather than its type.
            _ = try parser.parseValue(depth: 0)
            try parser.expectEnd()
            throw JOSEError(.malformedToken, "JSON value is not an object")
        }
        guard parser.maxDepth >= 1 else {
            throw JOSEError(.malformedToken, "invalid JSON: nesting deeper than \(parser.maxDepth)")
        }
        let object = try parser.parseObjectBody(depth: 1)
        try parser.expectEnd()
        return object
    }

    /// Parses a JSON document whose top-level value must be an object.
    public static func parseObject(_ bytes: [UInt8], maxDepth: Int = 32) throws(JOSEError) -> [String: JSONValue] {
        try bytes.withUnsafeBytes { buffer in
            Result { () throws(JOSEError) in try parseObject(buffer, maxDepth: maxDepth) }
        }.get()
    }

    /// Parses a JSON document whose top-level value must be an object.
    public static func parseObject(_ text: String, maxDepth: Int = 32) throws(JOSEError) -> [String: JSONValue] {
        var text = text
        return try text.withUTF8 { buffer in
            Result { () throws(JOSEError) in try parseObject(UnsafeRawBufferPointer(buffer), maxDepth: maxDepth) }
        }.get()
    }

    // MARK: Errors

    private var offset: Int { cursor - start }

    private func error(_ what: String) -> JOSEError {
        JOSEError(.malformedToken, "invalid JSON: \(what) at offset \(offset)")
    }

    private func unexpected() -> JOSEError {
        cursor < end ? error("unexpected character") : error("unexpected end of input")
    }

    // MARK: Structure

    private mutating func skipWhitespace() {
        while cursor < end {
            switch cursor.pointee {
            case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"):
                cursor += 1
            default:
                return
            }
        }
    }

    private mutating func expectEnd() throws(JOSEError) {
        skipWhitespace()
        guard cursor == end else { throw error("trailing content") }
    }

    /// Parses the value at the cursor; `depth` is the number of arrays and objects around it.
    private mutating func parseValue(depth: Int) throws(JOSEError) -> JSONValue {
        skipWhitespace()
        guard cursor < end else { throw error("unexpected end of input") }
        switch cursor.pointee {
        case UInt8(ascii: "{"):
            // Checked before descending: the recursion depth never exceeds maxDepth.
            guard depth < maxDepth else { throw error("nesting deeper than \(maxDepth)") }
            return .object(try parseObjectBody(depth: depth + 1))
        case UInt8(ascii: "["):
            guard depth < maxDepth else { throw error("nesting deeper than \(maxDepth)") }
            return .array(try parseArrayBody(depth: depth + 1))
        case UInt8(ascii: "\""):
            cursor += 1
            return .string(try parseString())
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expectLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return try parseNumber()
        default:
            throw error("unexpected character")
        }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(JOSEError) {
        let count = literal.utf8CodeUnitCount
        guard end - cursor >= count else { throw error("invalid literal") }
        let expected = literal.utf8Start
        for index in 0..<count where cursor[index] != expected[index] {
            throw error("invalid literal")
        }
        cursor += count
    }

    /// Parses an object whose `{` is at the cursor; `depth` counts this object.
    private mutating func parseObjectBody(depth: Int) throws(JOSEError) -> [String: JSONValue] {
        cursor += 1
        skipWhitespace()
        guard cursor < end else { throw error("unexpected end of input") }
        if cursor.pointee == UInt8(ascii: "}") {
            cursor += 1
            return [:]
        }
        // Most objects in tokens have a handful of members: one allocation instead of several regrowths.
        var object = [String: JSONValue](minimumCapacity: 8)
        while true {
            guard cursor < end, cursor.pointee == UInt8(ascii: "\"") else {
                throw cursor < end ? error("expected a member name") : error("unexpected end of input")
            }
            let nameOffset = offset
            cursor += 1
            let name: String
            if let registered = Self.registeredName(cursor, end: end) {
                name = registered
                cursor += 4
            } else {
                name = try parseString()
            }
            skipWhitespace()
            guard cursor < end, cursor.pointee == UInt8(ascii: ":") else { throw unexpected() }
            cursor += 1
            let value = try parseValue(depth: depth)
            if object.updateValue(value, forKey: name) != nil {
                throw JOSEError(.malformedToken, "invalid JSON: duplicate member name at offset \(nameOffset)")
            }
            skipWhitespace()
            guard cursor < end else { throw error("unexpected end of input") }
            switch cursor.pointee {
            case UInt8(ascii: ","):
                cursor += 1
                skipWhitespace()
            case UInt8(ascii: "}"):
                cursor += 1
                return object
            default:
                throw error("expected ',' or '}'")
            }
        }
    }

    /// Parses an array whose `[` is at the cursor; `depth` counts this array.
    private mutating func parseArrayBody(depth: Int) throws(JOSEError) -> [JSONValue] {
        cursor += 1
        skipWhitespace()
        guard cursor < end else { throw error("unexpected end of input") }
        if cursor.pointee == UInt8(ascii: "]") {
            cursor += 1
            return []
        }
        var array: [JSONValue] = []
        array.reserveCapacity(4)
        while true {
            array.append(try parseValue(depth: depth))
            skipWhitespace()
            guard cursor < end else { throw error("unexpected end of input") }
            switch cursor.pointee {
            case UInt8(ascii: ","):
                cursor += 1
            case UInt8(ascii: "]"):
                cursor += 1
                return array
            default:
                throw error("expected ',' or ']'")
            }
        }
    }

    /// The registered JOSE/JWT member name at `pointer` (three letters and the closing quote), if it is one.
    ///
    /// These names make up most members of a token; returning a literal skips building and validating a string.
    @inline(__always)
    private static func registeredName(_ pointer: UnsafePointer<UInt8>, end: UnsafePointer<UInt8>) -> String? {
        guard end - pointer >= 4, pointer[3] == UInt8(ascii: "\"") else { return nil }
        switch (pointer[0], pointer[1], pointer[2]) {
        case (UInt8(ascii: "a"), UInt8(ascii: "l"), UInt8(ascii: "g")): return "alg"
        case (UInt8(ascii: "a"), UInt8(ascii: "u"), UInt8(ascii: "d")): return "aud"
        case (UInt8(ascii: "a"), UInt8(ascii: "z"), UInt8(ascii: "p")): return "azp"
        case (UInt8(ascii: "e"), UInt8(ascii: "x"), UInt8(ascii: "p")): return "exp"
        case (UInt8(ascii: "i"), UInt8(ascii: "a"), UInt8(ascii: "t")): return "iat"
        case (UInt8(ascii: "i"), UInt8(ascii: "s"), UInt8(ascii: "s")): return "iss"
        case (UInt8(ascii: "j"), UInt8(ascii: "t"), UInt8(ascii: "i")): return "jti"
        case (UInt8(ascii: "k"), UInt8(ascii: "i"), UInt8(ascii: "d")): return "kid"
        case (UInt8(ascii: "n"), UInt8(ascii: "b"), UInt8(ascii: "f")): return "nbf"
        case (UInt8(ascii: "s"), UInt8(ascii: "c"), UInt8(ascii: "p")): return "scp"
        case (UInt8(ascii: "s"), UInt8(ascii: "u"), UInt8(ascii: "b")): return "sub"
        case (UInt8(ascii: "t"), UInt8(ascii: "y"), UInt8(ascii: "p")): return "typ"
        default: return nil
        }
    }

    // MARK: Numbers

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte &- UInt8(ascii: "0") < 10
    }

    /// Parses a number at the cursor (which is at `-` or a digit).
    private mutating func parseNumber() throws(JOSEError) -> JSONValue {
        let numberStart = cursor
        let negative = cursor.pointee == UInt8(ascii: "-")
        if negative { cursor += 1 }
        guard cursor < end, Self.isDigit(cursor.pointee) else { throw error("invalid number") }

        var magnitude: UInt64 = 0
        var overflow = false
        if cursor.pointee == UInt8(ascii: "0") {
            cursor += 1
            if cursor < end, Self.isDigit(cursor.pointee) { throw error("invalid number (leading zero)") }
        } else {
            while cursor < end, Self.isDigit(cursor.pointee) {
                let digit = UInt64(cursor.pointee &- UInt8(ascii: "0"))
                let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = times10.addingReportingOverflow(digit)
                overflow = overflow || overflow1 || overflow2
                magnitude = sum
                cursor += 1
            }
        }

        var integral = true
        if cursor < end, cursor.pointee == UInt8(ascii: ".") {
            integral = false
            cursor += 1
            guard cursor < end, Self.isDigit(cursor.pointee) else { throw error("invalid number (fraction)") }
            while cursor < end, Self.isDigit(cursor.pointee) { cursor += 1 }
        }
        if cursor < end, cursor.pointee | 0x20 == UInt8(ascii: "e") {
            integral = false
            cursor += 1
            if cursor < end, cursor.pointee == UInt8(ascii: "+") || cursor.pointee == UInt8(ascii: "-") {
                cursor += 1
            }
            guard cursor < end, Self.isDigit(cursor.pointee) else { throw error("invalid number (exponent)") }
            while cursor < end, Self.isDigit(cursor.pointee) { cursor += 1 }
        }

        if integral && !overflow {
            if !negative, magnitude <= UInt64(Int64.max) {
                return .int(Int64(magnitude))
            }
            if negative, magnitude <= UInt64(Int64.max) + 1 {
                // 0 &- magnitude is the two's complement negation; it also maps 2^63 to Int64.min.
                return .int(Int64(bitPattern: 0 &- magnitude))
            }
        }
        // The grammar is already validated, so the standard library's decimal conversion sees a
        // well-formed literal; it rounds correctly and returns infinity for out-of-range magnitudes.
        let text = String(decoding: UnsafeBufferPointer(start: numberStart, count: cursor - numberStart), as: UTF8.self)
        guard let number = Double(text), number.isFinite else {
            cursor = numberStart
            throw error("number out of range")
        }
        return .double(number)
    }

    // MARK: Strings

    /// Parses a string whose opening quote has been consumed; leaves the cursor after the closing quote.
    private mutating func parseString() throws(JOSEError) -> String {
        let contentStart = cursor
        // Fast path: printable ASCII without escapes, which is nearly every string in a token. Eight bytes
        // at a time while none of them needs a closer look, then byte by byte.
        while end - cursor >= 8 {
            let word = UInt64(littleEndian: UnsafeRawPointer(cursor).loadUnaligned(as: UInt64.self))
            if Self.mayEndPlainString(word) { break }
            cursor += 8
        }
        while cursor < end {
            let byte = cursor.pointee
            if byte == UInt8(ascii: "\"") {
                let string = String(
                    decoding: UnsafeBufferPointer(start: contentStart, count: cursor - contentStart), as: UTF8.self
                )
                cursor += 1
                return string
            }
            if byte == UInt8(ascii: "\\") || byte < 0x20 || byte >= 0x80 { break }
            cursor += 1
        }
        return try parseStringSlow(contentStart: contentStart)
    }

    /// Whether any byte of `word` may be a quote, a backslash, a control character or non-ASCII
    /// (SWAR; false positives are possible, false negatives are not).
    ///
    /// `(x - 0x01..) & ~x` has the high bit of a byte set when that byte is zero; borrows only create
    /// false positives above a true one, which the byte loop that follows sorts out.
    @inline(__always)
    private static func mayEndPlainString(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highBits: UInt64 = 0x8080_8080_8080_8080
        let quote = word ^ (ones &* UInt64(UInt8(ascii: "\"")))
        let backslash = word ^ (ones &* UInt64(UInt8(ascii: "\\")))
        let flags = ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash) | (word &- ones &* 0x20) | word
        return flags & highBits != 0
    }

    /// Continues a string that contains escapes, non-ASCII bytes or errors.
    private mutating func parseStringSlow(contentStart: UnsafePointer<UInt8>) throws(JOSEError) -> String {
        // Unescaped content goes straight from the input; a buffer is only built once an escape appears.
        var buffer: [UInt8] = []
        var escaped = false
        while true {
            guard cursor < end else { throw error("unterminated string") }
            let byte = cursor.pointee
            switch byte {
            case UInt8(ascii: "\""):
                let string: String
                if escaped {
                    string = String(decoding: buffer, as: UTF8.self)
                } else {
                    string = String(
                        decoding: UnsafeBufferPointer(start: contentStart, count: cursor - contentStart),
                        as: UTF8.self
                    )
                }
                cursor += 1
                return string
            case UInt8(ascii: "\\"):
                if !escaped {
                    escaped = true
                    buffer.reserveCapacity((cursor - contentStart) + 16)
                    buffer.append(contentsOf: UnsafeBufferPointer(start: contentStart, count: cursor - contentStart))
                }
                try parseEscape(into: &buffer)
            case 0..<0x20:
                throw error("unescaped control character in string")
            case 0x20..<0x80:
                if escaped { buffer.append(byte) }
                cursor += 1
            default:
                let length = Self.validUTF8SequenceLength(cursor, end: end)
                guard length > 0 else { throw error("invalid UTF-8 in string") }
                if escaped { buffer.append(contentsOf: UnsafeBufferPointer(start: cursor, count: length)) }
                cursor += length
            }
        }
    }

    /// The length of the valid UTF-8 sequence at `pointer` (whose first byte is ≥ 0x80), or 0.
    ///
    /// Follows Unicode table 3-7: no overlong forms, no surrogates (ED A0...ED BF), nothing above U+10FFFF.
    private static func validUTF8SequenceLength(_ pointer: UnsafePointer<UInt8>, end: UnsafePointer<UInt8>) -> Int {
        let available = end - pointer
        let lead = pointer.pointee
        func isContinuation(_ index: Int) -> Bool {
            pointer[index] & 0xC0 == 0x80
        }
        switch lead {
        case 0xC2...0xDF:
            guard available >= 2, isContinuation(1) else { return 0 }
            return 2
        case 0xE0...0xEF:
            guard available >= 3 else { return 0 }
            let second = pointer[1]
            let secondOK: Bool
            switch lead {
            case 0xE0: secondOK = (0xA0...0xBF).contains(second)
            case 0xED: secondOK = (0x80...0x9F).contains(second)
            default: secondOK = second & 0xC0 == 0x80
            }
            guard secondOK, isContinuation(2) else { return 0 }
            return 3
        case 0xF0...0xF4:
            guard available >= 4 else { return 0 }
            let second = pointer[1]
            let secondOK: Bool
            switch lead {
            case 0xF0: secondOK = (0x90...0xBF).contains(second)
            case 0xF4: secondOK = (0x80...0x8F).contains(second)
            default: secondOK = second & 0xC0 == 0x80
            }
            guard secondOK, isContinuation(2), isContinuation(3) else { return 0 }
            return 4
        default:
            return 0
        }
    }

    /// Decodes the escape whose backslash is at the cursor, appending its UTF-8 to `buffer`.
    private mutating func parseEscape(into buffer: inout [UInt8]) throws(JOSEError) {
        guard end - cursor >= 2 else { throw error("unterminated string") }
        let kind = cursor[1]
        switch kind {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"):
            buffer.append(kind)
        case UInt8(ascii: "b"): buffer.append(0x08)
        case UInt8(ascii: "f"): buffer.append(0x0C)
        case UInt8(ascii: "n"): buffer.append(0x0A)
        case UInt8(ascii: "r"): buffer.append(0x0D)
        case UInt8(ascii: "t"): buffer.append(0x09)
        case UInt8(ascii: "u"):
            try parseUnicodeEscape(into: &buffer)
            return
        default:
            throw error("invalid escape in string")
        }
        cursor += 2
    }

    /// Decodes `\uXXXX` (or a `\uD8xx\uDCxx` surrogate pair) at the cursor.
    private mutating func parseUnicodeEscape(into buffer: inout [UInt8]) throws(JOSEError) {
        guard let first = Self.hex4(cursor, end: end) else { throw error("invalid \\u escape") }
        var scalar = UInt32(first)
        var length = 6
        switch first {
        case 0xD800...0xDBFF:
            guard end - cursor >= 12, cursor[6] == UInt8(ascii: "\\"), cursor[7] == UInt8(ascii: "u"),
                let second = Self.hex4(cursor + 6, end: end), (0xDC00...0xDFFF).contains(second)
            else {
                throw error("unpaired surrogate in \\u escape")
            }
            scalar = 0x10000 + ((UInt32(first) - 0xD800) << 10) + (UInt32(second) - 0xDC00)
            length = 12
        case 0xDC00...0xDFFF:
            throw error("unpaired surrogate in \\u escape")
        default:
            break
        }
        Self.appendUTF8(scalar, to: &buffer)
        cursor += length
    }

    /// The value of the four hex digits after `\u` at `pointer`, or `nil`.
    private static func hex4(_ pointer: UnsafePointer<UInt8>, end: UnsafePointer<UInt8>) -> UInt16? {
        guard end - pointer >= 6 else { return nil }
        var value: UInt16 = 0
        for index in 2..<6 {
            let byte = pointer[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value << 4 | UInt16(digit)
        }
        return value
    }

    /// Appends the UTF-8 encoding of a valid scalar value (not a surrogate, at most U+10FFFF).
    private static func appendUTF8(_ scalar: UInt32, to buffer: inout [UInt8]) {
        switch scalar {
        case 0..<0x80:
            buffer.append(UInt8(truncatingIfNeeded: scalar))
        case 0x80..<0x800:
            buffer.append(UInt8(truncatingIfNeeded: 0xC0 | scalar >> 6))
            buffer.append(UInt8(truncatingIfNeeded: 0x80 | scalar & 0x3F))
        case 0x800..<0x10000:
            buffer.append(UInt8(truncatingIfNeeded: 0xE0 | scalar >> 12))
            buffer.append(UInt8(truncatingIfNeeded: 0x80 | scalar >> 6 & 0x3F))
            buffer.append(UInt8(truncatingIfNeeded: 0x80 | scalar & 0x3F))
        default:
            buffer.append(UInt8(truncatingIfNeeded: 0xF0 | scalar >> 18))
            buffer.append(UInt8(truncatingIfNeeded: 0x80 | scalar >> 12 & 0x3F))
            buffer.append(UInt8(truncatingIfNeeded: 0x80 | scalar >> 6 & 0x3F))
            buffer.append(UInt8(truncatingIfNeeded: 0x80 | scalar & 0x3F))
        }
    }
}
