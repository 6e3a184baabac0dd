import GatewayTooling
import Foundation
import JOSE
import GatewayConfig

/// The seed tutorial's system, made secure: development certificates, an RS256 and an HS256 key, two
/// internal services and `policies/`, all under one state directory created on first run.
package struct DemoEnvironment: Sendable {
    package static let issuer = "https://demo.auth-gateway.local"
    package static let audience = "demo-api"

    package let stateDirectory: String
    package let policyDirectory: String
    package let port: Int
    package let servicePorts: (a: Int, b: Int)
    package let certificates: DevelopmentPKI.Files

    package var rsaPrivateKey: String { stateDirectory + "/keys/rs256/private.pem" }
    package var rsaJWKS: String { stateDirectory + "/keys/rs256/jwks.json" }
    package var hmacSecret: String { stateDirectory + "/keys/hs256/secret.jwk.json" }

    /// Creates what is missing under `stateDirectory` (certificates, keys) and reuses the rest.
    package static func prepare(
        stateDirectory: String, policyDirectory: String, port: Int = 8443, servicePorts: (a: Int, b: Int) = (8081, 8082)
    ) throws -> DemoEnvironment {
        let state = URL(fileURLWithPath: stateDirectory).standardizedFileURL.path
        let certificates = try DevelopmentPKI.ensure(in: state + "/certs")
        let environment = DemoEnvironment(
            stateDirectory: state, policyDirectory: URL(fileURLWithPath: policyDirectory).standardizedFileURL.path,
            port: port, servicePorts: servicePorts, certificates: certificates)
        try environment.ensureKeys()
        return environment
    }

    private func ensureKeys() throws {
        let manager = FileManager.default
        if !manager.fileExists(atPath: rsaPrivateKey) || !manager.fileExists(atPath: rsaJWKS) {
            let key = try JWSKey.generate(algorithm: .RS256, keyID: "demo-rs256")
            try write(try key.privateKeyPEM(), to: rsaPrivateKey, mode: 0o600)
            try write(JSONSerializer.serialize(try JWKSet([key]).publicJWKS(), pretty: true) + "\n", to: rsaJWKS, mode: 0o644)
        }
        if !manager.fileExists(atPath: hmacSecret) {
            let key = try JWSKey.generate(algorithm: .HS256, keyID: "demo-hs256")
            try write(JSONSerializer.serialize(try key.jwk(includePrivate: true), pretty: true) + "\n", to: hmacSecret, mode: 0o600)
        }
    }

    private func write(_ text: String, to path: String, mode: Int) throws {
        let manager = FileManager.default
        try manager.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        guard manager.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: mode]) else {
            throw GatewayConfigurationError(problems: ["\(path): cannot write the demo key"])
        }
    }

    /// The gateway configuration of the demo.
    package var configuration: GatewayConfiguration {
        GatewayConfiguration(
            listeners: [.init(address: "127.0.0.1", port: port, tls: .init(
                certificateChainFile: certificates.serverCertificateChain, privateKeyFile: certificates.serverPrivateKey))],
            issuers: [.init(
                issuer: Self.issuer, audiences: [Self.audience],
                keys: [.init(file: rsaJWKS), .init(file: hmacSecret)], maxLifetime: .seconds(86_400))],
            upstreams: [
                "service-a": .init(targets: [.init(host: "127.0.0.1", port: servicePorts.a)]),
                "service-b": .init(targets: [.init(host: "127.0.0.1", port: servicePorts.b)]),
            ],
            policyDirectory: policyDirectory)
    }

    /// Ready-to-paste commands that show a 200, a 401 and a 403. `keytool` is how to run keytool here.
    package func instructions(keytool: String) -> String {
        let base = "https://localhost:\(port)"
        let cacert = "--cacert \(certificates.caCertificate)"
        let mint = "\(keytool) token mint --iss \(Self.issuer) --aud \(Self.audience) --sub alice"
        return """
            auth-gateway demo: serving \(base) (service A on 127.0.0.1:\(servicePorts.a), service B on 127.0.0.1:\(servicePorts.b))
            state: \(stateDirectory)   policies: \(policyDirectory)

            In another terminal, from the same directory:

              # a token for alice with the data and info scopes (RS256; an HS256 key works too:
              #   --key \(hmacSecret))
              TOKEN=$(\(mint) --key \(rsaPrivateKey) --alg RS256 --kid demo-rs256 --scope "read:data read:info" --ttl 15m)

              curl -sS \(cacert) -H "Authorization: Bearer $TOKEN" \(base)/api/data       # 200 Response from Service A
              curl -sS \(cacert) -H "Authorization: Bearer $TOKEN" \(base)/api/info       # 200 Response from Service B
              curl -sS \(cacert) -i \(base)/api/data                                      # 401 no token
              curl -sS \(cacert) -i -H "Authorization: Bearer $TOKEN" \(base)/admin/users # 403 alice is not admin

              # the identity headers are the gateway's, whatever the client sends:
              curl -sS \(cacert) -H "Authorization: Bearer $TOKEN" -H "X-User-Id: admin" \(base)/api/data

            Ctrl-C stops the demo (in-flight requests finish first).
            """
    }
}
