import GatewayAdmission
import NIOCore
import NIOHTTP1
import Testing

@testable import AuthGateway

/// The response side of the proxy as plain values: an upstream's hop-by-hop headers (fixed ones and those its
/// `Connection` names) never reach the client while every end-to-end header passes untouched and in order; and
/// a request the HTTP/1.1 parser refused gets the documented status, code and `Connection: close`.
@Suite("Response header filter")
struct ResponseHeaderFilterTests {
    static func filtered(_ upstream: [(String, String)]) -> [String] {
        ResponseHeaderFilter.clientHeaders(from: HTTPHeaders(upstream)).map { "\($0.name): \($0.value)" }
    }

    // MARK: - ResponseHeaderFilter

    @Test("end-to-end headers pass unchanged, in order, repeated ones included")
    func endToEndPass() {
        let upstream = [
            ("Content-Type", "application/json"), ("Content-Length", "12"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"),
            ("Cache-Control", "no-store"), ("WWW-Authenticate", "Basic"), ("Proxy-Authorization-Info", "x"),
        ]
        #expect(Self.filtered(upstream) == [
            "Content-Type: application/json", "Content-Length: 12", "Set-Cookie: a=1", "Set-Cookie: b=2",
            "Cache-Control: no-store", "WWW-Authenticate: Basic", "Proxy-Authorization-Info: x",
        ])
    }

    @Test("every hop-by-hop header is removed, in any case, every occurrence")
    func hopByHopRemoved() {
        let upstream = [
            ("Connection", "keep-alive"), ("Content-Type", "text/plain"), ("Keep-Alive", "timeout=5"),
            ("PROXY-CONNECTION", "keep-alive"), ("Transfer-Encoding", "chunked"), ("transfer-encoding", "chunked"),
            ("TE", "trailers"), ("Trailer", "X-Checksum"), ("Upgrade", "h2c"), ("Proxy-Authenticate", "Basic"),
            ("HTTP2-Settings", "AAMAAABkAAQAAP__"), ("ETag", "\"v1\""),
        ]
        #expect(Self.filtered(upstream) == ["Content-Type: text/plain", "ETag: \"v1\""])
    }

    @Test("every header the upstream's Connection headers name is removed (lists, spaces, tabs, any case)")
    func connectionNamedRemoved() {
        let upstream = [
            ("Connection", "close, X-Internal-Token ,\tx-debug"), ("connection", "Server-Timing"),
            ("X-Internal-Token", "secret"), ("x-internal-token", "secret-2"), ("X-DEBUG", "1"), ("Server-Timing", "db;dur=5"),
            ("X-Internal-Token-Id", "kept"), ("Content-Length", "0"),
        ]
        #expect(Self.filtered(upstream) == ["X-Internal-Token-Id: kept", "Content-Length: 0"])
    }

    @Test("a response without hop-by-hop headers comes out equal to what went in")
    func untouched() {
        #expect(Self.filtered([("Date", "Tue, 01 Dec 2026 00:00:00 GMT"), ("Content-Length", "3")])
            == ["Date: Tue, 01 Dec 2026 00:00:00 GMT", "Content-Length: 3"])
        #expect(Self.filtered([]) == [])
    }

    @Test("with a route's CORS rule the upstream's Access-Control-* headers are replaced and Vary gains Origin once")
    func corsReplacesUpstreamHeaders() {
        let upstream = HTTPHeaders([
            ("Access-Control-Allow-Origin", "*"), ("access-control-allow-credentials", "true"), ("Vary", "Accept-Encoding"),
            ("Content-Length", "3"),
        ])
        let cors = [("access-control-allow-origin", "https://app.example.com"), ("vary", "Origin")]
        let headers = ResponseHeaderFilter.clientHeaders(from: upstream, cors: cors).map { "\($0.name): \($0.value)" }
        #expect(headers == ["Content-Length: 3", "access-control-allow-origin: https://app.example.com", "vary: Accept-Encoding, Origin"])
        let already = HTTPHeaders([("Vary", "origin")])
        #expect(ResponseHeaderFilter.clientHeaders(from: already, cors: [("vary", "Origin")]).map { "\($0.name): \($0.value)" } == ["Vary: origin"])
        // Without a CORS rule the upstream's headers pass as they are.
        #expect(ResponseHeaderFilter.clientHeaders(from: upstream).count == 4)
    }
}
