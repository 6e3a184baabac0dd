import Foundation
import Testing

/// HTTP/2 clients and HTTP/1.1 pipelining, checked at the upstream.
@Suite("End to end: HTTP/2 and pipelining")
struct ProtocolEndToEndTests {
    @Test("HTTP/2 from curl reaches the HTTP/1.1 upstream as HTTP/1.1, with the gateway's identity")
    func http2() async throws {
        try await GatewayHarness.with { gateway in
            let token = try gateway.token(sub: "dave")
            let response = try await Curl.request(
                gateway, "/api/data/%61b/./c", headers: [gateway.bearer(token), "x-user-id: admin"], http2: true)
            #expect(response.status == 200, "body: \(response.bodyText)")
            #expect(response.httpVersion == "2")
            let denied = try await Curl.request(gateway, "/api/data/x", http2: true)
            #expect(denied.status == 401)
            #expect(denied.values("www-authenticate") == [#"Bearer realm="auth-gateway""#])

            let requests = await gateway.upstream.waitForRequests(1)
            try #require(requests.count == 1, "the denied HTTP/2 request must not be forwarded")
            #expect(requests[0].requestLine == "GET /api/data/ab/c HTTP/1.1")
            #expect(requests[0].values("X-User-Id") == ["dave"])
            #expect(requests[0].values("Authorization").isEmpty)
            #expect(requests[0].values("Host").count == 1)
            let records = await gateway.observer.waitForRecords(2)
            #expect(records.count == 2)
            #expect(records.allSatisfy { $0.protocolName == "HTTP/2" })
            #expect(Set(records.map(\.status)) == [200, 401])
        }
    }

    @Test("pipelined requests on one connection keep their own identities, in order")
    func pipelining() async throws {
        try await GatewayHarness.with { gateway in
            let alice = try gateway.token(sub: "alice")
            let bob = try gateway.token(sub: "bob")
            let bytes =
                "GET /api/data/one HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \(alice)\r\n\r\n"
                + "GET /api/data/two HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \(bob)\r\nX-User-Id: alice\r\nConnection: close\r\n\r\n"
            let response = try await RawTLSClient.exchange(gateway, Array(bytes.utf8), timeout: 20)
            #expect(response.statuses == [200, 200], "raw response: \(response.text)")
            #expect(response.closedByServer, "Connection: close on the last request")
            // Responses in request order: the echo bodies name the targets.
            let first = response.text.range(of: "/api/data/one")
            let second = response.text.range(of: "/api/data/two")
            #expect(first != nil && second != nil && first!.lowerBound < second!.lowerBound)

            let requests = await gateway.upstream.waitForRequests(2, timeout: 2)
            try #require(requests.count == 2)
            #expect(requests.map(\.target) == ["/api/data/one", "/api/data/two"])
            #expect(requests.map { $0.values("X-User-Id") } == [["alice"], ["bob"]])
        }
    }

    @Test("a pipelined denial between two allowed requests: each answered in order, only the allowed forwarded")
    func pipeliningWithDenial() async throws {
        try await GatewayHarness.with { gateway in
            let alice = try gateway.token(sub: "alice")
            let bob = try gateway.token(sub: "bob")
            let bytes =
                "GET /api/data/one HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \(alice)\r\n\r\n"
                + "GET /api/data/anonymous HTTP/1.1\r\nHost: localhost\r\nX-User-Id: alice\r\n\r\n"
                + "GET /api/data/three HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \(bob)\r\nConnection: close\r\n\r\n"
            let response = try await RawTLSClient.exchange(gateway, Array(bytes.utf8), timeout: 20)
            #expect(response.statuses == [200, 401, 200], "raw response: \(response.text)")
            #expect(response.closedByServer)
            let requests = await gateway.upstream.waitForRequests(2, timeout: 2)
            #expect(requests.map(\.target) == ["/api/data/one", "/api/data/three"])
            #expect(requests.map { $0.values("X-User-Id") } == [["alice"], ["bob"]])
        }
    }
}
