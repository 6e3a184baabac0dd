import NIOCore
import NIOEmbedded
import NIOHPACK
import NIOHTTP1
import NIOHTTP2
import Testing
@testable import AuthGateway
@testable import GatewayPolicy

/// ``HTTP2MessageTranslation`` against what it replaced: the per-stream normalizer the gateway had (kept here
/// verbatim as the reference) in front of NIO's own `HTTP2FramePayloadToHTTP1ServerCodec`. Thousands of request
/// heads made from a fixed seed, valid and not, must end the same way in both: malformed (reset with
/// PROTOCOL_ERROR), untranslatable (closed), or the same HTTP/1.1 parts. Field names are lower case, and values
/// free of CR, LF and NUL, as NIO's header validation leaves them before either sees a head.
@Suite("HTTP/2 translation against NIO's codec")
struct HTTP2TranslationReferenceTests {
    enum Outcome: Equatable, CustomStringConvertible {
        case malformed
        case untranslatable
        case parts([String])

        var description: String {
            switch self {
            case .malformed: return "malformed"
            case .untranslatable: return "untranslatable"
            case .parts(let parts): return parts.joined(separator: " | ")
            }
        }
    }

    static func describe(_ part: HTTPServerRequestPart) -> String {
        switch part {
        case .head(let head):
            let fields = head.headers.map { "\($0.name): \($0.value)" }.joined(separator: ", ")
            return "\(head.method.rawValue) \(head.uri) \(head.version) [\(fields)]"
        case .body(let body):
            return "body \(body.readableBytes)"
        case .end(let trailers):
            return "end \(trailers.map { $0.map { "\($0.name): \($0.value)" } } ?? [])"
        }
    }

    static func translated(_ headers: HPACKHeaders, endStream: Bool) -> Outcome {
        switch HTTP2MessageTranslation.requestHead(headers, endStream: endStream) {
        case .failure(.malformed): return .malformed
        case .failure(.untranslatable): return .untranslatable
        case .success(let head): return .parts([describe(.head(head))] + (endStream ? [describe(.end(nil))] : []))
        }
    }

    static func reference(_ headers: HPACKHeaders, endStream: Bool) throws -> Outcome {
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
        while let part = try channel.readInbound(as: HTTPServerRequestPart.self) { parts.append(describe(part)) }
        return .parts(parts)
    }

    /// A small deterministic generator (a 64-bit LCG), so that a failure names a case that can be run again.
    struct Generator {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(bound))
        }
        mutating func pick<T>(_ values: [T]) -> T { values[next(values.count)] }
    }

    /// Values for each pseudo-header: the usual ones, then the odd ones (picked one time in six).
    static let methods = (["GET", "POST", "HEAD", "DELETE", "CONNECT", "TRACE", "PUT", "OPTIONS", "PROPFIND"],
                          ["get", "G ET", "GET ", " GET", "", "G\u{7F}T", "G(T"])
    static let paths = (["/", "/a?b=1", "*", "/x/../y"], ["", "/a b", "/a\u{1}", " /a", "/a\t", "/\u{7F}"])
    static let schemes = (["https", "http"], ["ftp", "", " https", "HTTPS"])
    static let authorities = (["a.example", "A.Example", "b.example", "a.example:8443"], ["a b", "", "a.example "])
    static let others: [(String, String)] = [
        ("host", "a.example"), ("host", "b.example"), ("host", "A.EXAMPLE"), ("cookie", "a=1"), ("cookie", "b=2"),
        ("cookie", ""), ("content-length", "3"), ("content-length", "0"), ("x-v", "in side"), ("accept", "*/*"),
        ("te", "trailers"), ("authorization", "Bearer a.b.c"), (":unknown", "x"),
    ]
    static let oddOthers: [(String, String)] = [
        ("host", " a.example"), ("x-v", " lead"), ("x-v", "trail\t"), (":path", "/dup"), (":method", "GET"),
        (":authority", "a.example"), (":scheme", "https"),
    ]

    static func value(_ pool: ([String], [String]), _ generator: inout Generator) -> String {
        generator.next(6) == 0 ? generator.pick(pool.1) : generator.pick(pool.0)
    }

    static func head(_ generator: inout Generator) -> [(String, String)] {
        var fields: [(String, String)] = []
        if generator.next(12) > 0 { fields.append((":method", value(methods, &generator))) }
        if generator.next(12) > 0 { fields.append((":scheme", value(schemes, &generator))) }
        if generator.next(12) > 0 { fields.append((":path", value(paths, &generator))) }
        if generator.next(12) > 0 { fields.append((":authority", value(authorities, &generator))) }
        for _ in 0..<generator.next(6) {
            let field = generator.next(8) == 0 ? generator.pick(oddOthers) : generator.pick(others)
            fields.insert(field, at: generator.next(fields.count + 1))
        }
        return fields
    }

    @Test("10,000 generated heads end the same way as in NIO's codec behind the old normalizer")
    func sameAsReference() throws {
        var generator = Generator(state: 0x5EED)
        var outcomes: [String: Int] = [:]
        for index in 0..<10_000 {
            let fields = Self.head(&generator)
            let endStream = generator.next(2) == 0
            let headers = HPACKHeaders(fields)
            let expected = try Self.reference(headers, endStream: endStream)
            let actual = Self.translated(headers, endStream: endStream)
            #expect(actual == expected, "case \(index): \(fields), END_STREAM \(endStream)")
            if actual != expected { return }
            switch expected {
            case .malformed: outcomes["malformed", default: 0] += 1
            case .untranslatable: outcomes["untranslatable", default: 0] += 1
            case .parts: outcomes["translated", default: 0] += 1
            }
        }
        // The generator reaches every outcome often (a generator that only made refusals would prove little).
        #expect(outcomes.values.allSatisfy { $0 > 500 } && outcomes.count == 3, "\(outcomes)")
    }

    @Test("the reference itself: the cases the normalizer and the codec each refused")
    func referenceRefuses() throws {
        let base: [(String, String)] = [(":method", "GET"), (":scheme", "https"), (":path", "/"), (":authority", "a")]
        #expect(try Self.reference(HPACKHeaders(base + [("x", "v ")]), endStream: true) == .malformed)
        #expect(try Self.reference(HPACKHeaders(Array(base.dropLast())), endStream: true) == .untranslatable)
        #expect(try Self.reference(HPACKHeaders(base), endStream: true) != .untranslatable)
    }
}

/// The per-stream normalizer the gateway ran in front of NIO's codec until the translation was rewritten (the
/// reference for ``HTTP2TranslationReferenceTests``), unchanged.
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
