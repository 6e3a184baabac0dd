import ArgumentParser
import GatewayTooling

/// `keytool certs dev`.
struct CertsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certs",
        abstract: "TLS certificates for development.",
        discussion: """
            Example:
              keytool certs dev --out tls/
            """,
        subcommands: [Development.self]
    )

    struct Development: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "dev",
            abstract: "A development CA and a server certificate it issued: the pair the demo uses.",
            discussion: """
                Writes into DIR ca.pem and ca.key (a P-256 CA, valid ten years, allowed to issue server \\
                certificates only) and server.pem and server.key (for the names given). Keys are PKCS#8 PEM, \\
                mode 0600. Running it again reuses the CA (clients that trust it keep working) and reissues the \\
                server certificate only when the names change or it nears expiry. For development and tests: \\
                production certificates come from your CA.

                Then, in gateway.yaml:
                  tls: { certificate_chain: DIR/server.pem, private_key: DIR/server.key }
                and for clients: curl --cacert DIR/ca.pem https://localhost:8443/...

                Example:
                  keytool certs dev --out tls/ --host localhost --host gateway.internal --ip 127.0.0.1
                """
        )

        @Option(name: .long, help: "Directory to write into (created if missing).")
        var out: String

        @Option(name: .long, help: "A DNS name the server certificate is for; repeat for several. (default: localhost)")
        var host: [String] = []

        @Option(name: .long, help: "An IP address the server certificate is for; repeat for several. (default: 127.0.0.1 and ::1)")
        var ip: [String] = []

        func run() throws {
            let files: DevelopmentPKI.Files
            do {
                files = try DevelopmentPKI.ensure(
                    in: out, hostnames: host.isEmpty ? ["localhost"] : host,
                    ipAddresses: ip.isEmpty ? ["127.0.0.1", "::1"] : ip)
            } catch {
                throw UsageError("\(error)")
            }
            print("CA certificate (give it to clients):  \(files.caCertificate)")
            print("server certificate (certificate_chain): \(files.serverCertificateChain)")
            print("server key (private_key, mode 0600):    \(files.serverPrivateKey)")
        }
    }
}
