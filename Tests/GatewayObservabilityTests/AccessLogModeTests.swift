import Testing
import GatewayAdmission
@testable import GatewayObservability

/// The access log marks decision-mode answers, so that proxied requests and decisions can be told apart.
@Suite("Access log: mode")
struct AccessLogModeTests {
    static func record(_ mode: ServingMode) -> RequestRecord {
        RequestRecord(
            requestID: "r", clientAddress: "127.0.0.1", method: "POST", path: "/upload/x", route: "upload", verdict: .deny,
            reason: .gateway(.untrustedPeer), subject: nil, issuer: nil, status: 403, upstream: nil, upstreamTarget: nil,
            startedAt: 0, duration: 0.001, upstreamDuration: nil, bytesIn: 0, bytesOut: 10, protocolName: "HTTP/1.1",
            host: "api.example", userAgent: nil, mode: mode)
    }

    @Test func decisionLinesAreMarked() {
        let line = AccessLog.line(for: Self.record(.decision))
        #expect(line.contains(#""mode":"decision""#))
        #expect(line.contains(#""reason":"untrusted_peer""#))
        #expect(line.hasSuffix("}\n"))
    }

    @Test func proxiedLinesSayProxy() {
        #expect(AccessLog.line(for: Self.record(.proxy)).contains(#""mode":"proxy""#))
    }
}
