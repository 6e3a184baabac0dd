/// Base64url (RFC 4648 section 5) without padding, as JOSE uses it (RFC 7515 section 2).
///
/// The decoder is strict: it accepts exactly one encoding of each byte string. Padding, the standard
/// alphabet's `+` and `/`, whitespace, impossible lengths and non-zero unused trailing bits are all
/// rejected, so that two different token strings can never carry the same header, payload or signature.
public enum Base64URL {
    /// The 64 characters of the alphabet, indexed by 6-bit value.
    private static let alphabet: [UInt8] = Array(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8
    )

    /// The 6-bit value of each byte, or `0xFF` for bytes outside the alphabet.
    private static let decodeTable: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (value, character) in alphabet.enumerated() {
            table[Int(character)] = UInt8(value)
        }
        return table
    }()

    /// Four 256-entry tables, one per position in a 4-character group, holding each character's 6 bits already
    /// shifted into place in a 24-bit word; characters outside the alphabet set the top byte instead.
    private static let shiftedDecodeTable: [UInt32] = {
        var table = [UInt32](repeating: 0xFF00_0000, count: 4 * 256)
        for position in 0..<4 {
            for (value, character) in alphabet.enumerated() {
                table[position * 256 + Int(character)] = UInt32(value) << (18 - 6 * position)
            }
        }
        return table
    }()

    // MARK: Encoding

    /// Encodes `bytes` as unpadded base64url.
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        if let encoded = bytes.withContiguousStorageIfAvailable({ encode(UnsafeRawBufferPointer($0)) }) {
            return encoded
        }
        return Array(bytes).withUnsafeBytes { encode($0) }
    }

    /// Encodes raw bytes as unpadded base64url.
    public static func encode(_ bytes: UnsafeRawBufferPointer) -> String {
        let count = encodedCount(bytes.count)
        guard count > 0 else { return "" }
        return String(unsafeUninitializedCapacity: count) { output in
            encode(bytes, into: output)
            return count
        }
    }

    /// Encodes `bytes` as the ASCII bytes of unpadded base64url.
    package static func encodeToBytes(_ bytes: some Collection<UInt8>) -> [UInt8] {
        let body = { (input: UnsafeRawBufferPointer) -> [UInt8] in
            let count = encodedCount(input.count)
            return [UInt8](unsafeUninitializedCapacity: count) { output, initialized in
                encode(input, into: output)
                initialized = count
            }
        }
        if let encoded = bytes.withContiguousStorageIfAvailable({ body(UnsafeRawBufferPointer($0)) }) {
            return encoded
        }
        return Array(bytes).withUnsafeBytes(body)
    }

    /// The length of the unpadded encoding of `count` bytes.
    private static func encodedCount(_ count: Int) -> Int {
        let remainder = count % 3
        return (count / 3) * 4 + (remainder == 0 ? 0 : remainder + 1)
    }

    /// Writes the encoding of `input` into `output`, which holds exactly `encodedCount(input.count)` bytes.
    private static func encode(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableBufferPointer<UInt8>) {
        alphabet.withUnsafeBufferPointer { table in
            var inIndex = 0
            var outIndex = 0
            let fullEnd = input.count - input.count % 3
            while inIndex < fullEnd {
                let word = UInt32(input[inIndex]) << 16 | UInt32(input[inIndex + 1]) << 8 | UInt32(input[inIndex + 2])
                output[outIndex] = table[Int(word >> 18)]
                output[outIndex + 1] = table[Int(word >> 12 & 0x3F)]
                output[outIndex + 2] = table[Int(word >> 6 & 0x3F)]
                output[outIndex + 3] = table[Int(word & 0x3F)]
                inIndex += 3
                outIndex += 4
            }
            switch input.count - fullEnd {
            case 1:
                let word = UInt32(input[inIndex]) << 16
                output[outIndex] = table[Int(word >> 18)]
                output[outIndex + 1] = table[Int(word >> 12 & 0x3F)]
            case 2:
                let word = UInt32(input[inIndex]) << 16 | UInt32(input[inIndex + 1]) << 8
                output[outIndex] = table[Int(word >> 18)]
                output[outIndex + 1] = table[Int(word >> 12 & 0x3F)]
                output[outIndex + 2] = table[Int(word >> 6 & 0x3F)]
            default:
                break
            }
        }
    }

    // MARK: Decoding

    /// Decodes canonical unpadded base64url.
    ///
    /// - Throws: ``JOSEError/Code/malformedToken`` for any character outside `A-Z a-z 0-9 - _`, for a length
    ///   that no encoding has (4n + 1), and for non-zero unused bits in the last character.
    public static func decode(_ input: UnsafeRawBufferPointer) throws(JOSEError) -> [UInt8] {
        let remainder = input.count & 3
        guard remainder != 1 else {
            throw JOSEError(.malformedToken, "invalid base64url length")
        }
        let count = (input.count >> 2) * 3 + (remainder == 0 ? 0 : remainder - 1)
        var outcome = DecodeOutcome.ok
        let decoded = [UInt8](unsafeUninitializedCapacity: count) { output, initialized in
            outcome = decode(input, into: output)
            initialized = outcome == .ok ? count : 0
        }
        switch outcome {
        case .ok:
            return decoded
        case .invalidCharacter:
            throw invalidCharacterError(in: input)
        case .nonCanonical:
            throw JOSEError(.malformedToken, "non-canonical base64url (unused trailing bits are not zero)")
        }
    }

    /// The decoded size of `count` encoded characters, or `nil` for a length no encoding has (4n + 1).
    static func decodedCount(_ count: Int) -> Int? {
        let remainder = count & 3
        guard remainder != 1 else { return nil }
        return (count >> 2) * 3 + (remainder == 0 ? 0 : remainder - 1)
    }

    /// Decodes into `output`, which must hold exactly `decodedCount(input.count)` bytes; no allocation.
    static func decode(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableBufferPointer<UInt8>) throws(JOSEError) {
        guard decodedCount(input.count) == output.count else {
            throw JOSEError(.malformedToken, "invalid base64url length")
        }
        let outcome: DecodeOutcome = decode(input, into: output)
        switch outcome {
        case .ok:
            return
        case .invalidCharacter:
            throw invalidCharacterError(in: input)
        case .nonCanonical:
            throw JOSEError(.malformedToken, "non-canonical base64url (unused trailing bits are not zero)")
        }
    }

    /// Decodes canonical unpadded base64url from the bytes of `input`.
    public static func decode(_ input: [UInt8]) throws(JOSEError) -> [UInt8] {
        try input.withUnsafeBytes { bytes in
            Result { () throws(JOSEError) in try decode(bytes) }
        }.get()
    }

    /// Decodes canonical unpadded base64url from the UTF-8 of `input`.
    public static func decode(_ input: String) throws(JOSEError) -> [UInt8] {
        var input = input
        return try input.withUTF8 { bytes in
            Result { () throws(JOSEError) in try decode(UnsafeRawBufferPointer(bytes)) }
        }.get()
    }

    private enum DecodeOutcome {
        case ok, invalidCharacter, nonCanonical
    }

    /// Decodes `input` (whose length is not 4n + 1) into `output`, which holds exactly the decoded length.
    private static func decode(
        _ input: UnsafeRawBufferPointer,
        into output: UnsafeMutableBufferPointer<UInt8>
    ) -> DecodeOutcome {
        let fullEnd = input.count & ~3
        var inIndex = 0
        var outIndex = 0
        // Invalid characters set bits 24...31; OR-ing every word lets one test at the end catch them all
        // without a branch per character.
        let invalidWords: UInt32 = shiftedDecodeTable.withUnsafeBufferPointer { table in
            var invalid: UInt32 = 0
            while inIndex < fullEnd {
                let word = table[Int(input[inIndex])] | table[256 + Int(input[inIndex + 1])]
                    | table[512 + Int(input[inIndex + 2])] | table[768 + Int(input[inIndex + 3])]
                invalid |= word
                output[outIndex] = UInt8(truncatingIfNeeded: word >> 16)
                output[outIndex + 1] = UInt8(truncatingIfNeeded: word >> 8)
                output[outIndex + 2] = UInt8(truncatingIfNeeded: word)
                inIndex += 4
                outIndex += 3
            }
            return invalid
        }
        return decodeTable.withUnsafeBufferPointer { table in
            var invalid: UInt8 = invalidWords >> 24 == 0 ? 0 : 0xFF
            var trailingBits: UInt8 = 0
            switch input.count - fullEnd {
            case 2:
                let a = table[Int(input[inIndex])]
                let b = table[Int(input[inIndex + 1])]
                invalid |= a | b
                output[outIndex] = a << 2 | b >> 4
                trailingBits = b & 0x0F
            case 3:
                let a = table[Int(input[inIndex])]
                let b = table[Int(input[inIndex + 1])]
                let c = table[Int(input[inIndex + 2])]
                invalid |= a | b | c
                output[outIndex] = a << 2 | b >> 4
                output[outIndex + 1] = b << 4 | c >> 2
                trailingBits = c & 0x03
            default:
                break
            }
            if invalid & 0x80 != 0 { return .invalidCharacter }
            if trailingBits != 0 { return .nonCanonical }
            return .ok
        }
    }

    /// A specific error for the first character outside the alphabet; only computed on failure.
    private static func invalidCharacterError(in input: UnsafeRawBufferPointer) -> JOSEError {
        let table = decodeTable
        guard let offending = input.first(where: { table[Int($0)] == 0xFF }) else {
            return JOSEError(.malformedToken, "invalid base64url character")
        }
        switch offending {
        case UInt8(ascii: "="):
            return JOSEError(.malformedToken, "base64url padding is not allowed")
        case UInt8(ascii: "+"), UInt8(ascii: "/"):
            return JOSEError(.malformedToken, "standard base64 characters '+' and '/' are not allowed in base64url")
        case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"), UInt8(ascii: "\n"):
            return JOSEError(.malformedToken, "whitespace is not allowed in base64url")
        default:
            return JOSEError(.malformedToken, "invalid base64url character")
        }
    }
}
