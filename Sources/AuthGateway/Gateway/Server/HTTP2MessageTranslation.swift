import NIOCore
import NIOHPACK
import NIOHTTP1
import GatewayPolicy

/// One HTTP/2 stream's messages as the HTTP/1.1 parts the request handler reads, and its answer back as HEADERS
/// and DATA payloads. Pure: no channel, no state beyond the arguments.
///
/// It does in one pass what a per-stream pipeline of `HTTP2RequestHeadNormalizer` and NIO's
/// `HTTP2FramePayloadToHTTP1ServerCodec` did (each stream paid for two more handlers, their `NIOAny` boxes and
/// three copies of the head), with the same results. NIOHTTP2Handler's header-block and content-length
/// validation still runs first, at the connection (``ConnectionInitializer/http2Configuration(_:)``).
///
/// The request head:
/// - refused as malformed (RFC 9113 §8.2.1, §8.3.1), which resets the stream with `PROTOCOL_ERROR`: a field value
///   with leading or trailing white space, a `:method` that is not a token, a `:scheme` other than `https` or
///   `http` (the gateway serves no other);
/// - refused as untranslatable, which closes the stream (`RST_STREAM` with `CANCEL`), as NIO's codec did: `:method`,
///   `:path`, `:scheme` or `:authority` missing, twice, or with SP, a control byte or DEL in its value;
/// - `:authority` becomes `host` when there is none; a `host` that disagrees with it (RFC 9113 §8.3.1) stays, and
///   `:authority` is added as a second `host`, so ``RequestGuard``'s one Host check refuses it (400 `bad_host`)
///   exactly as it refuses two Host lines in HTTP/1.1;
/// - cookie crumbs (RFC 9113 §8.2.3) are joined with `"; "` where the first one was;
/// - a method that may carry a body and has no `content-length` gets `content-length: 0` when HEADERS ends the
///   stream, else `transfer-encoding: chunked` (the only `transfer-encoding` ``RequestGuard`` sees on HTTP/2:
///   NIO refuses the client's own).
enum HTTP2MessageTranslation {
    enum Refusal: Error, Equatable {
        /// RFC 9113 calls the head malformed: reset with `PROTOCOL_ERROR`.
        case malformed(String)
        /// No HTTP/1.1 request can be made of it: the stream is closed (`CANCEL`).
        case untranslatable(String)
    }

    /// The request head of a stream's first HEADERS.
    static func requestHead(_ headers: HPACKHeaders, endStream: Bool) -> Result<HTTPRequestHead, Refusal> {
        var pseudo = PseudoHeaders()
        var present = RegularFields()
        for (name, value, _) in headers {
            if let malformation = malformation(name, value) { return .failure(.malformed(malformation)) }
            if name.utf8.first == UInt8(ascii: ":") {
                pseudo.record(name, value)
            } else {
                present.record(name)
            }
        }
        switch pseudo.fields() {
        case .success(let fields):
            let method = HTTPMethod(rawValue: fields.method)
            let http1 = http1Fields(headers, fields, present, method: method, endStream: endStream)
            let head = HTTPRequestHead(
                version: HTTPVersion(major: 2, minor: 0), method: method, uri: fields.path, headers: HTTPHeaders(http1))
            return .success(head)
        case .failure(let refusal):
            return .failure(refusal)
        }
    }

    /// The head's regular fields as HTTP/1.1 gets them: `host` from `:authority` (first, when there is none; last,
    /// as a second one, when it disagrees), the framing field a body needs, cookie crumbs joined.
    private static func http1Fields(
        _ headers: HPACKHeaders, _ pseudo: PseudoHeaders.Fields, _ present: RegularFields, method: HTTPMethod,
        endStream: Bool
    ) -> [(String, String)] {
        var result: [(String, String)] = []
        result.reserveCapacity(present.count + 2)
        if !present.host { result.append(("host", pseudo.authority)) }
        switch method {
        case .GET, .HEAD, .DELETE, .CONNECT, .TRACE:
            break
        default:
            if !present.contentLength {
                result.append(endStream ? ("content-length", "0") : ("transfer-encoding", "chunked"))
            }
        }
        var hostDisagrees = false
        var cookieWritten = false
        for (name, value, _) in headers where name.utf8.first != UInt8(ascii: ":") {
            if name == "host", !value.utf8.elementsEqual(pseudo.authority.utf8, by: equalIgnoringCase) {
                hostDisagrees = true
            }
            if name == "cookie", present.cookies > 1 {
                guard !cookieWritten else { continue }
                cookieWritten = true
                result.append(("cookie", headers["cookie"].joined(separator: "; ")))
                continue
            }
            result.append((name, value))
        }
        if hostDisagrees { result.append(("host", pseudo.authority)) }
        return result
    }

    /// A request's trailers: its regular fields (NIO refuses pseudo-headers in trailers; none would pass here).
    static func trailers(_ headers: HPACKHeaders) -> HTTPHeaders {
        var result: [(String, String)] = []
        result.reserveCapacity(headers.count)
        for (name, value, _) in headers where name.utf8.first != UInt8(ascii: ":") { result.append((name, value)) }
        return HTTPHeaders(result)
    }

    /// A response head as HEADERS: `:status` first, names in lower case, and without the connection-specific
    /// fields HTTP/2 forbids (RFC 9113 §8.2.2: `connection`, those it names, `keep-alive`, `proxy-connection`,
    /// `transfer-encoding`, `upgrade`).
    static func responseHeaders(_ head: HTTPResponseHead) -> HPACKHeaders {
        http2Fields(head.headers, status: head.status.code)
    }

    /// Response trailers as the final HEADERS, normalized like a head.
    static func responseTrailers(_ trailers: HTTPHeaders) -> HPACKHeaders {
        http2Fields(trailers, status: nil)
    }

    private static func isConnectionSpecific(_ name: String) -> Bool {
        switch name {
        case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade": return true
        default: return false
        }
    }

    private static func http2Fields(_ headers: HTTPHeaders, status: UInt?) -> HPACKHeaders {
        // The names `connection` lists, compared in lower case (NIO's own conversion compared them as sent).
        var named: [String] = []
        if headers.contains(name: "connection") {
            named = headers[canonicalForm: "connection"].map { lowercased(String($0)) }
        }
        var result = HPACKHeaders()
        result.reserveCapacity(headers.count + 1)
        if let status { result.add(name: ":status", value: String(status)) }
        for (name, value) in headers {
            let lower = lowercased(name)
            if isConnectionSpecific(lower) || named.contains(lower) { continue }
            result.add(name: lower, value: value)
        }
        return result
    }

    /// `name.lowercased()`, without a new string for a name that has no upper-case letter (the usual case).
    private static func lowercased(_ name: String) -> String {
        let needsLowering = name.utf8.contains { ($0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z")) || $0 >= 0x80 }
        return needsLowering ? name.lowercased() : name
    }

    /// Why a field makes the head malformed under RFC 9113 §8.2.1 and §8.3.1 in ways NIO does not refuse, or `nil`.
    static func malformation(_ name: String, _ value: String) -> String? {
        if let first = value.utf8.first, first == 0x20 || first == 0x09 { return "\(name): leading white space" }
        if let last = value.utf8.last, last == 0x20 || last == 0x09 { return "\(name): trailing white space" }
        switch name {
        case ":method" where !HTTPSyntax.isToken(value): return ":method is not a token"
        case ":scheme" where value != "https" && value != "http": return ":scheme is not https"
        default: return nil
        }
    }

    private static func equalIgnoringCase(_ a: UInt8, _ b: UInt8) -> Bool {
        a == b || (a | 0x20 == b | 0x20 && (a | 0x20) >= UInt8(ascii: "a") && (a | 0x20) <= UInt8(ascii: "z"))
    }
}

/// The four request pseudo-headers NIO's codec required exactly once each, with a value that can stand in an
/// HTTP/1.1 request line (no SP, control byte or DEL: RFC 9113 §8.3.1 via swift-nio-http2's check).
private struct PseudoHeaders {
    struct Fields {
        let method: String
        let path: String
        let authority: String
    }

    private var method: String?
    private var path: String?
    private var scheme: String?
    private var authority: String?
    /// The first of the four seen twice.
    private var repeated: String?

    mutating func record(_ name: String, _ value: String) {
        let seen: Bool
        switch name {
        case ":method": (seen, method) = (method != nil, value)
        case ":path": (seen, path) = (path != nil, value)
        case ":scheme": (seen, scheme) = (scheme != nil, value)
        case ":authority": (seen, authority) = (authority != nil, value)
        default: return  // NIO's header validation refuses any other pseudo-header before the stream sees it.
        }
        if seen, repeated == nil { repeated = name }
    }

    func fields() -> Result<Fields, HTTP2MessageTranslation.Refusal> {
        if let repeated { return .failure(.untranslatable("\(repeated) repeated")) }
        guard let method, let path, let scheme, let authority else {
            return .failure(.untranslatable("a request pseudo-header is missing"))
        }
        guard Self.fitsRequestLine(method), Self.fitsRequestLine(path), Self.fitsRequestLine(scheme),
              Self.fitsRequestLine(authority) else {
            return .failure(.untranslatable("a pseudo-header holds SP or a control byte"))
        }
        return .success(Fields(method: method, path: path, authority: authority))
    }

    private static func fitsRequestLine(_ value: String) -> Bool {
        !value.utf8.contains { $0 <= 0x20 || $0 == 0x7F }
    }
}

/// What the translation needs to know of a head's regular fields before it writes them.
private struct RegularFields {
    private(set) var count = 0
    private(set) var host = false
    private(set) var contentLength = false
    private(set) var cookies = 0

    mutating func record(_ name: String) {
        count += 1
        switch name {
        case "host": host = true
        case "content-length": contentLength = true
        case "cookie": cookies += 1
        default: break
        }
    }
}
