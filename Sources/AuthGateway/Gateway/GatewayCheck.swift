import GatewayConfig
/// `auth-gateway check`: everything `serve` would load, without binding a socket.
package enum GatewayCheck {
    /// A summary when everything loads; throws the collected problems otherwise.
    package static func run(configurationFile: String) throws -> String {
        let configuration = try GatewayConfigurationLoader.load(file: configurationFile)
        let snapshot = try GatewaySnapshot.load(configuration: configuration, keyGeneration: 1)
        for listener in configuration.listeners {
            _ = try TLSContextFactory.makeContext(listener.tls, http2: listener.http2, locations: configuration.pathLocations)
        }
        let publicRoutes = snapshot.policy.routes.filter(\.isPublic).map(\.name)
        return """
            ok: \(configurationFile)
              listeners: \(configuration.listeners.map(describe).joined(separator: ", "))
              issuers:   \(configuration.issuers.map(\.issuer).joined(separator: ", "))
              upstreams: \(configuration.upstreams.keys.sorted().joined(separator: ", "))
              routes:    \(snapshot.policy.routes.count) (public: \(publicRoutes.isEmpty ? "none" : publicRoutes.joined(separator: ", ")))
            """ + snapshot.warnings.map { "\nwarning: " + $0 }.joined()
    }

    /// `address:port`, and for a decision listener its protocol and trusted peers.
    static func describe(_ listener: GatewayConfiguration.Listener) -> String {
        let socket = "\(listener.address):\(listener.port)"
        guard let decision = listener.mode.decision else { return socket }
        let peers = decision.trustedPeers.map(\.description).joined(separator: " ")
        return socket + " (decision: \(decision.decisionProtocol.rawValue), trusted peers \(peers))"
    }
}
