import NIOCore
import NIOHTTP1
import GatewayAdmission

/// Envoy's gRPC `ext_authz` messages to and from the gateway's decision vocabulary: a `CheckRequest` becomes
/// the request head ``DecisionAdmission`` reads in Envoy's shape (method, path, `Host`, the client's headers),
/// and the decision's answer becomes a `CheckResponse`. Pure.
@available(macOS 15.0, iOS 18.0, watchOS 11.0, tvOS 18.0, visionOS 2.0, *)
enum ExtAuthzCheck {
    typealias CheckRequest = Envoy_Service_Auth_V3_CheckRequest
    typealias CheckResponse = Envoy_Service_Auth_V3_CheckResponse

    /// The original request as a head: Envoy's `path` is the request target (path and query). Header names
    /// arrive lower-cased (pseudo-headers such as `:authority` are left out: `host` carries it); a check
    /// request without a method or path is refused by the decision like any unreadable one.
    static func head(_ request: CheckRequest) -> HTTPRequestHead {
        let http = request.attributes.request.http
        var headers = HTTPHeaders()
        if http.hasHeaderMap, !http.headerMap.headers.isEmpty {
            for header in http.headerMap.headers where !header.key.hasPrefix(":") {
                let value = header.value.isEmpty ? String(decoding: header.rawValue, as: UTF8.self) : header.value
                headers.add(name: header.key, value: value)
            }
        } else {
            for (name, value) in http.headers.sorted(by: { $0.key < $1.key }) where !name.hasPrefix(":") {
                headers.add(name: name, value: value)
            }
        }
        if !http.host.isEmpty { headers.replaceOrAdd(name: "host", value: http.host) }
        return HTTPRequestHead(
            version: .http1_1, method: HTTPMethod(rawValue: http.method), uri: http.path, headers: headers)
    }

    /// The address in a gRPC peer description (`ipv4:127.0.0.1:5000`, `ipv6:[::1]:5000`), or the description
    /// itself when it has another form (no trusted range contains it then).
    static func peerAddress(_ peer: String) -> String {
        if peer.hasPrefix("ipv4:") {
            let rest = peer.dropFirst(5)
            return String(rest[..<(rest.lastIndex(of: ":") ?? rest.endIndex)])
        }
        if peer.hasPrefix("ipv6:["), let close = peer.firstIndex(of: "]") {
            return String(peer[peer.index(peer.startIndex, offsetBy: 6)..<close])
        }
        return peer
    }

    /// The decision as Envoy's answer. Allowed: OK with the identity headers (overwriting any the client sent),
    /// the canonical target and identity list headers, and `headers_to_remove`. Denied: the gateway's status,
    /// headers (`WWW-Authenticate`, `Content-Type`, ...) and problem document, with a gRPC status that is not OK
    /// (UNAUTHENTICATED for 401, PERMISSION_DENIED otherwise).
    static func response(_ answer: GatewayResponse, requestID: String) -> CheckResponse {
        var response = CheckResponse()
        guard answer.status == .ok else {
            let (head, body) = answer.render(requestID: requestID, version: .http2)
            var denied = Envoy_Service_Auth_V3_DeniedHttpResponse()
            denied.status.code = Int32(head.status.code)
            denied.headers = head.headers.filter { !["content-length", "connection"].contains($0.name.lowercased()) }
                .map { option($0.name, $0.value) }
            denied.body = String(buffer: body)
            response.status.code = head.status == .unauthorized ? 16 : 7
            response.status.message = answer.code.rawValue
            response.deniedResponse = denied
            return response
        }
        var ok = Envoy_Service_Auth_V3_OkHttpResponse()
        for (name, value) in answer.extraHeaders {
            if name == DecisionAdmission.envoyHeadersToRemove {
                ok.headersToRemove = value.split(separator: ",").map { String($0.trimmingASCIISpaces()) }
            } else {
                ok.headers.append(option(name, value))
            }
        }
        response.status.code = 0
        response.okResponse = ok
        return response
    }

    private static func option(_ name: String, _ value: String) -> Envoy_Config_Core_V3_HeaderValueOption {
        var option = Envoy_Config_Core_V3_HeaderValueOption()
        option.header.key = name.lowercased()
        option.header.value = value
        option.appendAction = .overwriteIfExistsOrAdd
        return option
    }
}
