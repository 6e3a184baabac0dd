import NIOCore
import NIOHPACK
import NIOHTTP1
import Testing
@testable import AuthGateway

/// ``HTTP2MessageTranslation``: every check the per-stream normalizer and NIO's HTTP/2 → HTTP/1 codec made on a
/// request head, and the response's way back, on plain values.
@Suite("HTTP/2 message translation")
struct HTTP2MessageTranslationTests {
    typealias Translation = HTTP2MessageTranslation

    static let pseudo: [(String, String)] = [
        (":method", "GET"), (":scheme", "https"), (":path", "/api/x?q=1"), (":authority", "a.example"),
    ]

    private func head(_ fields: [(String, String)], endStream: Bool = true) throws -> HTTPRequestHead {
        try Translation.requestHead(HPACKHeaders(fields), endStream: endStream).get()
    }

    private func refusal(_ fields: [(String, String)]) -> Translation.Refusal? {
        if case .failure(let refusal) = Translation.requestHead(HPACKHeaders(fields), endStream: true) { return refusal }
        return nil
    }

    private func isMalformed(_ fields: [(String, String)]) -> Bool {
        if case .malformed = refusal(fields) { return true }
        return false
    }

    private func isUntranslatable(_ fields: [(String, String)]) -> Bool {
        if case .untranslatable = refusal(fields) { return true }
        return false
    }

    private func replacing(_ name: String, with value: String) -> [(String, String)] {
        Self.pseudo.map { $0.0 == name ? ($0.0, value) : $0 }
    }

    @Test("a plain GET: method, target and version from the pseudo-headers, :authority as host, fields in order")
    func plainRequest() throws {
        let request = try head(Self.pseudo + [("accept", "*/*"), ("authorization", "Bearer x")])
        #expect(request.method == .GET)
        #expect(request.uri == "/api/x?q=1")
        #expect(request.version == HTTPVersion(major: 2, minor: 0))
        #expect(request.headers.map { "\($0.name): \($0.value)" } ==
            ["host: a.example", "accept: */*", "authorization: Bearer x"])
    }

    @Test("an unregistered method is kept as sent", arguments: ["PROPFIND", "X-CUSTOM"])
    func otherMethods(_ method: String) throws {
        #expect(try head(replacing(":method", with: method)).method == HTTPMethod(rawValue: method))
    }

    @Test("RFC 9113 §8.2.1: white space at either end of any value is malformed",
          arguments: [" v", "v ", "\tv", "v\t"])
    func whiteSpace(_ value: String) {
        #expect(isMalformed(Self.pseudo + [("x-field", value)]))
        #expect(isMalformed(replacing(":authority", with: value)))
        #expect(isMalformed(replacing(":path", with: "/" + value)) == (value.last == " " || value.last == "\t"))
    }

    @Test("RFC 9113 §8.3.1: a :method that is not a token is malformed", arguments: ["G(ET", "GE\"T", "", "GET,POST"])
    func methodNotToken(_ method: String) {
        #expect(isMalformed(replacing(":method", with: method)))
    }

    @Test("a :scheme other than https or http is malformed", arguments: ["ftp", "HTTPS", "https://x", "wss", ""])
    func schemeOther(_ scheme: String) {
        #expect(isMalformed(replacing(":scheme", with: scheme)))
    }

    @Test(":scheme http is translated (X-Forwarded-Proto comes from the connection, not from it)")
    func schemeHTTP() throws {
        #expect(try head(replacing(":scheme", with: "http")).uri == "/api/x?q=1")
    }

    @Test("each of :method, :path, :scheme and :authority is required", arguments: [":method", ":path", ":scheme", ":authority"])
    func missingPseudo(_ name: String) {
        #expect(isUntranslatable(Self.pseudo.filter { $0.0 != name }))
    }

    @Test("each of :method, :path, :scheme and :authority only once", arguments: [":method", ":path", ":scheme", ":authority"])
    func repeatedPseudo(_ name: String) throws {
        let field = try #require(Self.pseudo.first { $0.0 == name })
        #expect(isUntranslatable(Self.pseudo + [field]))
    }

    @Test("SP, a control byte or DEL inside a pseudo-header value cannot stand in a request line",
          arguments: [":path", ":authority"], ["a b", "a\r\nb", "a\0b", "a\u{7F}b", "a\u{1}b"])
    func pseudoValueBytes(_ name: String, _ inner: String) {
        #expect(isUntranslatable(replacing(name, with: (name == ":path" ? "/" : "") + inner)))
    }

    @Test("malformed wins over untranslatable, whichever field comes first")
    func malformedFirst() {
        #expect(isMalformed(Self.pseudo + [(":path", "/b"), ("x-field", "v ")]))
    }

    @Test("RFC 9113 §8.3.1: a host equal to :authority (any case) stays the one Host")
    func hostAgrees() throws {
        let request = try head(Self.pseudo + [("host", "A.Example")])
        #expect(request.headers["host"] == ["A.Example"])
    }

    @Test("RFC 9113 §8.3.1: a host disagreeing with :authority becomes two hosts (RequestGuard's 400)")
    func hostDisagrees() throws {
        let request = try head(Self.pseudo + [("host", "b.example"), ("accept", "*/*")])
        #expect(request.headers.map(\.name) == ["host", "accept", "host"])
        #expect(request.headers["host"] == ["b.example", "a.example"])
    }

    @Test("RFC 9113 §8.2.3: cookie crumbs are joined with \"; \" where the first one was")
    func cookieCrumbs() throws {
        let request = try head(Self.pseudo + [("cookie", "a=1"), ("x-other", "1"), ("cookie", "b=2")])
        #expect(request.headers.map { "\($0.name): \($0.value)" } == ["host: a.example", "cookie: a=1; b=2", "x-other: 1"])
        #expect(try head(Self.pseudo + [("cookie", "a=1")]).headers["cookie"] == ["a=1"])
    }

    @Test("a method that may carry a body gets content-length: 0 with END_STREAM, else chunked",
          arguments: ["POST", "PUT", "PATCH", "OPTIONS", "PROPFIND"])
    func bodyFraming(_ method: String) throws {
        let fields = replacing(":method", with: method)
        #expect(try head(fields, endStream: true).headers["content-length"] == ["0"])
        #expect(try head(fields, endStream: true).headers["transfer-encoding"].isEmpty)
        #expect(try head(fields, endStream: false).headers["transfer-encoding"] == ["chunked"])
        #expect(try head(fields, endStream: false).headers["content-length"].isEmpty)
        let declared = try head(fields + [("content-length", "5")], endStream: false)
        #expect(declared.headers["content-length"] == ["5"])
        #expect(declared.headers["transfer-encoding"].isEmpty)
    }

    @Test("methods without body semantics get no framing field", arguments: ["GET", "HEAD", "DELETE", "TRACE"])
    func noBodyFraming(_ method: String) throws {
        for endStream in [true, false] {
            let request = try head(replacing(":method", with: method), endStream: endStream)
            #expect(request.headers["content-length"].isEmpty)
            #expect(request.headers["transfer-encoding"].isEmpty)
        }
    }

    @Test("no pseudo-header reaches the HTTP/1.1 head or the trailers")
    func pseudoDropped() throws {
        #expect(try head(Self.pseudo).headers.allSatisfy { !$0.name.hasPrefix(":") })
        let trailers = Translation.trailers(HPACKHeaders([(":status", "200"), ("x-sum", "1"), ("x-sum", "2")]))
        #expect(trailers.map { "\($0.name): \($0.value)" } == ["x-sum: 1", "x-sum: 2"])
    }

    @Test("a response head: :status first, names in lower case, connection-specific fields dropped (and, in any case, those Connection names)")
    func responseHead() {
        let head = HTTPResponseHead(version: .http1_1, status: .created, headers: HTTPHeaders([
            ("Content-Type", "text/plain"), ("Connection", "keep-alive, X-Hop"), ("Keep-Alive", "timeout=5"),
            ("X-Hop", "1"), ("Transfer-Encoding", "chunked"), ("Upgrade", "h2c"), ("Proxy-Connection", "close"),
            ("x-kept", "2"), ("Set-Cookie", "a=1"), ("set-cookie", "b=2"),
        ]))
        let fields = Translation.responseHeaders(head)
        #expect(fields.map { "\($0.name): \($0.value)" } ==
            [":status: 201", "content-type: text/plain", "x-kept: 2", "set-cookie: a=1", "set-cookie: b=2"])
    }

    @Test("response trailers are normalized like a head, without :status")
    func responseTrailers() {
        let fields = Translation.responseTrailers(HTTPHeaders([("Grpc-Status", "0"), ("Connection", "close")]))
        #expect(fields.map { "\($0.name): \($0.value)" } == ["grpc-status: 0"])
    }
}
