/// A RESP2 reply (the Redis serialization protocol): what Redis answers to a command.
package enum RESPValue: Equatable, Sendable {
    case simpleString(String)
    /// An error reply, e.g. `NOSCRIPT No matching script`.
    case error(String)
    case integer(Int64)
    /// A bulk string; `nil` is the null bulk string (`$-1`).
    case bulkString([UInt8]?)
    /// An array; `nil` is the null array (`*-1`).
    case array([RESPValue]?)

    /// The reply's text for a simple or bulk string.
    package var text: String? {
        switch self {
        case .simpleString(let text): return text
        case .bulkString(let bytes?): return String(decoding: bytes, as: UTF8.self)
        default: return nil
        }
    }
}

/// A command as RESP: an array of bulk strings (`*<n>\r\n$<len>\r\n<arg>\r\n...`), binary-safe.
package enum RESPCommand {
    package static func encode(_ arguments: [[UInt8]], into buffer: inout [UInt8]) {
        buffer.append(UInt8(ascii: "*"))
        buffer.append(contentsOf: String(arguments.count).utf8)
        buffer.append(contentsOf: [13, 10])
        for argument in arguments {
            buffer.append(UInt8(ascii: "$"))
            buffer.append(contentsOf: String(argument.count).utf8)
            buffer.append(contentsOf: [13, 10])
            buffer.append(contentsOf: argument)
            buffer.append(contentsOf: [13, 10])
        }
    }

    package static func encode(_ arguments: [String]) -> [UInt8] {
        var buffer: [UInt8] = []
        encode(arguments.map { Array($0.utf8) }, into: &buffer)
        return buffer
    }
}
