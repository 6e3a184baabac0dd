import GatewayAdmission
import NIOCore
import NIOHTTP1

/// Reads an upstream's HTTP/1.1 responses, strictly, one part at a time (RFC 9112), for the one request the
/// connection has out at a time. Pure and incremental like ``HTTP1RequestParser``, with which it shares the
/// line syntax (``HTTP1Lines``).
///
/// Framing (RFC 9112 §6.3): a response to `HEAD`, and every 1xx, 204 and 304, has no body; `Transfer-Encoding`
/// whose last coding is `chunked` is chunked; another `Transfer-Encoding` is read until the connection
/// closes; otherwise a `Content-Length` (equal values repeated are one value) is the body's length; with
/// neither, the body runs until the close. A response with both `Transfer-Encoding` and `Content-Length`, an
/// invalid length (bodiless responses included), or any byte that arrives while no request is out is a protocol error: the connection is
/// no longer in a known state, and the request gets 502. Interim responses (1xx but 101) are read and
/// dropped; 101 is an error (the gateway never asks for an upgrade). Trailers are read and dropped.
struct HTTP1ResponseParser {
    enum Part: Equatable {
        /// `reusable`: the connection may carry another request once this response ends (keep-alive, and a
        /// body that does not run until the close).
        case head(HTTPResponseHead, reusable: Bool)
        case body(ByteBuffer)
        case end
    }

    struct Limits {
        var maxHeadBytes = 64 * 1024
        var maxHeaderCount = 256
        var maxChunkLineBytes = 4096
    }

    private enum State: Equatable {
        /// No request is out: nothing may arrive.
        case idle
        case head(requestWasHEAD: Bool)
        case end
        case body(remaining: Int)
        case chunkLine
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
        case untilClose
        case failed
    }

    let limits: Limits
    private var state = State.idle

    init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// A request went out: its response is next. `HEAD` responses have no body.
    mutating func requestSent(method: HTTPMethod) {
        if state == .idle { state = .head(requestWasHEAD: method == .HEAD) }
    }

    /// Whether the body runs until the connection closes (the close is its end).
    var endsAtClose: Bool { state == .untilClose }

    /// The next part, taken from the front of `buffer`; `nil` when more bytes are needed.
    mutating func next(from buffer: inout ByteBuffer) throws(HTTP1ParseError) -> Part? {
        do throws(HTTP1ParseError) {
            switch state {
            case .idle:
                guard buffer.readableBytes == 0 else { throw .malformed("bytes while no request is out") }
                return nil
            case .head(let requestWasHEAD):
                return try parseHead(&buffer, requestWasHEAD: requestWasHEAD)
            case .end:
                state = .idle
                return .end
            case .body(let remaining), .chunkData(let remaining):
                guard buffer.readableBytes > 0 else { return nil }
                let count = min(remaining, buffer.readableBytes)
                let slice = buffer.readSlice(length: count)!
                let done = remaining == count
                if case .body = state {
                    state = done ? .end : .body(remaining: remaining - count)
                } else {
                    state = done ? .chunkDataEnd : .chunkData(remaining: remaining - count)
                }
                return .body(slice)
            case .untilClose:
                guard buffer.readableBytes > 0 else { return nil }
                return .body(buffer.readSlice(length: buffer.readableBytes)!)
            case .chunkLine:
                return try parseChunkLine(&buffer)
            case .chunkDataEnd:
                guard buffer.readableBytes >= 2 else { return nil }
                guard buffer.readInteger(as: UInt16.self) == 0x0D0A else { throw .malformed("chunk data not followed by CRLF") }
                state = .chunkLine
                return try parseChunkLine(&buffer)
            case .trailers:
                return try parseTrailers(&buffer)
            case .failed:
                return nil
            }
        } catch {
            state = .failed
            throw error
        }
    }

    /// The connection closed: the end of a body that runs until the close; anything else is cut short.
    mutating func connectionClosed() -> Part? {
        guard state == .untilClose else { return nil }
        state = .idle
        return .end
    }

    // MARK: Heads

    private mutating func parseHead(_ buffer: inout ByteBuffer, requestWasHEAD: Bool) throws(HTTP1ParseError) -> Part? {
        let limits = self.limits
        let scanned = buffer.withUnsafeReadableBytes { bytes in
            Result { () throws(HTTP1ParseError) in try Self.scanHead(bytes, limits: limits) }
        }
        guard let (head, length) = try scanned.get() else { return nil }
        buffer.moveReaderIndex(forwardBy: length)
        let code = head.status.code
        if code == 101 { throw .malformed("101 Switching Protocols, never asked for") }
        if code < 200 {
            // An interim response (100, 102, 103): dropped; the final one follows.
            return try parseHead(&buffer, requestWasHEAD: requestWasHEAD)
        }
        let framing = try Self.framing(head, requestWasHEAD: requestWasHEAD)
        state = framing
        let keepAlive = head.isKeepAlive && framing != .untilClose
        return .head(head, reusable: keepAlive)
    }

    /// What follows a final response head. The framing headers are checked even when no body follows (a
    /// response to HEAD, 204, 304): an upstream that writes both, or a length that is not one, is out of step.
    private static func framing(_ head: HTTPResponseHead, requestWasHEAD: Bool) throws(HTTP1ParseError) -> State {
        let code = head.status.code
        let declared = try declaredFraming(head)
        return requestWasHEAD || code == 204 || code == 304 ? .end : declared
    }

    private static func declaredFraming(_ head: HTTPResponseHead) throws(HTTP1ParseError) -> State {
        let codings = head.headers.contains(name: "transfer-encoding")
            ? head.headers.listElements("transfer-encoding") : []
        let lengths = head.headers["content-length"]
        if !codings.isEmpty {
            guard lengths.isEmpty else { throw .malformed("both Transfer-Encoding and Content-Length") }
            return codings.last?.lowercased() == "chunked" ? .chunkLine : .untilClose
        }
        guard let first = lengths.first else { return .untilClose }
        // One plain value is the common answer; a list of equal values (RFC 9110 §8.6) takes the long way.
        let plain = lengths.count == 1 ? Self.decimal(first[...]) : nil
        guard let length = plain ?? Self.listedLength(lengths) else {
            throw .malformed("an invalid Content-Length \(first)")
        }
        return length == 0 ? .end : .body(remaining: length)
    }

    /// The value of a `Content-Length` given as a list (`5, 5`, or repeated fields) whose elements all agree.
    private static func listedLength(_ lengths: [String]) -> Int? {
        let values = Set(lengths.flatMap { $0.split(separator: ",", omittingEmptySubsequences: false) }
            .map { $0.trimmingASCIISpaces() })
        guard values.count == 1, let value = values.first else { return nil }
        return decimal(value)
    }

    /// 1 to 18 ASCII digits as a number (so it cannot overflow), else `nil`.
    private static func decimal(_ text: Substring) -> Int? {
        var value = 0
        var digits = 0
        for byte in text.utf8 {
            guard (0x30...0x39).contains(byte), digits < 18 else { return nil }
            value = value * 10 + Int(byte - 0x30)
            digits += 1
        }
        return digits > 0 ? value : nil
    }

    private static func scanHead(_ view: UnsafeRawBufferPointer, limits: Limits) throws(HTTP1ParseError) -> (HTTPResponseHead, Int)? {
        guard let lineEnd = try HTTP1Lines.lineEnd(in: view, from: 0, limit: 1024, tooLong: .headTooLarge) else { return nil }
        var fieldsStart = lineEnd + 2
        var fieldLines: [Range<Int>] = []
        fieldLines.reserveCapacity(min(limits.maxHeaderCount, 24))
        while true {
            guard let end = try HTTP1Lines.lineEnd(
                in: view, from: fieldsStart, limit: limits.maxHeadBytes - fieldsStart, tooLong: .headTooLarge)
            else { return nil }
            if end == fieldsStart { break }
            guard fieldLines.count < limits.maxHeaderCount else { throw .headTooLarge }
            fieldLines.append(fieldsStart..<end)
            fieldsStart = end + 2
        }
        let (version, status) = try statusLine(view, 0..<lineEnd)
        var headers = HTTPHeaders()
        headers.reserveCapacity(fieldLines.count)
        for line in fieldLines {
            let (name, value) = try HTTP1Lines.field(view, line)
            headers.add(name: name, value: value)
        }
        return (HTTPResponseHead(version: version, status: status, headers: headers), fieldsStart + 2)
    }

    /// `HTTP/1.x SP 3DIGIT SP reason-phrase`; the reason may be empty, and holds no control byte.
    private static func statusLine(_ view: UnsafeRawBufferPointer, _ line: Range<Int>) throws(HTTP1ParseError) -> (HTTPVersion, HTTPResponseStatus) {
        let bytes = UnsafeRawBufferPointer(rebasing: view[line])
        guard bytes.count >= 12, bytes.starts(with: "HTTP/1.".utf8), bytes[8] == 0x20, bytes.count == 12 || bytes[12] == 0x20
        else { throw .malformed("not a status line") }
        let version: HTTPVersion
        switch bytes[7] {
        case UInt8(ascii: "1"): version = .http1_1
        case UInt8(ascii: "0"): version = .http1_0
        default: throw .malformed("an HTTP version other than 1.0 and 1.1")
        }
        var code = 0
        for index in 9..<12 {
            guard (0x30...0x39).contains(bytes[index]) else { throw .malformed("a status code that is not three digits") }
            code = code * 10 + Int(bytes[index] - 0x30)
        }
        guard code >= 100 else { throw .malformed("a status code under 100") }
        if bytes.count > 12 {
            for byte in bytes[13...] where !(byte == 0x09 || (byte >= 0x20 && byte != 0x7F)) {
                throw .malformed("a control byte in the reason phrase")
            }
        }
        let reason = bytes.count > 13 ? String(decoding: bytes[13...], as: UTF8.self) : ""
        return (version, HTTPResponseStatus(statusCode: code, reasonPhrase: reason))
    }

    // MARK: Chunks

    private mutating func parseChunkLine(_ buffer: inout ByteBuffer) throws(HTTP1ParseError) -> Part? {
        guard let size = try HTTP1Lines.readChunkLine(&buffer, maxLineBytes: limits.maxChunkLineBytes) else { return nil }
        guard size > 0 else {
            state = .trailers
            return try parseTrailers(&buffer)
        }
        state = .chunkData(remaining: size)
        return try next(from: &buffer)
    }

    private mutating func parseTrailers(_ buffer: inout ByteBuffer) throws(HTTP1ParseError) -> Part? {
        guard try HTTP1Lines.readTrailers(&buffer, maxBytes: limits.maxHeadBytes, maxCount: limits.maxHeaderCount) else {
            return nil
        }
        state = .idle
        return .end
    }
}
