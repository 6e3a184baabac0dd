import NIOCore
import NIOHTTP1
import GatewayPolicy

/// An answer the gateway gives itself: a status, an `application/problem+json` body with a stable code,
/// and for auth failures an RFC 6750 `WWW-Authenticate` challenge.
///
/// Bodies never carry a token, a key id, a secret or an internal address.
package struct GatewayResponse {
    package let status: HTTPResponseStatus
    package let code: GatewayCode
    package let challenge: String?
    /// Close the connection after this answer.
    package var close: Bool
    /// The `Allow` header of a 405.
    package let allow: HTTPMethodSet?
    /// More headers: the route's CORS headers for a browser origin it allows.
    package var extraHeaders: [(String, String)] = []

    package init(status: HTTPResponseStatus, code: GatewayCode, challenge: String? = nil, close: Bool = false, allow: HTTPMethodSet? = nil) {
        self.status = status
        self.code = code
        self.challenge = challenge
        self.close = close
        self.allow = allow
    }

    /// The answer for a policy denial.
    package init(denial: Denial, realm: String, close: Bool) {
        self.init(
            status: HTTPResponseStatus(statusCode: denial.status),
            code: GatewayCode(denial.reason),
            challenge: denial.challenge?.headerValue(realm: realm),
            close: close || denial.status == 400,
            allow: denial.allow
        )
    }

    package static func upstream(_ failure: UpstreamFailure) -> GatewayResponse {
        switch failure {
        case .timeout: return GatewayResponse(status: .gatewayTimeout, code: .upstreamTimeout)
        case .unavailable: return GatewayResponse(status: .serviceUnavailable, code: .noHealthyUpstream)
        case .saturated: return GatewayResponse(status: .serviceUnavailable, code: .upstreamSaturated)
        case .connectFailed, .reset, .protocolError: return GatewayResponse(status: .badGateway, code: .upstreamError)
        }
    }

    /// The answer to a CORS preflight the route allows: `204` with the CORS headers, no body.
    package static func preflight(_ headers: [(String, String)]) -> GatewayResponse {
        var response = GatewayResponse(status: .noContent, code: .corsPreflight)
        response.extraHeaders = headers
        return response
    }

    /// The head and body, with `requestID` echoed for support.
    package func render(requestID: String, version: HTTPVersion) -> (HTTPResponseHead, ByteBuffer) {
        // 204 (a CORS preflight) and 200 (a decision-mode allow) carry headers only.
        guard status != .noContent, status != .ok else {
            var headers = HTTPHeaders(extraHeaders)
            headers.add(name: "x-request-id", value: requestID)
            if status == .ok { headers.add(name: "content-length", value: "0") }
            if close && version.major < 2 { headers.add(name: "connection", value: "close") }
            return (HTTPResponseHead(version: version, status: status, headers: headers), ByteBuffer())
        }
        let body = "{\"type\":\"about:blank\",\"title\":\"\(status.reasonPhrase)\",\"status\":\(status.code),\"code\":\"\(code.rawValue)\",\"request_id\":\"\(requestID)\"}\n"
        var headers = HTTPHeaders()
        headers.reserveCapacity(6)
        headers.add(name: "content-type", value: "application/problem+json")
        headers.add(name: "content-length", value: String(body.utf8.count))
        headers.add(name: "cache-control", value: "no-store")
        headers.add(name: "x-request-id", value: requestID)
        if let challenge { headers.add(name: "www-authenticate", value: challenge) }
        if let allow { headers.add(name: "allow", value: allow.methodNames.joined(separator: ", ")) }
        for (name, value) in extraHeaders { headers.add(name: name, value: value) }
        if close && version.major < 2 { headers.add(name: "connection", value: "close") }
        return (HTTPResponseHead(version: version, status: status, headers: headers), ByteBuffer(string: body))
    }
}
