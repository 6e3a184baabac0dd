import Foundation
import GatewayAdmission
import GatewayPolicy
import Testing

@testable import GatewayObservability

/// What one access-log line says, as the security team reads it: who was refused and why, which upstream
/// failed where, and never more of the request than the gateway routed on.
@Suite("Access log: the audit fields")
struct AccessLogLineTests {
    static let fields = [
        "time", "request_id", "client", "protocol", "method", "host", "path", "route", "decision", "reason", "denied_by",
        "subject", "issuer", "status", "upstream", "upstream_target", "duration_ms", "upstream_ms", "bytes_in",
        "bytes_out", "user_agent", "mode",
    ]

    /// The line as a JSON object, checked to be exactly one line with exactly the documented fields.
    static func parse(_ record: RequestRecord) throws -> [String: Any] {
        let line = AccessLog.line(for: record)
        #expect(line.hasSuffix("\n") && line.dropLast().firstIndex(of: "\n") == nil, "\(line)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(Set(object.keys) == Set(fields), "\(object.keys.sorted())")
        return object
    }

    @Test("a 403 names the subject, the issuer and the clause that denied it")
    func denial() throws {
        let record = RequestRecord(
            requestID: "4bf92f3577b34da6a3ce929d0e0e4736", clientAddress: "192.0.2.7", method: "GET", path: "/admin/users",
            route: "admin", verdict: .deny, reason: .denied(.missingRole), subject: "alice", issuer: "https://idp.example",
            status: 403, upstream: nil, upstreamTarget: nil, startedAt: 1_767_225_600.25, duration: 0.0012,
            upstreamDuration: nil, bytesIn: 0, bytesOut: 120, protocolName: "HTTP/2", host: "api.example",
            userAgent: "curl/8.5.0", deniedBy: "roles any [admin]")
        let line = try Self.parse(record)
        #expect(line["subject"] as? String == "alice")
        #expect(line["issuer"] as? String == "https://idp.example")
        #expect(line["reason"] as? String == "missing_role")
        #expect(line["denied_by"] as? String == "roles any [admin]")
        #expect(line["decision"] as? String == "deny" && line["status"] as? Int == 403)
        #expect(line["host"] as? String == "api.example" && line["user_agent"] as? String == "curl/8.5.0")
        #expect(line["upstream"] is NSNull && line["upstream_target"] is NSNull && line["upstream_ms"] is NSNull)
        #expect(line["time"] as? String == "2026-01-01T00:00:00.250Z")
    }

    @Test("a 502 names the upstream, the target it tried and the time it took")
    func upstreamFailure() throws {
        let record = RequestRecord(
            requestID: "r", clientAddress: "192.0.2.7", method: "GET", path: "/api/data/42", route: "data",
            verdict: .error, reason: .upstream(.connectFailed), subject: "alice", issuer: "https://idp.example",
            status: 502, upstream: "service-a", upstreamTarget: "http://10.0.0.5:8080", startedAt: 0, duration: 0.0315,
            upstreamDuration: 0.03, bytesIn: 0, bytesOut: 90, protocolName: "HTTP/1.1", host: "api.example",
            userAgent: nil)
        let line = try Self.parse(record)
        #expect(line["upstream"] as? String == "service-a")
        #expect(line["upstream_target"] as? String == "http://10.0.0.5:8080")
        #expect(line["reason"] as? String == "connect_failed")
        #expect((line["upstream_ms"] as? Double).map { abs($0 - 30) < 0.001 } == true, "\(String(describing: line["upstream_ms"]))")
        #expect(line["user_agent"] is NSNull)
    }

    @Test("a client's User-Agent is kept to 256 characters and cannot break the line")
    func userAgentIsBounded() throws {
        let hostile = "evil\n{\"subject\":\"root\"}\u{0}" + String(repeating: "a", count: 1000)
        let record = RequestRecord(
            requestID: "r", clientAddress: "192.0.2.7", method: "GET", path: "/", route: nil, verdict: .deny,
            reason: .denied(.noRoute), subject: nil, issuer: nil, status: 404, upstream: nil, upstreamTarget: nil,
            startedAt: 0, duration: 0.001, upstreamDuration: nil, bytesIn: 0, bytesOut: 0, protocolName: "HTTP/1.1",
            host: "api.example", userAgent: hostile)
        let line = try Self.parse(record)
        #expect((line["user_agent"] as? String).map { $0.count == 256 && $0.hasPrefix("evil\n{") } == true)
        #expect(line["subject"] is NSNull)
    }
}
