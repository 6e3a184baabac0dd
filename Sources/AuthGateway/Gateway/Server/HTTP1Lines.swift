import GatewayPolicy
import NIOCore

/// The line-level syntax both HTTP/1.1 parsers share (``HTTP1RequestParser`` for clients,
/// ``HTTP1ResponseParser`` for upstreams): CRLF-ended lines, field lines, chunk-size lines and trailer
/// sections, each scanned over raw bytes and refused on the first byte that RFC 9112 does not allow.
enum HTTP1Lines {
    /// The index of the CR of the CRLF that ends the line starting at `start`, or `nil` if the line is not
    /// complete yet; a bare CR or LF, or a line longer than `limit`, throws.
    static func lineEnd(
        in view: UnsafeRawBufferPointer, from start: Int, limit: Int, tooLong: HTTP1ParseError
    ) throws(HTTP1ParseError) -> Int? {
        var index = start
        let end = view.endIndex
        while index < end {
            let byte = view[index]
            if byte == 0x0D {
                guard index + 1 < end else { return nil }
                guard view[index + 1] == 0x0A else { throw .malformed("a CR not followed by LF") }
                return index
            }
            if byte == 0x0A { throw .malformed("a line ended by a bare LF") }
            index += 1
            if index - start > limit { throw tooLong }
        }
        if index - start > limit { throw tooLong }
        return nil
    }

    /// `name ":" OWS value OWS`: a token name, no whitespace before the colon (RFC 9112 §5.1), no obs-fold,
    /// value bytes HTAB, SP, visible ASCII and obs-text only.
    static func field(_ view: UnsafeRawBufferPointer, _ line: Range<Int>) throws(HTTP1ParseError) -> (String, String) {
        var index = line.lowerBound
        while index < line.upperBound, HTTPSyntax.isTokenByte(view[index]) { index += 1 }
        guard index > line.lowerBound, index < line.upperBound, view[index] == UInt8(ascii: ":") else {
            if line.lowerBound < line.upperBound, view[line.lowerBound] == 0x20 || view[line.lowerBound] == 0x09 {
                throw .malformed("a field line starts with whitespace (obs-fold)")
            }
            throw .malformed("a field line is not `name: value`")
        }
        let name = String(decoding: view[line.lowerBound..<index], as: UTF8.self)
        index += 1
        var valueStart = index
        var valueEnd = line.upperBound
        while valueStart < valueEnd, view[valueStart] == 0x20 || view[valueStart] == 0x09 { valueStart += 1 }
        while valueEnd > valueStart, view[valueEnd - 1] == 0x20 || view[valueEnd - 1] == 0x09 { valueEnd -= 1 }
        for position in valueStart..<valueEnd {
            let byte = view[position]
            guard byte == 0x09 || (byte >= 0x20 && byte != 0x7F) else {
                throw .malformed("a field value holds a control byte")
            }
        }
        return (name, String(decoding: view[valueStart..<valueEnd], as: UTF8.self))
    }

    /// The chunk size at the front of `view` and the length of its line, or `nil` until the line is complete.
    static func scanChunkLine(_ view: UnsafeRawBufferPointer, maxLineBytes: Int) throws(HTTP1ParseError) -> (UInt64, Int)? {
        var index = view.startIndex
        var size: UInt64 = 0
        var digits = 0
        while index < view.endIndex, let digit = hexValue(view[index]) {
            digits += 1
            guard digits <= 16 else { throw .malformed("a chunk size over 16 hex digits") }
            size = size << 4 | UInt64(digit)
            index += 1
        }
        guard index < view.endIndex else {
            if index - view.startIndex > maxLineBytes { throw .malformed("a chunk line too long") }
            return nil
        }
        guard digits > 0 else { throw .malformed("a chunk size that is not hex digits") }
        // BWS, then `;` extensions or the line's end.
        while index < view.endIndex, view[index] == 0x20 || view[index] == 0x09 { index += 1 }
        if index < view.endIndex, view[index] != UInt8(ascii: ";"), view[index] != 0x0D {
            throw .malformed("a chunk size followed by something other than an extension")
        }
        var inQuotes = false
        while true {
            guard index < view.endIndex else {
                if index - view.startIndex > maxLineBytes { throw .malformed("a chunk line too long") }
                return nil
            }
            let byte = view[index]
            if index - view.startIndex > maxLineBytes { throw .malformed("a chunk line too long") }
            if inQuotes {
                if byte == 0x0D || byte == 0x0A { throw .malformed("a line break inside a quoted chunk extension") }
                if byte == UInt8(ascii: "\"") { inQuotes = false }
                index += 1
                continue
            }
            if byte == 0x0D {
                guard index + 1 < view.endIndex else { return nil }
                guard view[index + 1] == 0x0A else { throw .malformed("a CR not followed by LF in a chunk line") }
                break
            }
            if byte == 0x0A { throw .malformed("a chunk line ended by a bare LF") }
            if byte == UInt8(ascii: "\"") { inQuotes = true }
            guard byte == 0x09 || (byte >= 0x20 && byte != 0x7F) else { throw .malformed("a control byte in a chunk line") }
            index += 1
        }
        return (size, index + 2 - view.startIndex)
    }

    /// The length of a complete trailer section at the front of `view`, or `nil` until it is complete.
    static func scanTrailers(_ view: UnsafeRawBufferPointer, maxBytes: Int, maxCount: Int) throws(HTTP1ParseError) -> Int? {
        var start = view.startIndex
        var count = 0
        while true {
            guard let end = try lineEnd(in: view, from: start, limit: maxBytes - (start - view.startIndex), tooLong: .headTooLarge)
            else { return nil }
            if end == start { break }
            count += 1
            guard count <= maxCount else { throw .headTooLarge }
            // Checked as field lines, then dropped whole: trailers are never forwarded, so a field that may
            // not be in one (framing, routing, credentials: RFC 9110 §6.5.1) cannot turn into a late refusal of
            // a request whose head and body are already upstream.
            _ = try field(view, start..<end)
            start = end + 2
        }
        return start + 2 - view.startIndex
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: return byte - 0x30
        case 0x41...0x46: return byte - 0x41 + 10
        case 0x61...0x66: return byte - 0x61 + 10
        default: return nil
        }
    }

    // MARK: On a buffer

    /// Reads a chunk-size line from the front of `buffer`: the chunk's size (0 for the last chunk), or `nil`
    /// (nothing taken) until the line is complete.
    static func readChunkLine(_ buffer: inout ByteBuffer, maxLineBytes: Int) throws(HTTP1ParseError) -> Int? {
        let scanned = buffer.withUnsafeReadableBytes { bytes in
            Result { () throws(HTTP1ParseError) in try scanChunkLine(bytes, maxLineBytes: maxLineBytes) }
        }
        guard let (size, length) = try scanned.get() else { return nil }
        guard size <= UInt64(Int.max) else { throw .malformed("a chunk size too large") }
        buffer.moveReaderIndex(forwardBy: length)
        return Int(size)
    }

    /// Reads and drops a trailer section from the front of `buffer`; `false` (nothing taken) until it is complete.
    static func readTrailers(_ buffer: inout ByteBuffer, maxBytes: Int, maxCount: Int) throws(HTTP1ParseError) -> Bool {
        let scanned = buffer.withUnsafeReadableBytes { bytes in
            Result { () throws(HTTP1ParseError) in try scanTrailers(bytes, maxBytes: maxBytes, maxCount: maxCount) }
        }
        guard let length = try scanned.get() else { return false }
        buffer.moveReaderIndex(forwardBy: length)
        return true
    }
}
