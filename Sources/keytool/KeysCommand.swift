import ArgumentParser
import Foundation
import JOSE

/// `keytool keys generate`.
struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Generate signing keys.",
        discussion: """
            Example:
              keytool keys generate --alg RS256 --out keys/
            """,
        subcommands: [Generate.self]
    )

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate a key pair (or an HMAC secret) and its public JWKS.",
            discussion: """
                Writes into DIR:
                  RS*, PS*, ES*, EdDSA: private.pem (PKCS#8, mode 0600), public.pem (SPKI), jwks.json
                  HS*:                  secret.jwk.json (mode 0600; the secret is never published)
                The kid defaults to the key's RFC 7638 thumbprint.

                Example:
                  keytool keys generate --alg RS256 --out keys/
                  keytool keys generate --alg HS256 --kid demo-hmac --out keys/
                Existing key files are never replaced without --force.
                """
        )

        @Option(name: .long, help: "Algorithm the key is for: \(JWSAlgorithm.allCases.map(\.rawValue).joined(separator: ", ")).")
        var alg: JWSAlgorithm

        @Option(name: .long, help: "Key id (default: RFC 7638 thumbprint).")
        var kid: String?

        @Option(name: .long, help: "RSA modulus size (default 2048) or HMAC secret size in bits (default: hash size).")
        var bits: Int?

        @Option(name: .long, help: "Directory to write into (created if missing).")
        var out: String

        @Flag(name: .long, help: "Replace key files that already exist in the directory.")
        var force = false

        func run() throws {
            let key: JWSKey
            do {
                key = try JWSKey.generate(algorithm: alg, bits: bits, keyID: kid)
            } catch {
                throw UsageError("cannot generate a \(alg) key: \(error.reason)")
            }
            let files = try files(for: key)
            let existing = files.map { (out as NSString).appendingPathComponent($0.0) }
                .filter { FileManager.default.fileExists(atPath: $0) }
            guard existing.isEmpty || force else {
                throw UsageError("""
                    \(existing.joined(separator: ", ")) already exist\(existing.count == 1 ? "s" : ""): replacing a key makes \
                    every token signed with it stop verifying. Pass --force to replace, or choose another --out.
                    """)
            }
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            for (name, text, isPrivate) in files {
                let path = (out as NSString).appendingPathComponent(name)
                try FileOutput.write(text, to: path, isPrivate: isPrivate)
                print("wrote \(path)\(isPrivate ? " (private, mode 0600)" : "")")
            }
            print("kid: \(key.keyID)  alg: \(key.algorithm)")
        }

        private func files(for key: JWSKey) throws -> [(String, String, Bool)] {
            if key.isSymmetric {
                return [("secret.jwk.json", JSONSerializer.serialize(try key.jwk(includePrivate: true), pretty: true) + "\n", true)]
            }
            let jwks = try JWKSet([key]).publicJWKS()
            return [
                ("private.pem", try key.privateKeyPEM(), true),
                ("public.pem", try key.publicKeyPEM(), false),
                ("jwks.json", JSONSerializer.serialize(jwks, pretty: true) + "\n", false),
            ]
        }
    }
}

/// `keytool jwks`.
struct JWKSCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jwks",
        abstract: "Print a JWKS of the public keys in PEM, certificate or JWK files.",
        discussion: """
            Private keys are reduced to their public half; HMAC secrets are refused (never published).
            PEM files need --alg, since a PEM key carries no algorithm.

            Example:
              keytool jwks --alg RS256 keys/public.pem > jwks.json
              keytool jwks --alg RS256 --kid 2026-11 server-cert.pem
            """
    )

    @Option(name: .long, help: "Algorithm for PEM keys and certificates.")
    var alg: JWSAlgorithm?

    @Option(name: .long, help: "Key id for a single PEM key (default: RFC 7638 thumbprint).")
    var kid: String?

    @Argument(help: "Public keys, certificates, private keys or JWK/JWKS files.")
    var files: [String]

    func run() throws {
        var keys: [JWSKey] = []
        for file in files {
            let loaded = try KeyOptions.parse(["--key", file] + (alg.map { ["--alg", $0.rawValue] } ?? []) + (kid.map { ["--kid", $0] } ?? [])).loadKeys()
            if let secret = loaded.first(where: \.isSymmetric) {
                throw UsageError("\(file): holds an HMAC secret (\(secret.algorithm)); secrets are never published in a JWKS")
            }
            keys += loaded
        }
        print(JSONSerializer.serialize(try JWKSet(keys).publicJWKS(), pretty: true))
    }
}
