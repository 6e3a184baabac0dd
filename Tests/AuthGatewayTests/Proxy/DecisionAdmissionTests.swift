import GatewayAdmission
import GatewayAuth
import GatewayConfig
import JOSE
import NIOHTTP1
import Testing

@testable import AuthGateway

/// Decision mode as plain values, against ``RequestAdmissionTests``' snapshot: for every kind of request, the
/// decision equals the proxy's (a forward is a 200 with exactly the forwarded identity headers and target, an
/// answer is the same status, code and challenge), and what only decision mode does (peers, describing
/// headers) is refused as documented.
extension RequestAdmissionTests {
    static let nginx = DecisionListener(protocol: .nginxAuthRequest, trustedPeers: [PeerAddressRange("192.0.2.0/24")!])

    func decide(
        _ method: HTTPMethod, _ uri: String, _ headers: [(String, String)] = [], peer: String = Self.clientAddress,
        settings: DecisionListener = Self.nginx
    ) -> Admission {
        let described = [
            ("Host", "gateway.internal"), ("X-Original-Method", method.rawValue), ("X-Original-URI", uri),
            ("X-Original-Host", Self.host),
        ]
        let head = HTTPRequestHead(
            version: .http1_1, method: .GET, uri: "/auth", headers: HTTPHeaders(described + headers))
        let stages = RequestAdmission(
            snapshot: snapshot,
            authenticator: TokenAuthenticator(cache: VerifiedTokenCache(capacity: 16, generation: 1), metrics: nil))
        return DecisionAdmission(admission: stages, settings: settings).admit(
            head, client: ClientConnection(address: peer, isHTTP2: false), requestID: Self.requestID, now: Self.now,
            eventLoop: loop)
    }

    @Test("decision mode decides exactly as the proxy: same allow and identity, same denials")
    func decisionEqualsProxy() throws {
        let foreign = try JWSKey.generate(algorithm: .HS256, keyID: "hs-1")
        let cases: [(HTTPMethod, String, [(String, String)])] = [
            (.GET, "/api/data/%61/./b?q=1", [try bearer(), ("X-User-Id", "mallory")]),
            (.GET, "/api/data/x", []),
            (.GET, "/api/data/x", [try bearer(["scope": "other"])]),
            (.GET, "/api/data/x", [("Authorization", "Bearer " + (try token([:], key: foreign)))]),
            (.GET, "/api/data/x", [try bearer(), try bearer()]),
            (.DELETE, "/api/data/x", [try bearer()]),
            (.GET, "/public/../admin/x", [try bearer()]),
            (.GET, "/admin/x", [try bearer(["roles": ["admin"]])]),
            (.GET, "/public/%2e%2e/admin/x", [try bearer(["roles": ["admin"]])]),
            (.GET, "/admin%2fx", [try bearer()]),
            (.GET, "/nowhere", []),
            (.POST, "/public/form", []),
        ]
        for (method, uri, headers) in cases {
            let proxied = admit(method, uri, headers)
            let decided = decide(method, uri, headers)
            guard case .answer(let response, let outcome) = decided else {
                Issue.record("\(method) \(uri): decision mode did not answer: \(decided)")
                continue
            }
            #expect(outcome.mode == .decision)
            #expect(outcome.originalMethod == method.rawValue)
            switch proxied {
            case .forward(let request):
                #expect(response.status == .ok, "\(method) \(uri)")
                #expect(outcome.route == request.outcome.route && outcome.path == request.outcome.path)
                let sent = response.extraHeaders.filter { $0.0.lowercased() == "x-user-id" }.map(\.1)
                #expect(sent == request.head.headers["x-user-id"], "\(method) \(uri): \(response.extraHeaders)")
                let target = response.extraHeaders.first { $0.0 == DecisionAdmission.targetHeader }?.1
                #expect(target == request.head.uri, "the target the proxy would forward")
            case .answer(let expected, let expectedOutcome):
                #expect(response.status == expected.status, "\(method) \(uri)")
                #expect(response.code == expected.code)
                #expect(response.challenge == expected.challenge)
                #expect(response.close == false, "the proxy's connection stays open")
                #expect(response.extraHeaders.contains { $0 == (DecisionAdmission.codeHeader, expected.code.rawValue) })
                #expect(outcome.verdict == expectedOutcome.verdict && outcome.reason == expectedOutcome.reason)
            case .retryAfter, .awaitingCount, .allowIfCounted:
                Issue.record("\(method) \(uri): the proxy did not decide: \(proxied)")
            }
        }
    }

    @Test("a peer outside trusted_peers is 403 untrusted_peer before anything is read")
    func decisionUntrustedPeer() throws {
        let decided = decide(.GET, "/api/data/x", [try bearer()], peer: "198.51.100.1")
        guard case .answer(let response, let outcome) = decided else {
            Issue.record("\(decided)")
            return
        }
        #expect(response.status == .forbidden && response.code == .untrustedPeer && response.challenge == nil)
        #expect(outcome.verdict == .reject && outcome.reason == .gateway(.untrustedPeer) && outcome.path == nil)
        #expect(outcome.subject == nil, "the token was never looked at")
    }

    @Test("an allowed public request carries no identity, and an empty identity list")
    func decisionPublicAllow() throws {
        let decided = decide(.GET, "/public/x", [("X-User-Id", "mallory")])
        guard case .answer(let response, _) = decided else {
            Issue.record("\(decided)")
            return
        }
        #expect(response.status == .ok)
        #expect(response.extraHeaders.map(\.0) == [DecisionAdmission.identityHeaderList, DecisionAdmission.targetHeader])
        #expect(response.extraHeaders.first?.1 == "")
        let (head, body) = response.render(requestID: "r", version: .http1_1)
        #expect(head.headers["content-length"] == ["0"] && body.readableBytes == 0)
    }
}
