import NIOHTTP1
import Testing
import GatewayAdmission
import GatewayConfig

/// Reading the request a decision request is about, for each protocol, and refusing what cannot be read.
@Suite("Original request of a decision request")
struct OriginalRequestTests {
    static let loopback = [PeerAddressRange("127.0.0.1")!]
    static let nginx = DecisionListener(protocol: .nginxAuthRequest, trustedPeers: loopback)
    static let forward = DecisionListener(protocol: .forwardAuth, trustedPeers: loopback)
    static let envoy = DecisionListener(protocol: .envoyExtAuthzHTTP, trustedPeers: loopback, pathPrefix: "/authz")

    static func head(_ headers: [(String, String)], method: HTTPMethod = .GET, uri: String = "/auth") -> HTTPRequestHead {
        HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: HTTPHeaders(headers))
    }

    @Test func nginxHeadersDescribeTheRequest() throws {
        let decision = Self.head([
            ("Host", "gateway:9443"), ("X-Original-Method", "DELETE"), ("X-Original-URI", "/api/data/x?q=1"),
            ("X-Original-Host", "api.example"), ("X-Original-Proto", "https"), ("Authorization", "Bearer t"),
            ("X-User-Id", "spoofed"), ("Content-Length", "0"),
        ])
        let original = try OriginalRequest.read(decision, peer: "127.0.0.1", settings: Self.nginx).get()
        #expect(original.method == .DELETE)
        #expect(original.uri == "/api/data/x?q=1")
        #expect(original.headers["host"] == ["api.example"])
        #expect(original.headers["authorization"] == ["Bearer t"])
        // The client's identity headers stay in the head that is judged; the answer never echoes them.
        #expect(original.headers["x-user-id"] == ["spoofed"])
        for gone in ["x-original-method", "x-original-uri", "x-original-host", "x-original-proto", "content-length"] {
            #expect(!original.headers.contains(name: gone), "\(gone)")
        }
    }

    @Test func forwardAuthHeadersDescribeTheRequest() throws {
        let decision = Self.head([
            ("Host", "gateway"), ("X-Forwarded-Method", "POST"), ("X-Forwarded-Uri", "/public/../admin/x"),
            ("X-Forwarded-Host", "app.example:8443"), ("X-Forwarded-Proto", "https"), ("X-Forwarded-For", "6.6.6.6"),
        ])
        let original = try OriginalRequest.read(decision, peer: "127.0.0.1", settings: Self.forward).get()
        #expect(original.method == .POST)
        // Canonicalized later, by the same RequestGuard the proxy runs: read exactly as sent here.
        #expect(original.uri == "/public/../admin/x")
        #expect(original.headers["host"] == ["app.example:8443"])
        #expect(original.headers["x-forwarded-for"] == ["6.6.6.6"])
    }

    @Test func envoyPathLosesItsPrefix() throws {
        let decision = Self.head([("Host", "api.example"), ("Authorization", "Bearer t")], method: .PUT, uri: "/authz/api/data/x?q=1")
        let original = try OriginalRequest.read(decision, peer: "127.0.0.1", settings: Self.envoy).get()
        #expect(original.method == .PUT)
        #expect(original.uri == "/api/data/x?q=1")
        #expect(original.headers["host"] == ["api.example"])
    }

    @Test(arguments: ["/authzapi/data", "/auth/api", "/authz", "/authz?x=1", "/api/data"])
    func envoyPathOutsideThePrefixIsRefused(uri: String) {
        let decision = Self.head([("Host", "api.example")], uri: uri)
        #expect(throws: OriginalRequest.Refusal.outsidePrefix) {
            try OriginalRequest.read(decision, peer: "127.0.0.1", settings: Self.envoy).get()
        }
    }

    @Test(arguments: ["10.0.0.1", "127.0.0.2", "::1", "unknown"])
    func untrustedPeersAreRefusedBeforeAnythingIsRead(peer: String) {
        let decision = Self.head([("X-Original-Method", "GET"), ("X-Original-URI", "/"), ("X-Original-Host", "a")])
        let refusal = #expect(throws: OriginalRequest.Refusal.self) {
            try OriginalRequest.read(decision, peer: peer, settings: Self.nginx).get()
        }
        #expect(refusal == .untrustedPeer)
        #expect(refusal?.status == .forbidden)
        #expect(refusal?.code == .untrustedPeer)
    }

    @Test(arguments: [
        // Missing, empty or doubled describing headers (a proxy that appends lets the client's copy in).
        [("X-Original-URI", "/"), ("X-Original-Host", "a")],
        [("X-Original-Method", "GET"), ("X-Original-Host", "a")],
        [("X-Original-Method", "GET"), ("X-Original-URI", "/")],
        [("X-Original-Method", ""), ("X-Original-URI", "/"), ("X-Original-Host", "a")],
        [("X-Original-Method", "GET"), ("X-Original-URI", "/admin"), ("x-original-uri", "/public"), ("X-Original-Host", "a")],
        [("X-Original-Method", "GET"), ("X-Original-URI", "/"), ("X-Original-Host", "a"), ("X-Original-Host", "b")],
    ])
    func unreadableHeadersAreRefused(headers: [(String, String)]) {
        let refusal = #expect(throws: OriginalRequest.Refusal.self) {
            try OriginalRequest.read(Self.head(headers), peer: "127.0.0.1", settings: Self.nginx).get()
        }
        #expect(refusal?.status == .badRequest)
        #expect(refusal?.code == .badDecisionRequest)
    }

    @Test(arguments: [("G ET", "/", OriginalRequest.Refusal.badMethod), ("GET\u{0}", "/", .badMethod),
                      ("GET", "http://evil.example/admin", .badURI), ("GET", "*", .badURI), ("GET", "admin", .badURI)])
    func unreadableMethodsAndTargetsAreRefused(method: String, uri: String, refusal: OriginalRequest.Refusal) {
        let decision = Self.head([("X-Original-Method", method), ("X-Original-URI", uri), ("X-Original-Host", "a")])
        #expect(throws: refusal) {
            try OriginalRequest.read(decision, peer: "127.0.0.1", settings: Self.nginx).get()
        }
    }
}
