// Fuzz target `h2head`: an HTTP/2 request head (the first byte: bit 0 = END_STREAM; then fields separated by LF,
// name and value by NUL) → HTTP2MessageTranslation.requestHead, the per-stream translation of HTTP/2 requests.
//
// The head is given the shape NIO's header validation leaves before the translation sees it: names in lower-case
// ASCII, no CR or NUL in a value (LF cannot occur: it separates fields). Invariants: the outcome (malformed, untranslatable,
// or the HTTP/1.1 parts) equals that of what the translation replaced, NIO's own HTTP2FramePayloadToHTTP1ServerCodec
// behind the gateway's former normalizer (kept below as the reference); a translated head has no pseudo-header
// field, a target with no SP, control byte or DEL, at least one Host, no value with white space at either end,
// (but a joined cookie after an empty crumb), and a transfer-encoding only as the chunked it adds itself, never with
// a content-length (for heads NIO lets through: no connection-specific field, `te` only `trailers`).

import NIOCore
import NIOEmbedded
import NIOHPACK
import NIOHTTP1
import NIOHTTP2

@testable import AuthGateway
@testable import GatewayPolicy

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    guard let flags = input.first else { return 0 }
    let endStream = flags & 1 == 1
    var fields: [(String, String)] = []
    for line in input.dropFirst().split(separator: 0x0A, omittingEmptySubsequences: false) {
        let parts = line.split(separator: 0x00, maxSplits: 1, omittingEmptySubsequences: false)
        // NIO refuses a name that is not a lower-case token before a stream sees it (and HPACKHeaders.add, which
        // the former normalizer called, traps on a name that is not ASCII).
        guard !parts[0].isEmpty, parts[0].allSatisfy({ $0 < 0x80 }) else { continue }
        let name = String(decoding: parts[0].map(lowerASCII), as: UTF8.self)
        let value = parts.count > 1 ? String(decoding: parts[1], as: UTF8.self) : ""
        guard !value.utf8.contains(where: { $0 == 0x0D || $0 == 0x00 }) else { continue }
        fields.append((name, value))
    }
    let headers = HPACKHeaders(fields)
    let actual = translated(headers, endStream: endStream)
    invariant(actual == reference(headers, endStream: endStream), "the translation differs from NIO's codec")
    // NIO refuses connection-specific fields, and `te` other than `trailers`, before a stream sees the head
    // (RFC 9113 §8.2.2); with them the two translations must still agree, but the head's shape is not promised.
    let connectionSpecific = ["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"]
    let refusedByNIO = fields.contains { connectionSpecific.contains($0.0) || ($0.0 == "te" && $0.1 != "trailers") }
    if !refusedByNIO, case .success(let head) = HTTP2MessageTranslation.requestHead(headers, endStream: endStream) {
        check(head)
    }
    return 0
}

private func check(_ head: HTTPRequestHead) {
    invariant(!head.uri.utf8.contains { $0 <= 0x20 || $0 == 0x7F }, "the target holds SP or a control byte")
    invariant(!head.headers["host"].isEmpty, "no Host")
    for (name, value) in head.headers {
        invariant(!name.hasPrefix(":"), "a pseudo-header reached the HTTP/1.1 head")
        // Joined cookie crumbs end in "; " after an empty crumb (as the former normalizer joined them too).
        let edges = [value.utf8.first, name == "cookie" ? nil : value.utf8.last]
        invariant(!edges.contains(0x20) && !edges.contains(0x09), "a value with white space at an end")
    }
    let encodings = head.headers["transfer-encoding"]
    invariant(encodings.isEmpty || encodings == ["chunked"], "a transfer-encoding the translation did not add")
    invariant(encodings.isEmpty || head.headers["content-length"].isEmpty, "transfer-encoding with content-length")
}

private enum Outcome: Equatable {
    case malformed
    case untranslatable
    case parts([String])
}

private func describe(_ part: HTTPServerRequestPart) -> String {
    switch part {
    case .head(let head):
        let fields = head.headers.map { "\($0.name): \($0.value)" }.joined(separator: "\n")
        return "\(head.method.rawValue) \(head.uri) \(head.version)\n\(fields)"
    case .body(let body):
        return "body \(body.readableBytes)"
    case .end(let trailers):
        return "end \(trailers.map { $0.map { "\($0.name): \($0.value)" } } ?? [])"
    }
}

private func translated(_ headers: HPACKHeaders, endStream: Bool) -> Outcome {
    switch HTTP2MessageTranslation.requestHead(headers, endStream: endStream) {
    case .failure(.malformed): return .malformed
    case .failure(.untranslatable): return .untranslatable
    case .success(let head): return .parts([describe(.head(head))] + (endStream ? [describe(.end(nil))] : []))
    }
}

private func reference(_ headers: HPACKHeaders, endStream: Bool) -> Outcome {
    if ReferenceNormalizer.malformation(headers) != nil { return .malformed }
    let normalized = ReferenceNormalizer.normalize(headers) ?? headers
    let channel = EmbeddedChannel(handler: HTTP2FramePayloadToHTTP1ServerCodec())
    defer { _ = try? channel.finish() }
    do {
        try channel.writeInbound(HTTP2Frame.FramePayload.headers(.init(headers: normalized, endStream: endStream)))
    } catch {
        return .untranslatable
    }
    var parts: [String] = []
    while let part = try? channel.readInbound(as: HTTPServerRequestPart.self) { parts.append(describe(part)) }
    return .parts(parts)
}

/// The per-stream normalizer the gateway ran in front of NIO's codec until the translation was rewritten,
/// unchanged (also the reference of the unit tests' HTTP2TranslationReferenceTests).
private enum ReferenceNormalizer {
    /// Why a request head is malformed under RFC 9113 §8.2.1 and §8.3.1 in ways the codec does not refuse, or
    /// `nil`.
    static func malformation(_ headers: HPACKHeaders) -> String? {
        for (name, value, _) in headers {
            if let first = value.utf8.first, first == 0x20 || first == 0x09 { return "\(name): leading white space" }
            if let last = value.utf8.last, last == 0x20 || last == 0x09 { return "\(name): trailing white space" }
            switch name {
            case ":method" where !HTTPSyntax.isToken(value): return ":method is not a token"
            case ":scheme" where value != "https" && value != "http": return ":scheme is not https"
            default: break
            }
        }
        return nil
    }

    /// The head's fields as HTTP/1.1 should see them, or `nil` when nothing changes (the common case).
    static func normalize(_ headers: HPACKHeaders) -> HPACKHeaders? {
        var authority: String?
        var hostDisagrees = false
        var cookies = 0
        for (name, value, _) in headers {
            switch name {
            case ":authority": authority = value
            case "cookie": cookies += 1
            default: break
            }
        }
        if let authority {
            hostDisagrees = headers["host"].contains { !$0.utf8.elementsEqual(authority.utf8, by: Self.equalIgnoringCase) }
        }
        guard hostDisagrees || cookies > 1 else { return nil }
        var result = HPACKHeaders()
        result.reserveCapacity(headers.count + 1)
        var cookieWritten = false
        for (name, value, indexing) in headers {
            if name == "cookie", cookies > 1 {
                guard !cookieWritten else { continue }
                cookieWritten = true
                result.add(name: "cookie", value: headers["cookie"].joined(separator: "; "), indexing: indexing)
                continue
            }
            result.add(name: name, value: value, indexing: indexing)
        }
        if hostDisagrees, let authority {
            result.add(name: "host", value: authority)
        }
        return result
    }

    private static func equalIgnoringCase(_ a: UInt8, _ b: UInt8) -> Bool {
        a == b || (a | 0x20 == b | 0x20 && (a | 0x20) >= UInt8(ascii: "a") && (a | 0x20) <= UInt8(ascii: "z"))
    }
}
