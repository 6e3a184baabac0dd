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
              listeners: \(configuration.listeners.map { "\($0.address):\($0.port)" }.joined(separator: ", "))
              issuers:   \(configuration.issuers.map(\.issuer).joined(separator: ", "))
              upstreams: \(configuration.upstreams.keys.sorted().joined(separator: ", "))
              routes:    \(snapshot.policy.routes.count) (public: \(publicRoutes.isEmpty ? "none" : publicRoutes.joined(separator: ", ")))
            """ + snapshot.warnings.map { "\nwarning: " + $0 }.joined()
    }
}
