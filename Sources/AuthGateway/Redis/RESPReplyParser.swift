/// A RESP2 reply that cannot be read: the connection is no longer in step with Redis and must be closed.
package struct RESPProtocolError: Error, Equatable, CustomStringConvertible {
    package let description: String
}

/// Reads RESP2 replies from bytes as they arrive, strictly and within limits: a reply is returned only once
/// complete, and nothing is consumed before that. Pure (no I/O), so the fuzz target `resp` and the unit tests
/// drive it directly.
///
/// Limits: a simple string, error or number line of at most `maxLineBytes`; a bulk string of at most
/// `maxBulkBytes`; arrays of at most `maxArrayCount` elements, nested at most `maxDepth` deep. Anything else
/// (RESP3 types, a negative length other than -1, a number with a sign in the wrong place or beyond Int64, a
/// missing CRLF) is a ``RESPProtocolError``.
package struct RESPReplyParser {
    package struct Limits: Sendable {
        package var maxLineBytes = 4096
        package var maxBulkBytes = 1 << 20
        package var maxArrayCount = 1024
        package var maxDepth = 8

        package init() {}
    }

    package let limits: Limits

    package init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// The first complete reply in `bytes[start...]` and the index after it; `nil` when the reply is not
    /// complete yet.
    package func parse(_ bytes: UnsafeRawBufferPointer, from start: Int) throws(RESPProtocolError) -> (RESPValue, Int)? {
        var index = start
        guard let value = try value(bytes, &index, depth: 0) else { return nil }
        return (value, index)
    }

    /// Every complete reply in `bytes`, and how many bytes they took.
    package func parseAll(_ bytes: [UInt8]) throws(RESPProtocolError) -> (values: [RESPValue], consumed: Int) {
        let result = bytes.withUnsafeBytes { raw -> Result<([RESPValue], Int), RESPProtocolError> in
            var values: [RESPValue] = []
            var index = 0
            do throws(RESPProtocolError) {
                while let (value, next) = try parse(raw, from: index) {
                    values.append(value)
                    index = next
                }
            } catch {
                return .failure(error)
            }
            return .success((values, index))
        }
        return try result.get()
    }

    private func value(_ bytes: UnsafeRawBufferPointer, _ index: inout Int, depth: Int) throws(RESPProtocolError) -> RESPValue? {
        guard index < bytes.count else { return nil }
        let type = bytes[index]
        var cursor = index + 1
        guard let line = try line(bytes, &cursor) else { return nil }
        let value: RESPValue
        switch type {
        case UInt8(ascii: "+"):
            value = .simpleString(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[line]), as: UTF8.self))
        case UInt8(ascii: "-"):
            value = .error(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[line]), as: UTF8.self))
        case UInt8(ascii: ":"):
            value = .integer(try number(bytes, line))
        case UInt8(ascii: "$"):
            let length = try number(bytes, line)
            if length == -1 {
                value = .bulkString(nil)
                break
            }
            guard length >= 0, length <= limits.maxBulkBytes else { throw RESPProtocolError(description: "bulk string length \(length)") }
            let end = cursor + Int(length)
            guard end + 2 <= bytes.count else { return nil }
            guard bytes[end] == 13, bytes[end + 1] == 10 else { throw RESPProtocolError(description: "bulk string without CRLF") }
            value = .bulkString(Array(bytes[cursor..<end]))
            cursor = end + 2
        case UInt8(ascii: "*"):
            let count = try number(bytes, line)
            if count == -1 {
                value = .array(nil)
                break
            }
            guard count >= 0, count <= limits.maxArrayCount else { throw RESPProtocolError(description: "array length \(count)") }
            guard depth < limits.maxDepth else { throw RESPProtocolError(description: "arrays nested too deep") }
            var elements: [RESPValue] = []
            elements.reserveCapacity(Int(count))
            for _ in 0..<count {
                guard let element = try self.value(bytes, &cursor, depth: depth + 1) else { return nil }
                elements.append(element)
            }
            value = .array(elements)
        default:
            throw RESPProtocolError(description: "unknown reply type \(type)")
        }
        index = cursor
        return value
    }

    /// The range of the line starting at `cursor` (without its CRLF), moving `cursor` past the CRLF; `nil`
    /// when the CRLF has not arrived.
    private func line(_ bytes: UnsafeRawBufferPointer, _ cursor: inout Int) throws(RESPProtocolError) -> Range<Int>? {
        let start = cursor
        var index = start
        while index < bytes.count {
            if bytes[index] == 13 {
                guard index + 1 < bytes.count else { return nil }
                guard bytes[index + 1] == 10 else { throw RESPProtocolError(description: "CR without LF") }
                cursor = index + 2
                return start..<index
            }
            guard bytes[index] != 10 else { throw RESPProtocolError(description: "LF without CR") }
            index += 1
            guard index - start <= limits.maxLineBytes else { throw RESPProtocolError(description: "line too long") }
        }
        guard bytes.count - start <= limits.maxLineBytes else { throw RESPProtocolError(description: "line too long") }
        return nil
    }

    /// A decimal Int64: an optional `-`, then 1 to 19 digits.
    private func number(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) throws(RESPProtocolError) -> Int64 {
        var index = range.lowerBound
        let negative = index < range.upperBound && bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        guard index < range.upperBound, range.upperBound - index <= 19 else { throw RESPProtocolError(description: "not a number") }
        var value: Int64 = 0
        while index < range.upperBound {
            let digit = bytes[index]
            guard (48...57).contains(digit) else { throw RESPProtocolError(description: "not a number") }
            let (times, overflow) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times.addingReportingOverflow(Int64(digit - 48))
            guard !overflow, !overflow2 else { throw RESPProtocolError(description: "number out of range") }
            value = sum
            index += 1
        }
        return negative ? -value : value
    }
}
