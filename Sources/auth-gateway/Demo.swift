import ArgumentParser
import AuthGateway
import GatewayConfig
import GatewayDemo
import GatewayObservability
import Foundation
import NIOPosix
import ServiceLifecycle

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the demo: two internal services behind the gateway on https://localhost:8443.",
        discussion: """
            Creates a development CA, a server certificate and RS256/HS256 keys in the state directory on
            the first run (and reuses them later), starts service A (/api/data) and service B (/api/info),
            loads policies/, and prints curl lines that show a 200, a 401 and a 403.

            Example:
              swift run auth-gateway demo
              auth-gateway demo --port 9443 --state-dir /tmp/demo
            """
    )

    @Option(name: .long, help: "Where certificates and keys are kept.")
    var stateDir = ".auth-gateway-demo"

    @Option(name: .long, help: "The policy directory.")
    var policies = "policies"

    @Option(name: .long, help: "The gateway's HTTPS port.")
    var port = 8443

    func run() async throws {
        let logger = GatewayLogging.logger()
        let environment = try DemoEnvironment.prepare(stateDirectory: stateDir, policyDirectory: policies, port: port)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let serviceA = try await DemoService.start(name: "A", port: environment.servicePorts.a, group: group)
        let serviceB = try await DemoService.start(name: "B", port: environment.servicePorts.b, group: group)
        print(environment.instructions(keytool: keytoolCommand()))
        fflush(nil)
        let gateway = GatewayService(source: .value(environment.configuration), logger: logger)
        let services = ServiceGroup(configuration: .init(
            services: [.init(service: gateway)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await services.run()
        try await serviceA.stop()
        try await serviceB.stop()
        try await group.shutdownGracefully()
    }

    /// The keytool next to this executable when there is one, else `swift run keytool`.
    private func keytoolCommand() -> String {
        let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
        let sibling = directory + "/keytool"
        return FileManager.default.isExecutableFile(atPath: sibling) ? sibling : "swift run keytool"
    }
}
