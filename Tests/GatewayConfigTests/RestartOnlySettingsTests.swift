import Testing
import GatewayConfig

/// The settings a reload cannot apply are named, and only those: a reload that changes one says so.
@Suite("Restart-only settings")
struct RestartOnlySettingsTests {
    static let tls = GatewayConfiguration.TLS(certificateChainFile: "/etc/gw/cert.pem", privateKeyFile: "/etc/gw/key.pem")

    static func configuration() -> GatewayConfiguration {
        GatewayConfiguration(
            listeners: [.init(address: "0.0.0.0", port: 8443, tls: tls)], admin: .init(), issuers: [], upstreams: [:],
            policyDirectory: "/etc/gw/policies")
    }

    @Test("an identical configuration, or one that changes only what a reload applies, names nothing")
    func nothing() {
        let running = Self.configuration()
        var loaded = running
        loaded.policyDirectory = "/srv/policies"
        loaded.upstreams["svc"] = .init(targets: [.init(host: "127.0.0.1", port: 9000)])
        loaded.limits.maxBodyBytes = 1
        loaded.limits.drainTimeout = .seconds(5)
        loaded.listeners[0].tls = .init(certificateChainFile: "/new/cert.pem", privateKeyFile: "/new/key.pem")
        #expect(RestartOnlySettings.changed(from: running, to: running).isEmpty)
        #expect(RestartOnlySettings.changed(from: running, to: loaded).isEmpty)
    }

    @Test("listener sockets, the admin listener, connection limits and logging are named by their keys")
    func named() {
        let running = Self.configuration()
        var loaded = running
        loaded.listeners[0].port = 9443
        loaded.listeners[0].http2 = false
        loaded.admin = .init(address: "0.0.0.0", port: 9901)
        loaded.limits.maxHeaderBytes = 1024
        loaded.limits.http2RateWindow = .seconds(1)
        loaded.logging.level = "debug"
        loaded.logging.accessLog = "/var/log/gw.log"
        #expect(RestartOnlySettings.changed(from: running, to: loaded) == [
            "listeners[0].port", "listeners[0].http2", "limits.max_header_bytes", "limits.http2_rate_window",
            "admin.address", "logging.level", "logging.access_log",
        ])
    }

    @Test("a listener added or removed, and the admin listener turned off, are named")
    func addedAndRemoved() {
        let running = Self.configuration()
        var loaded = running
        loaded.listeners.append(.init(port: 9443, tls: Self.tls))
        loaded.admin = nil
        #expect(RestartOnlySettings.changed(from: running, to: loaded) == ["listeners (1 → 2)", "admin"])
    }
}
