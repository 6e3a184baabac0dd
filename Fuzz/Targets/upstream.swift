// Fuzz target `upstream`: raw bytes from an upstream → HTTP1ResponseParser, as UpstreamClientHandler drives it
// (one request out at a time: the first input byte picks GET or HEAD; after each response's end the next
// request is "sent" while bytes remain).
//
// Invariants: the parts do not depend on how the bytes are split into reads (all at once, byte by byte, in
// reads of a size taken from the input); every response is a head, body parts and an end; a response to HEAD,
// 204 and 304 has no body; a Content-Length body is exactly that long and a chunked body is the chunks'
// bytes; a head has a status of 200 or more but not 101 (interim responses are dropped), field names are
// tokens and values hold no control byte but HTAB; a head that is reusable is keep-alive and has a length or
// chunking (a body until the close is never reusable); nothing is returned after an error.

import Foundation
import NIOCore
import NIOHTTP1

@testable import AuthGateway

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    guard input.count >= 2 else { return 0 }
    let method: HTTPMethod = input[0] & 1 == 0 ? .GET : .HEAD
    let step = Int(input[1] % 16) + 1
    let bytes = Array(input[2...])
    let whole = run(bytes, method: method, step: bytes.count)
    invariant(run(bytes, method: method, step: 1) == whole, "byte-by-byte reads parse differently")
    invariant(run(bytes, method: method, step: step) == whole, "reads of \(step) bytes parse differently")
    check(whole, method: method)
    return 0
}

enum Event: Equatable {
    case head(status: Int, reusable: Bool, headers: [String: [String]])
    case body([UInt8])
    case end
    case closedEnd
    case error
}

/// The parts of `bytes`, fed `step` bytes at a time, then the connection's close.
func run(_ bytes: [UInt8], method: HTTPMethod, step: Int) -> [Event] {
    var parser = HTTP1ResponseParser()
    parser.requestSent(method: method)
    var buffer = ByteBuffer()
    var events: [Event] = []
    var offset = 0
    func add(_ part: HTTP1ResponseParser.Part) {
        switch part {
        case .head(let head, let reusable):
            var fields: [String: [String]] = [:]
            for (name, value) in head.headers { fields[name.lowercased(), default: []].append(value) }
            events.append(.head(status: Int(head.status.code), reusable: reusable, headers: fields))
        case .body(let data):
            // Adjacent body parts are one body, however the reads cut it.
            if case .body(let previous)? = events.last {
                events[events.count - 1] = .body(previous + Array(data.readableBytesView))
            } else {
                events.append(.body(Array(data.readableBytesView)))
            }
        case .end:
            events.append(.end)
            parser.requestSent(method: method)
        }
    }
    while offset < bytes.count {
        buffer.writeBytes(bytes[offset..<min(bytes.count, offset + step)])
        offset += step
        do {
            while let part = try parser.next(from: &buffer) { add(part) }
        } catch {
            events.append(.error)
            return events
        }
    }
    if parser.connectionClosed() == .end { events.append(.closedEnd) }
    return events
}

func check(_ events: [Event], method: HTTPMethod) {
    var index = 0
    while index < events.count {
        guard case .head(let status, let reusable, let headers) = events[index] else {
            invariant(events[index] == .error, "a response does not start with its head: \(events[index])")
            invariant(index == events.count - 1, "parts after an error")
            return
        }
        invariant(status >= 200 && status <= 999, "a head with status \(status)")
        for (name, values) in headers {
            invariant(!name.isEmpty && name.utf8.allSatisfy(isTokenByte), "a field name that is not a token: \(name)")
            for value in values {
                invariant(value.utf8.allSatisfy { $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7F) }, "a control byte in \(name)")
            }
        }
        let lengths = headers["content-length"] ?? []
        let codings = headers["transfer-encoding"] ?? []
        invariant(lengths.isEmpty || codings.isEmpty, "a response with both Content-Length and Transfer-Encoding")
        index += 1
        var body: [UInt8] = []
        if index < events.count, case .body(let data) = events[index] {
            body = data
            index += 1
        }
        guard index < events.count else { return }  // cut short: the bytes ran out
        let ending = events[index]
        if ending == .error {
            invariant(index == events.count - 1, "parts after an error")
            return
        }
        invariant(ending == .end || ending == .closedEnd, "a response part after its body: \(ending)")
        let bodiless = method == .HEAD || status == 204 || status == 304
        if bodiless { invariant(body.isEmpty, "a body on a response that has none (\(status), \(method))") }
        if !bodiless, let length = lengths.first.flatMap({ Int($0.split(separator: ",").first.map { String($0).trimmingCharacters(in: .whitespaces) } ?? "") }) {
            invariant(body.count == length, "a Content-Length \(length) body of \(body.count) bytes")
        }
        if ending == .closedEnd {
            invariant(!reusable, "a body that ran until the close was reusable")
            invariant(index == events.count - 1, "parts after the close")
        }
        if reusable {
            invariant(bodiless || !lengths.isEmpty || codings.last?.lowercased() == "chunked", "reusable without a length")
        }
        index += 1
    }
}

func isTokenByte(_ byte: UInt8) -> Bool {
    switch byte {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
        return true
    default:
        return "!#$%&'*+-.^_`|~".utf8.contains(byte)
    }
}
