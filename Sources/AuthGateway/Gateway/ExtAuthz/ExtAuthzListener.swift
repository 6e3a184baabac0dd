import GRPCCore
import GRPCNIOTransportHTTP2
import NIOCore
import NIOPosix
import GatewayConfig

/// A running gRPC decision listener, as ``GatewayServer`` holds it.
protocol DecisionGRPCListener: Sendable {
    /// The bound port (the system's choice for port 0).
    var port: Int { get }
    /// Stops accepting; calls in flight finish.
    func shutdown() async
}

/// The gRPC server of a listener with `protocol: envoy_ext_authz_grpc`: grpc-swift's HTTP/2 transport with the
/// listener's certificate and key, serving ``ExtAuthzService``. Its connections are grpc-swift's (on its own
/// event loops); each call is decided on one of the gateway's loops.
@available(macOS 15.0, iOS 18.0, watchOS 11.0, tvOS 18.0, visionOS 2.0, *)
final class ExtAuthzListener: DecisionGRPCListener {
    private let server: GRPCServer<HTTP2ServerTransport.Posix>
    private let serving: Task<Void, Error>
    let port: Int

    private init(server: GRPCServer<HTTP2ServerTransport.Posix>, serving: Task<Void, Error>, port: Int) {
        self.server = server
        self.serving = serving
        self.port = port
    }

    /// Binds and starts serving; throws when the address cannot be bound.
    static func start(
        _ listener: GatewayConfiguration.Listener, settings: DecisionListener, loops: [NIOLoopBound<LoopContext>]
    ) async throws -> ExtAuthzListener {
        let address: GRPCNIOTransportCore.SocketAddress = listener.address.contains(":")
            ? .ipv6(host: listener.address, port: listener.port) : .ipv4(host: listener.address, port: listener.port)
        let transport = HTTP2ServerTransport.Posix(
            address: address,
            transportSecurity: .tls(
                certificateChain: [.file(path: listener.tls.certificateChainFile, format: .pem)],
                privateKey: .file(path: listener.tls.privateKeyFile, format: .pem)))
        let server = GRPCServer(transport: transport, services: [ExtAuthzService(loops: loops, settings: settings)])
        let serving = Task { try await server.serve() }
        do {
            let bound = try await transport.listeningAddress
            return ExtAuthzListener(server: server, serving: serving, port: bound.ipv4?.port ?? bound.ipv6?.port ?? 0)
        } catch {
            server.beginGracefulShutdown()
            _ = try? await serving.value
            throw error
        }
    }

    func shutdown() async {
        server.beginGracefulShutdown()
        _ = try? await serving.value
    }
}
