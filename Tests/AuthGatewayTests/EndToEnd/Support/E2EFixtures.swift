import Foundation
import TestSupport
import JOSE

#if canImport(Glibc)
import Glibc
#endif

/// Where a client connects, and what it trusts.
protocol GatewayEndpoint: Sendable {
    var port: Int { get }
    /// The CA that signed the gateway's certificate (for `--cacert`).
    var caFile: String { get }
    /// A scratch directory for client files.
    var directory: String { get }
}

/// Built once per test process: a CA and a server certificate for localhost/127.0.0.1 made with the
/// openssl CLI, and the signing keys. Immutable, shared by every harness.
struct E2EFixtures: Sendable {
    static let issuer = "https://idp.e2e.test"
    static let audience = "gateway-e2e"

    let directory: String
    let caFile: String
    let certificateFile: String
    let privateKeyFile: String
    /// The issuer's RS256 key (kid `rsa-1`); its public JWKS is in `jwksFile`.
    let rsaKey: JWSKey
    /// Same kid, different key: tokens it signs have a bad signature.
    let foreignRSAKey: JWSKey
    /// The issuer's HS256 key (kid `hs-1`), as a JWK in `hmacFile`.
    let hmacKey: JWSKey
    let jwksFile: String
    let hmacFile: String

    static let shared: E2EFixtures = {
        do {
            return try E2EFixtures()
        } catch {
            fatalError("end-to-end fixtures: \(error)")
        }
    }()

    private init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("auth-gateway-e2e-\(getpid())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        atexit {
            try? FileManager.default.removeItem(
                atPath: FileManager.default.temporaryDirectory.appendingPathComponent("auth-gateway-e2e-\(getpid())").path)
        }
        caFile = directory + "/ca.pem"
        certificateFile = directory + "/server.pem"
        privateKeyFile = directory + "/server.key"
        try Self.makePKI(in: directory)

        rsaKey = try JWSKey.generate(algorithm: .RS256, keyID: "rsa-1")
        foreignRSAKey = try JWSKey.generate(algorithm: .RS256, keyID: "rsa-1")
        hmacKey = try JWSKey.generate(algorithm: .HS256, keyID: "hs-1")
        jwksFile = directory + "/jwks.json"
        hmacFile = directory + "/hs256.jwk.json"
        try JSONSerializer.serialize(try JWKSet([rsaKey]).publicJWKS())
            .write(toFile: jwksFile, atomically: true, encoding: .utf8)
        try JSONSerializer.serialize(try hmacKey.jwk(includePrivate: true))
            .write(toFile: hmacFile, atomically: true, encoding: .utf8)
    }

    /// CA (EC P-256) → server certificate with SAN localhost and 127.0.0.1, via the openssl CLI.
    private static func makePKI(in directory: String) throws {
        try """
            subjectAltName=DNS:localhost,IP:127.0.0.1
            basicConstraints=critical,CA:FALSE
            keyUsage=critical,digitalSignature
            extendedKeyUsage=serverAuth
            """.write(toFile: directory + "/server.ext", atomically: true, encoding: .utf8)
        let steps: [[String]] = [
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                "-subj", "/CN=auth-gateway e2e CA", "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-keyout", "ca.key", "-out", "ca.pem",
            ],
            [
                "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=localhost",
                "-keyout", "server.key", "-out", "server.csr",
            ],
            [
                "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-days", "2", "-extfile", "server.ext", "-out", "server.pem",
            ],
        ]
        for step in steps {
            let result = try Command.runBlocking(E2EPaths.openssl, step, directory: directory)
            guard result.status == 0 else {
                throw HarnessError("openssl \(step.joined(separator: " ")) failed: \(result.stderrText)")
            }
        }
    }
}
