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
        guard let lineEnd = try HTTP1Lines.lineEnd(in: view, from: start, limit: limits.maxRequestLineBytes, tooLong: .requestLineTooLong)
        else { return nil }
        // The whole head (request line, fields and the empty line) must be here before anything is built.
        var fieldsStart = lineEnd + 2
        var fieldLines: [Range<Int>] = []
        fieldLines.reserveCapacity(min(limits.maxHeaderCount, 24))
        let fieldsLimit = fieldsStart + limits.maxHeaderBytes
        while true {
            guard let end = try HTTP1Lines.lineEnd(in: view, from: fieldsStart, limit: fieldsLimit - fieldsStart, tooLong: .headTooLarge)
            else { return nil }
            if end == fieldsStart { break }
            guard fieldLines.count < limits.maxHeaderCount else { throw .headTooLarge }
            fieldLines.append(fieldsStart..<end)
            fieldsStart = end + 2
        }
        let head = try Self.requestHead(view, line: start..<lineEnd, fields: fieldLines)
        return (head, fieldsStart + 2)
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
            let (name, value) = try HTTP1Lines.field(view, field)
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

    // MARK: Chunks

    /// `1*16HEXDIG [ ; extensions ] CRLF`; the extensions are read (quoted strings may not hold CR or LF)
    /// and dropped.
    private mutating func parseChunkLine(_ buffer: inout ByteBuffer) throws(HTTP1ParseError) -> Part? {
        guard let size = try HTTP1Lines.readChunkLine(&buffer, maxLineBytes: limits.maxChunkLineBytes) else { return nil }
        guard size > 0 else {
            state = .trailers
            return try parseTrailers(&buffer)
        }
        state = .chunkData(remaining: size)
        return try next(from: &buffer)
    }

    /// The trailer section after the last chunk: read (bounded like a head), checked as field lines, and dropped.
    private mutating func parseTrailers(_ buffer: inout ByteBuffer) throws(HTTP1ParseError) -> Part? {
        guard try HTTP1Lines.readTrailers(&buffer, maxBytes: limits.maxHeaderBytes, maxCount: limits.maxHeaderCount) else {
            return nil
        }
        state = .head
        return .end
    }
}
