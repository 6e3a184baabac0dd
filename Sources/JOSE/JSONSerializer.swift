/// Writes ``JSONValue``s as JSON text, deterministically.
///
/// Object members are sorted by the UTF-8 bytes of their names, so equal values always produce equal
/// bytes (stable test vectors, stable token payloads). Strings escape `"`, `\`, control characters and DEL
/// (as `\u00XX`) and keep everything else, non-ASCII included, as UTF-8. The one JSON string escaper of the
/// package: tokens, the access and application logs, and the tools' messages all quote through it. Doubles print in the shortest
/// form that reads back to the same value, always with a fraction or exponent (`1.0`), so they re-parse
/// as doubles; a non-finite double, which JSON cannot express, is written as `null`.
public enum JSONSerializer {
    /// The JSON text of `value`: compact by default, or indented by two spaces for people to read.
    public static func serialize(_ value: JSONValue, pretty: Bool = false) -> String {
        String(decoding: bytes(value, pretty: pretty), as: UTF8.self)
    }

    /// `text` as a JSON string, quotes included.
    public static func quote(_ text: String) -> String {
        var output: [UInt8] = []
        output.reserveCapacity(text.utf8.count + 2)
        writeString(text, to: &output)
        return String(decoding: output, as: UTF8.self)
    }

    /// The UTF-8 bytes of the JSON text of `value`.
    public static func bytes(_ value: JSONValue, pretty: Bool = false) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(256)
        write(value, to: &output, pretty: pretty, indent: 0)
        return output
    }

    private static func write(_ value: JSONValue, to output: inout [UInt8], pretty: Bool, indent: Int) {
        switch value {
        case .null:
            output.append(contentsOf: "null".utf8)
        case .bool(let flag):
            output.append(contentsOf: (flag ? "true" : "false").utf8)
        case .int(let number):
            writeInteger(number, to: &output)
        case .double(let number):
            output.append(contentsOf: number.isFinite ? number.description.utf8 : "null".utf8)
        case .string(let string):
            writeString(string, to: &output)
        case .array(let elements):
            guard !elements.isEmpty else {
                output.append(contentsOf: "[]".utf8)
                return
            }
            output.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                if pretty { newline(indent: indent + 1, to: &output) }
                write(element, to: &output, pretty: pretty, indent: indent + 1)
            }
            if pretty { newline(indent: indent, to: &output) }
            output.append(UInt8(ascii: "]"))
        case .object(let members):
            guard !members.isEmpty else {
                output.append(contentsOf: "{}".utf8)
                return
            }
            output.append(UInt8(ascii: "{"))
            let names = members.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            for (index, name) in names.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                if pretty { newline(indent: indent + 1, to: &output) }
                writeString(name, to: &output)
                output.append(UInt8(ascii: ":"))
                if pretty { output.append(UInt8(ascii: " ")) }
                // The name comes from the dictionary's own keys, so the lookup always succeeds.
                write(members[name] ?? .null, to: &output, pretty: pretty, indent: indent + 1)
            }
            if pretty { newline(indent: indent, to: &output) }
            output.append(UInt8(ascii: "}"))
        }
    }

    private static func newline(indent: Int, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\n"))
        output.append(contentsOf: repeatElement(UInt8(ascii: " "), count: indent * 2))
    }

    private static func writeInteger(_ number: Int64, to output: inout [UInt8]) {
        // Digits are produced backwards into a fixed buffer; the magnitude as UInt64 covers Int64.min.
        var magnitude = number.magnitude
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var index = digits.count
            repeat {
                index -= 1
                digits[index] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            if number < 0 { output.append(UInt8(ascii: "-")) }
            output.append(contentsOf: UnsafeBufferPointer(rebasing: digits[index...]))
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    private static func writeString(_ string: String, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                output.append(UInt8(ascii: "\\"))
                output.append(byte)
            case 0..<0x20, 0x7F:
                output.append(contentsOf: "\\u00".utf8)
                output.append(hexDigits[Int(byte >> 4)])
                output.append(hexDigits[Int(byte & 0x0F)])
            default:
                output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }
}
