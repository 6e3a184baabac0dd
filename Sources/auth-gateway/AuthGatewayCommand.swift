import ArgumentParser
import AuthGateway
import GatewayConfig
import GatewayPolicy
import GatewayDemo
import GatewayObservability
import Logging
import ServiceLifecycle
import Foundation

@main
struct AuthGatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "auth-gateway",
        abstract: "A TLS-terminating reverse proxy that verifies JWTs and enforces per-route policy.",
        discussion: """
            Examples:
              auth-gateway demo                              # the demo system on https://localhost:8443
              auth-gateway check --config gateway.yaml       # validate config, keys, certificates and policies
              auth-gateway serve --config gateway.yaml       # serve; SIGHUP reloads, SIGTERM drains and exits
            """,
        version: "auth-gateway " + BuildInfo.description,
        subcommands: [Serve.self, Check.self, Demo.self]
    )
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve with a configuration file.",
        discussion: """
            Validates everything first and refuses to start on any error. SIGHUP reloads configuration,
            policies, keys and certificates atomically (a broken file keeps the previous ones serving);
            SIGTERM or SIGINT stops accepting, drains in-flight requests and exits 0.

            Example:
              auth-gateway serve --config /etc/auth-gateway/gateway.yaml
            """
    )

    @Option(name: .long, help: "The gateway configuration (YAML).")
    var config: String

    func run() async throws {
        let logger = GatewayLogging.logger()
        let service = GatewayService(source: .file(config), logger: logger)
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: service)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate the configuration, keys, certificates and policies, then exit.",
        discussion: """
            Exit 0 when everything would load, 1 with every problem listed (file:line and a hint) otherwise.

            Example:
              auth-gateway check --config gateway.yaml
            """
    )

    @Option(name: .long, help: "The gateway configuration (YAML).")
    var config: String

    func run() throws {
        do {
            let report = try GatewayCheck.run(configurationFile: config)
            print(report)
        } catch {
            print("\(error)")
            throw ExitCode(1)
        }
    }
}
