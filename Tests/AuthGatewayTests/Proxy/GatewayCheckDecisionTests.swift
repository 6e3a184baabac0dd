import Testing
import GatewayConfig
@testable import AuthGateway

/// `auth-gateway check` names what each listener does, so that an operator sees a decision listener and whom
/// it trusts before starting it.
@Suite("check: decision listeners")
struct GatewayCheckDecisionTests {
    static let tls = GatewayConfiguration.TLS(certificateChainFile: "c.pem", privateKeyFile: "k.pem")

    @Test func proxyListenersAreTheirSocket() {
        #expect(GatewayCheck.describe(.init(address: "0.0.0.0", port: 8443, tls: Self.tls)) == "0.0.0.0:8443")
    }

    @Test func decisionListenersNameTheirProtocolAndPeers() throws {
        let settings = DecisionListener(
            protocol: .nginxAuthRequest,
            trustedPeers: [try #require(PeerAddressRange("127.0.0.1")), try #require(PeerAddressRange("10.1.0.0/16"))])
        let listener = GatewayConfiguration.Listener(address: "127.0.0.1", port: 9443, tls: Self.tls, mode: .decision(settings))
        #expect(GatewayCheck.describe(listener)
            == "127.0.0.1:9443 (decision: nginx_auth_request, trusted peers 127.0.0.1/32 10.1.0.0/16)")
    }
}
