import NIOCore
import NIOHTTP1
import GatewayAdmission
import GatewayPolicy

/// Why the bytes a client sent are not an HTTP/1.1 request the gateway will read. Every one closes the
/// connection after the answer (the byte stream is in doubt).
enum HTTP1ParseError: Error, Equatable {
    /// Anything malformed: the request line, a field line, the framing, a chunk (400).
    case malformed(String)
    /// The request line is longer than `max_uri_bytes` allows (414).
    case requestLineTooLong
    /// The head's fields are more than `max_header_bytes` or `max_header_count` (431).
    case headTooLarge
    /// An `HTTP/x.y` other than 1.0 and 1.1 (505).
    case unsupportedVersion

    var response: GatewayResponse {
        switch self {
        case .malformed: return GatewayResponse(status: .badRequest, code: .badRequest, close: true)
        case .requestLineTooLong: return GatewayResponse(status: .uriTooLong, code: .uriTooLong, close: true)
        case .headTooLarge: return GatewayResponse(status: .requestHeaderFieldsTooLarge, code: .headersTooLarge, close: true)
        case .unsupportedVersion: return GatewayResponse(status: .httpVersionNotSupported, code: .httpVersion, close: true)
        }
    }
}

/// Reads HTTP/1.1 requests from a client's bytes, strictly, one part at a time (RFC 9112).
///
/// Pure and incremental: ``next(from:)`` takes what it needs from the front of a buffer and returns the next
/// part, or `nil` until more bytes arrive. It never reads ahead of the part asked for, so a pipelined request
/// is not even parsed until the one before it has been answered.
///
/// What it refuses (so no two parsers can read these bytes differently): a request line that is not
/// `method SP target SP HTTP/1.x CRLF` (runs of SP are read as one, as RFC 9112 §3 allows; tabs are not); a
/// line ended by a bare CR or a bare LF; field names that are not tokens, whitespace before the colon, an
/// obs-fold continuation, control bytes (NUL, CR, DEL, ...) in a value; a chunk size that is not 1–16 hex
/// digits, a chunk line (size and extensions) over 4 KiB or with a CR/LF inside a quoted extension, chunk
/// data not followed by CRLF. A trailer section is read like a head and dropped. Heads over `max_header_bytes` or
/// `max_header_count` are 431, a request line over `max_uri_bytes` is 414.
///
/// The body's framing comes from ``RequestGuard/framing(of:)``, the function admission judges the head
/// with: a head whose framing the guard refuses is returned, and nothing after it is parsed (the guard's
/// answer closes the connection), so the parser and the guard can never disagree about where a body ends.
struct HTTP1RequestParser {
    struct Limits {
        var maxHeaderBytes: Int
        var maxHeaderCount: Int
        var maxRequestLineBytes: Int
        /// A chunk-size line, extensions included.
        var maxChunkLineBytes = 4096

        init(maxHeaderBytes: Int, maxHeaderCount: Int, maxURIBytes: Int) {
            self.maxHeaderBytes = maxHeaderBytes
            self.maxHeaderCount = maxHeaderCount
            // Method, two spaces and the version around the target.
            self.maxRequestLineBytes = maxURIBytes + 32
        }
    }

    enum Part: Equatable {
        case head(HTTPRequestHead)
        case body(ByteBuffer)
        case end
    }

    private enum State: Equatable {
        case head
        /// The request's parts are all read: its `.end` comes next.
        case end
        case body(remaining: Int)
        case chunkLine
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
        /// The last head's framing cannot be read: nothing after it is parsed.
        case unframed
        case failed
    }

    let limits: Limits
    private var state = State.head
    /// Empty lines skipped before a request line (RFC 9112 §2.2 allows at least one).
    private static let maxLeadingEmptyLines = 8

    init(limits: Limits) {
        self.limits = limits
    }

    /// Whether the parser is between requests (the next part would be a head).
    var isBetweenRequests: Bool { state == .head }

    /// Whether nothing more will ever be parsed (a failure, or a head whose framing is refused).
    var isDone: Bool { state == .failed || state == .unframed }

    /// The next part, taken from the front of `buffer`; `nil` when more bytes are needed.
    mutating func next(from buffer: inout ByteBuffer) throws(HTTP1ParseError) -> Part? {
        do throws(HTTP1ParseError) {
            switch state {
            case .head:
                return try parseHead(&buffer)
            case .end:
                state = .head
                return .end
            case .body(let remaining):
                guard buffer.readableBytes > 0 else { return nil }
                let count = min(remaining, buffer.readableBytes)
                let slice = buffer.readSlice(length: count)!
                state = remaining == count ? .end : .body(remaining: remaining - count)
                return .body(slice)
            case .chunkLine:
                return try parseChunkLine(&buffer)
            case .chunkData(let remaining):
                guard buffer.readableBytes > 0 else { return nil }
                let count = min(remaining, buffer.readableBytes)
                let slice = buffer.readSlice(length: count)!
                state = remaining == count ? .chunkDataEnd : .chunkData(remaining: remaining - count)
                return .body(slice)
            case .chunkDataEnd:
                guard buffer.readableBytes >= 2 else { return nil }
                guard buffer.readInteger(as: UInt16.self) == 0x0D0A else {
                    throw HTTP1ParseError.malformed("chunk data not followed by CRLF")
                }
                state = .chunkLine
                return try parseChunkLine(&buffer)
            case .trailers:
                return try parseTrailers(&buffer)
            case .unframed, .failed:
                return nil
            }
        } catch {
            state = .failed
            throw error
        }
    }

    // MARK: Heads

    private mutating func parseHead(_ buffer: inout ByteBuffer) throws(HTTP1ParseError) -> Part? {
        // One pass over the raw bytes: NIO's buffer views checked per byte would cost an exclusivity check each.
        let limits = self.limits
        let scanned = buffer.withUnsafeReadableBytes { bytes in
            Result { () throws(HTTP1ParseError) in try Self.scanHead(bytes, limits: limits) }
        }
        guard let (head, length) = try scanned.get() else { return nil }
        buffer.moveReaderIndex(forwardBy: length)
        switch RequestGuard.framing(of: head.headers, version: head.version) {
        case .success(.none): state = .end
        case .success(.contentLength(let length)): state = .body(remaining: length)
        case .success(.streamed): state = .chunkLine
        case .failure: state = .unframed
        }
        return .head(head)
    }

    /// A complete head at the front of `view` and its length (empty lines before it included), or `nil` until
    /// all of it is there.
    private static func scanHead(_ view: UnsafeRawBufferPointer, limits: Limits) throws(HTTP1ParseError) -> (HTTPRequestHead, Int)? {
        // Empty lines before the request line are skipped (a client's stray CRLF after a body).
        var start = 0
        while start + 1 < view.count, view[start] == 0x0D, view[start + 1] == 0x0A {
            guard start / 2 < Self.maxLeadingEmptyLines else { throw .malformed("empty lines before the request line") }
            start += 2
        }
        guard start < view.count else { return nil }
        guard let lineEnd = try Self.lineEnd(in: view, from: start, limit: limits.maxRequestLineBytes, tooLong: .requestLineTooLong)
        else { return nil }
        // The whole head (request line, fields and the empty line) must be here before anything is built.
        var fieldsStart = lineEnd + 2
        var fieldLines: [Range<Int>] = []
        let fieldsLimit = fieldsStart + limits.maxHeaderBytes
        while true {
            guard let end = try Self.lineEnd(in: view, from: fieldsStart, limit: fieldsLimit - fieldsStart, tooLong: .headTooLarge)
            else { return nil }
            if end == fieldsStart { break }
            guard fieldLines.count < limits.maxHeaderCount else { throw .headTooLarge }
            fieldLines.append(fieldsStart..<end)
            fieldsStart = end + 2
        }
        let head = try Self.requestHead(view, line: start..<lineEnd, fields: fieldLines)
        return (head, fieldsStart + 2)
    }

    /// The index of the CR of the CRLF that ends the line starting at `start`, or `nil` if the line is not
    /// complete yet; a bare CR or LF, or a line longer than `limit`, throws.
    private static func lineEnd(
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

    private static func requestHead(_ view: UnsafeRawBufferPointer, line: Range<Int>, fields: [Range<Int>]) throws(HTTP1ParseError) -> HTTPRequestHead {
        // method SP+ target SP+ version; no other whitespace, no control bytes.
        var index = line.lowerBound
        let methodStart = index
        while index < line.upperBound, HTTPSyntax.isTokenByte(view[index]) { index += 1 }
        guard index > methodStart, index < line.upperBound, view[index] == 0x20 else {
            throw .malformed("the request line does not start with a method and a space")
        }
        let methodText = String(decoding: view[methodStart..<index], as: UTF8.self)
        // `PRI * HTTP/2.0`: the HTTP/2 connection preface on a connection that negotiated HTTP/1.1.
        guard methodText != "PRI" else { throw .malformed("an HTTP/2 connection preface") }
        let method = HTTPMethod(rawValue: methodText)
        while index < line.upperBound, view[index] == 0x20 { index += 1 }
        let targetStart = index
        while index < line.upperBound, view[index] > 0x20, view[index] < 0x7F { index += 1 }
        guard index > targetStart, index < line.upperBound, view[index] == 0x20 else {
            if index == line.upperBound { throw .unsupportedVersion }  // `GET /path`: HTTP/0.9
            throw .malformed("the request target holds a byte it may not")
        }
        let target = String(decoding: view[targetStart..<index], as: UTF8.self)
        while index < line.upperBound, view[index] == 0x20 { index += 1 }
        let version = try Self.version(view[index..<line.upperBound])
        var headers = HTTPHeaders()
        headers.reserveCapacity(fields.count)
        for field in fields {
            let (name, value) = try Self.field(view, field)
            headers.add(name: name, value: value)
        }
        return HTTPRequestHead(version: version, method: method, uri: target, headers: headers)
    }

    /// `HTTP/1.1` or `HTTP/1.0`; another `HTTP/d.d` is 505, anything else 400.
    private static func version(_ bytes: Slice<UnsafeRawBufferPointer>) throws(HTTP1ParseError) -> HTTPVersion {
        let text = Array(bytes)
        guard text.count == 8, text[0..<5].elementsEqual("HTTP/".utf8), text[6] == UInt8(ascii: "."),
            (0x30...0x39).contains(text[5]), (0x30...0x39).contains(text[7])
        else { throw .malformed("the request line does not end with an HTTP version") }
        guard text[5] == UInt8(ascii: "1"), text[7] == UInt8(ascii: "0") || text[7] == UInt8(ascii: "1") else {
            throw .unsupportedVersion
        }
        return text[7] == UInt8(ascii: "1") ? .http1_1 : .http1_0
    }

    /// `name ":" OWS value OWS`: a token name, no whitespace before the colon (RFC 9112 §5.1), no obs-fold,
    /// value bytes HTAB, SP, visible ASCII and obs-text only.
    private static func field(_ view: UnsafeRawBufferPointer, _ line: Range<Int>) throws(HTTP1ParseError) -> (String, String) {
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

    // MARK: Chunks

    /// `1*16HEXDIG [ ; extensions ] CRLF`; the extensions are read (quoted strings may not hold CR or LF)
    /// and dropped.
    private mutating func parseChunkLine(_ buffer: inout ByteBuffer) throws(HTTP1ParseError) -> Part? {
        let limits = self.limits
        let scanned = buffer.withUnsafeReadableBytes { bytes in
            Result { () throws(HTTP1ParseError) in try Self.scanChunkLine(bytes, limits: limits) }
        }
        guard let (size, length) = try scanned.get() else { return nil }
        buffer.moveReaderIndex(forwardBy: length)
        guard size > 0 else {
            state = .trailers
            return try parseTrailers(&buffer)
        }
        guard size <= UInt64(Int.max) else { throw .malformed("a chunk size too large") }
        state = .chunkData(remaining: Int(size))
        return try next(from: &buffer)
    }

    /// The chunk size at the front of `view` and the length of its line, or `nil` until the line is complete.
    private static func scanChunkLine(_ view: UnsafeRawBufferPointer, limits: Limits) throws(HTTP1ParseError) -> (UInt64, Int)? {
        var index = view.startIndex
        var size: UInt64 = 0
        var digits = 0
        while index < view.endIndex, let digit = Self.hexValue(view[index]) {
            digits += 1
            guard digits <= 16 else { throw .malformed("a chunk size over 16 hex digits") }
            size = size << 4 | UInt64(digit)
            index += 1
        }
        guard index < view.endIndex else {
            if index - view.startIndex > limits.maxChunkLineBytes { throw .malformed("a chunk line too long") }
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
                if index - view.startIndex > limits.maxChunkLineBytes { throw .malformed("a chunk line too long") }
                return nil
            }
            let byte = view[index]
            if index - view.startIndex > limits.maxChunkLineBytes { throw .malformed("a chunk line too long") }
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

    /// The trailer section after the last chunk: read (bounded like a head), checked as field lines, and dropped.
    private mutating func parseTrailers(_ buffer: inout ByteBuffer) throws(HTTP1ParseError) -> Part? {
        let limits = self.limits
        let scanned = buffer.withUnsafeReadableBytes { bytes in
            Result { () throws(HTTP1ParseError) in try Self.scanTrailers(bytes, limits: limits) }
        }
        guard let length = try scanned.get() else { return nil }
        buffer.moveReaderIndex(forwardBy: length)
        state = .head
        return .end
    }

    /// The length of a complete trailer section at the front of `view`, or `nil` until it is complete.
    private static func scanTrailers(_ view: UnsafeRawBufferPointer, limits: Limits) throws(HTTP1ParseError) -> Int? {
        var start = view.startIndex
        var count = 0
        while true {
            guard let end = try Self.lineEnd(in: view, from: start, limit: limits.maxHeaderBytes - (start - view.startIndex), tooLong: .headTooLarge)
            else { return nil }
            if end == start { break }
            count += 1
            guard count <= limits.maxHeaderCount else { throw .headTooLarge }
            // Checked as field lines, then dropped whole: trailers are never forwarded, so a field that may
            // not be in one (framing, routing, credentials: RFC 9110 §6.5.1) cannot turn into a late refusal of
            // a request whose head and body are already upstream.
            _ = try Self.field(view, start..<end)
            start = end + 2
        }
        return start + 2 - view.startIndex
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: return byte - 0x30
        case 0x41...0x46: return byte - 0x41 + 10
        case 0x61...0x66: return byte - 0x61 + 10
        default: return nil
        }
    }
}
