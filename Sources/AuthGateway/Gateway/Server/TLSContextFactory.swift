import NIOSSL
import GatewayPolicy
import GatewayConfig

/// Builds the listener's TLS context: TLS 1.2+ (configurable to 1.3), ECDHE with AEAD ciphers only on
/// TLS 1.2, ALPN `h2` and `http/1.1`. BoringSSL never renegotiates as a server.
enum TLSContextFactory {
    /// ECDHE key exchange, AEAD ciphers: forward secrecy and no CBC padding oracles.
    static let tls12CipherSuites = [
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    ].joined(separator: ":")

    /// A listener's TLS context; a problem names the file at the line `locations` has for it.
    static func makeContext(
        _ tls: GatewayConfiguration.TLS, http2: Bool, locations: [String: SourceLocation] = [:]
    ) throws -> NIOSSLContext {
        func at(_ path: String) -> String { GatewayConfiguration.located(path, in: locations) }
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do {
            chain = try NIOSSLCertificate.fromPEMFile(tls.certificateChainFile)
        } catch {
            throw GatewayConfigurationError(problems: ["\(at(tls.certificateChainFile)): not a readable PEM certificate chain (\(error))"])
        }
        do {
            key = try NIOSSLPrivateKey(file: tls.privateKeyFile, format: .pem)
        } catch {
            throw GatewayConfigurationError(problems: ["\(at(tls.privateKeyFile)): not a readable PEM private key (\(error))"])
        }
        guard !chain.isEmpty else {
            throw GatewayConfigurationError(problems: ["\(at(tls.certificateChainFile)): holds no certificate"])
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key)
        )
        configuration.minimumTLSVersion = tls.minimumVersion == .tls13 ? .tlsv13 : .tlsv12
        configuration.cipherSuites = tls12CipherSuites
        configuration.applicationProtocols = http2 ? ["h2", "http/1.1"] : ["http/1.1"]
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw GatewayConfigurationError(problems: [
                "\(at(tls.privateKeyFile)): this private key does not match the certificate in \(tls.certificateChainFile), "
                    + "or the two do not form a usable pair (\(error))",
            ])
        }
    }
}
