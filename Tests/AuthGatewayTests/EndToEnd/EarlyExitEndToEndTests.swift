import Foundation
import TestSupport
import Testing

/// Every way a client can leave before its exchange is over must give the upstream connection back: an
/// outside run showed that 700 abandoned GETs (a few hundred per event loop) filled the pool for good and
/// every later client got 503. Each case leaves 16 times against a target limited to 4 connections per
/// event loop and a slow upstream (so the answer is not back when the client leaves), then 8 ordinary
/// requests must get 200, and no upstream connection may stay in use (the harness checks that after every
/// end-to-end test).
@Suite("End to end: clients that leave early")
struct EarlyExitEndToEndTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let mode: String
        var path = "/public/x"
        var token: String?
        /// When the client leaves, after sending.
        var afterMilliseconds = 0
        var upstream = RecordingUpstream.Behaviour(name: "slow", delayMilliseconds: 400)
        var testDescription: String { "\(mode) after \(afterMilliseconds) ms on \(path)" }
    }

    static let uploadToken = "write:data"

    static let cases: [Case] = [
        // The rows of the report that found the leak (HTTP/1.1 FIN, HTTP/2 RST_STREAM after HEADERS or
        // mid-upload, HTTP/2 short content-length) and the ones that did not leak then.
        Case(mode: "h1_fin"),
        Case(mode: "h1_fin", afterMilliseconds: 100),
        Case(mode: "h1_rst"),
        Case(mode: "h1_rst", afterMilliseconds: 100),
        Case(mode: "h1_half_close"),
        Case(mode: "h1_mid_upload", path: "/upload/x", token: uploadToken),
        Case(mode: "h1_mid_upload_rst", path: "/upload/x", token: uploadToken, afterMilliseconds: 100),
        Case(mode: "h1_mid_download", upstream: .init(name: "big", responseBytes: 8 * 1024 * 1024)),
        Case(mode: "h2_rst_after_headers"),
        Case(mode: "h2_rst_after_headers", afterMilliseconds: 100),
        Case(mode: "h2_rst_mid_upload", path: "/upload/x", token: uploadToken),
        Case(mode: "h2_rst_mid_upload", path: "/upload/x", token: uploadToken, afterMilliseconds: 100),
        Case(mode: "h2_short_content_length", path: "/upload/x", token: uploadToken),
        Case(mode: "h2_rst_mid_download", upstream: .init(name: "big", responseBytes: 8 * 1024 * 1024)),
        Case(mode: "h2_close_after_headers"),
        Case(mode: "h2_close_after_headers", afterMilliseconds: 100),
        Case(mode: "h2_close_mid_upload", path: "/upload/x", token: uploadToken),
        Case(mode: "h2_goaway_mid_upload", path: "/upload/x", token: uploadToken, afterMilliseconds: 50),
    ]

    static func options(_ upstream: RecordingUpstream.Behaviour) -> GatewayHarness.Options {
        var options = GatewayHarness.Options()
        options.upstreams = ["svc": [.recording(upstream)]]
        options.configure = { configuration in
            configuration.upstreams["svc"]?.maxConnections = 4
            configuration.upstreams["svc"]?.connectTimeout = .seconds(5)
        }
        return options
    }

    @Test("a client that leaves early gives its upstream connection back", arguments: cases)
    func leavesEarly(_ testCase: Case) async throws {
        try await GatewayHarness.with(Self.options(testCase.upstream)) { gateway in
            let token = try testCase.token.map { try gateway.token(scope: $0) }
            let left = try await EarlyExitClient.run(
                gateway, mode: testCase.mode, count: 16, path: testCase.path, token: token,
                afterMilliseconds: testCase.afterMilliseconds)
            #expect(left.count == 16)
            await gateway.expectUpstreamConnectionsReturned()
            try await expectOrdinaryRequestsServed(gateway)
        }
    }

    @Test("an HTTP/1.1 client that closes while the upstream thinks is noticed then, not when the answer comes",
          arguments: ["h1_fin", "h1_half_close"])
    func closesWhileUpstreamThinks(mode: String) async throws {
        let upstream = RecordingUpstream.Behaviour(name: "slow", delayMilliseconds: 20_000)
        try await GatewayHarness.with(Self.options(upstream)) { gateway in
            let left = try await EarlyExitClient.run(
                gateway, mode: mode, count: 4, path: "/public/slow", token: nil, afterMilliseconds: 100)
            #expect(left.count == 4)
            // The upstream would answer after 20 s; each exchange ends (499) as its client leaves.
            let records = await gateway.observer.waitForRecords(4, timeout: 10)
            #expect(records.map(\.status) == [499, 499, 499, 499])
            await gateway.expectUpstreamConnectionsReturned()
        }
    }

    @Test("an upstream that dies mid-answer: the client sees a cut answer, the connection is not reused",
          arguments: [false, true])
    func upstreamDiesMidAnswer(http2: Bool) async throws {
        var upstream = RecordingUpstream.Behaviour(name: "dies", responseBytes: 1 << 20)
        upstream.cutAfterBytes = 64 * 1024
        try await GatewayHarness.with(Self.options(upstream)) { gateway in
            for index in 0..<8 {
                // curl reports the incomplete answer as an error (18, or 92 on HTTP/2): the cut is visible.
                await #expect(throws: Curl.Failure.self) {
                    try await Curl.request(gateway, "/public/cut/\(index)", http2: http2)
                }
            }
            let records = await gateway.observer.waitForRecords(8)
            // A body cut short is NIO's invalid EOF (protocol_error) or a reset, depending on where it stops.
            #expect(records.filter { [.upstream(.reset), .upstream(.protocolError)].contains($0.reason) }.count == 8,
                    "\(records.map { $0.reason?.code ?? "-" })")
            await gateway.expectUpstreamConnectionsReturned()
            try await expectOrdinaryRequestsServed(gateway)
        }
    }

    /// Eight ordinary requests at once, on their own connections: all 200.
    private func expectOrdinaryRequestsServed(_ gateway: GatewayHarness) async throws {
        let token = try gateway.token()
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<8 {
                group.addTask {
                    try await Curl.request(gateway, "/api/data/after-\(index)", headers: [gateway.bearer(token)]).status
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(statuses == Array(repeating: 200, count: 8), "ordinary requests after the early exits")
    }
}

/// Tests/e2e/early_exit.py: clients that leave an exchange early in a given way.
enum EarlyExitClient {
    struct Result: Decodable {
        let count: Int
        let answered: Int
    }

    static func run(
        _ endpoint: GatewayEndpoint, mode: String, count: Int, path: String, token: String?, afterMilliseconds: Int
    ) async throws -> Result {
        var arguments = [
            "-u", E2EPaths.scripts + "/early_exit.py", "--port", String(endpoint.port), "--cafile", endpoint.caFile,
            "--mode", mode, "--count", String(count), "--path", path, "--after-ms", String(afterMilliseconds),
        ]
        if let token {
            let file = endpoint.directory + "/token-\(UUID().uuidString.prefix(8))"
            try token.write(toFile: file, atomically: true, encoding: .utf8)
            arguments += ["--token-file", file]
        }
        let executable = TestTools.python
        let result = try await Command.run(
            executable, arguments, directory: endpoint.directory, timeout: 60, label: "early-exit")
        guard result.status == 0 else { throw HarnessError("early_exit.py \(mode) exited \(result.status): \(result.stderrText)") }
        return try JSONDecoder().decode(Result.self, from: Data(result.stdoutText.utf8))
    }
}
