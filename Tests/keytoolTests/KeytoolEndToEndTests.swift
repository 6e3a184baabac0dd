import Foundation
import JOSE
import SourceCommit
import TestSupport
import Testing

/// Runs the real `keytool` binary that `swift build` puts next to the test bundle.
enum Keytool {
    struct Output: Sendable, CustomStringConvertible {
        let arguments: [String]
        let status: Int32
        let stdout: String
        let stderr: String

        var description: String {
            "`keytool \(arguments.joined(separator: " "))` exited \(status)\nstdout: \(stdout)\nstderr: \(stderr)"
        }
    }

    struct NotFound: Error, CustomStringConvertible {
        let description: String
    }

    /// The directories the build products may be in: next to the running test executable or bundle.
    static var candidateDirectories: [URL] {
        var directories: [URL] = []
        if let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            directories.append(URL(fileURLWithPath: executable).deletingLastPathComponent())
        }
        if let first = CommandLine.arguments.first {
            directories.append(URL(fileURLWithPath: first).deletingLastPathComponent())
        }
        directories.append(Bundle.main.bundleURL)
        directories.append(Bundle.main.bundleURL.deletingLastPathComponent())
        // macOS: the .xctest bundle sits in the products directory.
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            directories.append(bundle.bundleURL.deletingLastPathComponent())
        }
        return directories
    }

    static let location: Result<URL, NotFound> = {
        for directory in candidateDirectories {
            let url = directory.appendingPathComponent("keytool")
            if FileManager.default.isExecutableFile(atPath: url.path) { return .success(url) }
        }
        return .failure(
            NotFound(
                description: "the keytool binary was not found next to the tests (looked in "
                    + candidateDirectories.map(\.path).joined(separator: ", ")
                    + "); the keytoolTests target must depend on the keytool executable target"
            )
        )
    }()

    /// Runs keytool with `arguments`, feeding `stdin`; never blocks a cooperative thread.
    static func run(_ arguments: [String], stdin: String? = nil, in directory: URL? = nil) async throws -> Output {
        let executable = try location.get()
        let scratch = URL(fileURLWithPath: try TestTools.temporaryDirectory(prefix: "keytool-run"))
        defer { try? FileManager.default.removeItem(at: scratch) }
        let result = try await Command.run(
            executable.path, arguments, stdin: Data((stdin ?? "").utf8), directory: scratch.path,
            workingDirectory: directory?.path, timeout: 60, label: "keytool")
        return Output(arguments: arguments, status: result.status, stdout: result.stdoutText, stderr: result.stderrText)
    }

    /// Runs keytool and requires exit 0; returns standard output.
    @discardableResult
    static func ok(_ arguments: [String], stdin: String? = nil) async throws -> String {
        let output = try await run(arguments, stdin: stdin)
        try #require(output.status == 0, "\(output)")
        return output.stdout
    }
}

/// End-to-end tests of `keytool`: real processes, real files, exit codes and output as the admins see them.
@Suite("keytool end to end")
struct KeytoolEndToEndTests {
    static let issuer = "https://idp.example"
    static let audience = "api"
    static let featured: [JWSAlgorithm] = [.HS256, .RS256, .ES256, .EdDSA]

    static func temporaryDirectory() throws -> URL {
        URL(fileURLWithPath: try TestTools.temporaryDirectory(prefix: "keytool-tests"))
    }

    static func mode(_ url: URL) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
        return try #require((attributes[.posixPermissions] as? NSNumber)?.intValue, "no permissions for \(url.path)")
    }

    static func read(_ url: URL) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: url))
    }

    /// A generated key directory and how to name its keys on keytool's command line.
    struct Keys {
        let directory: URL
        let algorithm: JWSAlgorithm
        let kid: String

        var isHMAC: Bool { algorithm.family == .hmac }
        var secretFile: URL { directory.appendingPathComponent("secret.jwk.json") }
        var privatePEM: URL { directory.appendingPathComponent("private.pem") }
        var publicPEM: URL { directory.appendingPathComponent("public.pem") }
        var jwks: URL { directory.appendingPathComponent("jwks.json") }

        /// `--key` arguments for signing.
        var signing: [String] {
            isHMAC ? ["--key", secretFile.path] : ["--key", privatePEM.path, "--alg", algorithm.rawValue]
        }

        /// `--key` arguments for verifying, as the gateway would be configured.
        var verifying: [String] {
            isHMAC ? ["--key", secretFile.path] : ["--key", jwks.path]
        }
    }

    /// `keys generate` into a fresh directory; returns the directory and the printed kid.
    static func generate(
        _ algorithm: JWSAlgorithm, kid: String? = nil, force: Bool = false, in parent: URL
    ) async throws -> (Keys, String) {
        let directory = parent.appendingPathComponent("keys-\(algorithm)")
        let stdout = try await Keytool.ok(
            ["keys", "generate", "--alg", algorithm.rawValue, "--out", directory.path] + (kid.map { ["--kid", $0] } ?? [])
                + (force ? ["--force"] : [])
        )
        let kidLine = try #require(stdout.split(separator: "\n").last { $0.hasPrefix("kid: ") }, "no kid line in \(stdout)")
        let printedKid = try #require(kidLine.dropFirst("kid: ".count).split(separator: " ").first.map(String.init))
        return (Keys(directory: directory, algorithm: algorithm, kid: printedKid), stdout)
    }

    static func verify(_ keys: Keys, _ token: String, _ extra: [String] = []) async throws -> Keytool.Output {
        try await Keytool.run(
            ["token", "verify"] + keys.verifying + ["--iss", issuer, "--aud", audience] + extra + [token]
        )
    }

    // MARK: keys generate

    @Test("token mint: a --ttl without a unit is a usage error; a --claim for a claim a given option sets conflicts")
    func mintUsageErrors() async throws {
        let parent = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: parent) }
        let (keys, _) = try await Self.generate(.HS256, in: parent)
        let mint = ["token", "mint", "--key", keys.secretFile.path]
        let bare = try await Keytool.run(mint + ["--ttl", "15"])
        #expect(bare.status == 2, "\(bare)")
        #expect(bare.stderr.contains("--ttl"), "\(bare)")
        let conflict = try await Keytool.run(mint + ["--sub", "alice", "--claim", "sub=mallory"])
        #expect(conflict.status == 2, "\(conflict)")
        #expect(conflict.stderr.contains("conflicts with --sub"), "\(conflict)")
        // Without the dedicated option, --claim sets the claim (and may set exp itself).
        let token = try await Keytool.ok(mint + ["--claim", "sub=mallory", "--claim", "exp=4102444800"])
        let inspected = try await Keytool.ok(["token", "inspect", token.trimmingCharacters(in: .whitespacesAndNewlines)])
        #expect(inspected.contains("mallory") && inspected.contains("4102444800"), "\(inspected)")
        let help = try await Keytool.ok(["token", "mint", "--help"])
        #expect(help.contains("(default: 15m)") && !help.contains("Duration("), "\(help)")
    }

    @Test("policy explain: claims from a verified --token, or from standard input with --claims @-; a bad token is refused")
    func explainWithToken() async throws {
        let parent = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: parent) }
        let policies = parent.appendingPathComponent("policies")
        try FileManager.default.createDirectory(at: policies, withIntermediateDirectories: true)
        try Data("""
            version: 1
            routes:
              - name: admin
                match: { methods: [GET], path: /admin/** }
                upstream: svc
                require:
                  roles: { any: [admin] }
            """.utf8).write(to: policies.appendingPathComponent("admin.yaml"))
        let (keys, _) = try await Self.generate(.HS256, in: parent)
        let token = try await Keytool.ok(
            ["token", "mint", "--key", keys.secretFile.path, "--sub", "alice", "--role", "viewer"]
        ).trimmingCharacters(in: .whitespacesAndNewlines)
        let explain = ["policy", "explain", policies.path, "--method", "GET", "--path", "/admin/users"]
        let viaToken = try await Keytool.run(explain + ["--token", token, "--key", keys.secretFile.path])
        #expect(viaToken.status == 0, "\(viaToken)")
        #expect(viaToken.stdout.contains("roles any [admin]") && viaToken.stdout.contains("403"), "\(viaToken)")
        let viaStdin = try await Keytool.run(explain + ["--claims", "@-"], stdin: #"{"sub":"alice","roles":["admin"]}"#)
        #expect(viaStdin.status == 0, "\(viaStdin)")
        #expect(viaStdin.stdout.contains("allow"), "\(viaStdin)")
        let forged = try await Keytool.run(explain + ["--token", String(token.dropLast(2)) + "AA", "--key", keys.secretFile.path])
        #expect(forged.status == 1, "\(forged)")
        #expect(forged.stdout.contains("token refused: bad_signature"), "\(forged)")
        let both = try await Keytool.run(explain + ["--token", token, "--key", keys.secretFile.path, "--claims", "{}"])
        #expect(both.status == 2, "\(both)")
    }

    @Test("certs dev: a CA and a server certificate for the given names that openssl verifies; a rerun keeps the CA")
    func developmentCertificates() async throws {
        let parent = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: parent) }
        let out = parent.appendingPathComponent("tls").path
        let printed = try await Keytool.ok(["certs", "dev", "--out", out, "--host", "gateway.internal", "--ip", "127.0.0.1"])
        #expect(printed.contains(out + "/ca.pem") && printed.contains(out + "/server.key"), "\(printed)")
        #expect(try Self.mode(URL(fileURLWithPath: out + "/server.key")) == 0o600)
        let verified = try await Command.run(
            TestTools.openssl, ["verify", "-CAfile", out + "/ca.pem", "-verify_hostname", "gateway.internal", out + "/server.pem"],
            directory: parent.path)
        #expect(verified.status == 0, "\(verified)")
        let ca = try Self.read(URL(fileURLWithPath: out + "/ca.pem"))
        _ = try await Keytool.ok(["certs", "dev", "--out", out, "--host", "other.internal"])
        #expect(try Self.read(URL(fileURLWithPath: out + "/ca.pem")) == ca, "a rerun replaced the CA clients trust")
        let reissued = try await Command.run(
            TestTools.openssl, ["verify", "-CAfile", out + "/ca.pem", "-verify_hostname", "other.internal", out + "/server.pem"],
            directory: parent.path)
        #expect(reissued.status == 0, "\(reissued)")
    }

    @Test("keys generate never replaces existing key files without --force (exit 2, files untouched)")
    func generateRefusesToOverwrite() async throws {
        let parent = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: parent) }
        let (keys, _) = try await Self.generate(.RS256, in: parent)
        let before = try Self.read(keys.privatePEM)
        let again = try await Keytool.run(["keys", "generate", "--alg", "RS256", "--out", keys.directory.path])
        #expect(again.status == 2, "\(again)")
        #expect(again.stderr.contains("already exist") && again.stderr.contains("--force"), "\(again)")
        #expect(try Self.read(keys.privatePEM) == before, "the private key was replaced without --force")
        _ = try await Keytool.ok(["keys", "generate", "--alg", "RS256", "--out", keys.directory.path, "--force"])
        #expect(try Self.read(keys.privatePEM) != before)
    }

    @Test("keys generate writes the files, private ones mode 0600, kid = thumbprint", arguments: featured)
    func generate(_ algorithm: JWSAlgorithm) async throws {
        let parent = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: parent) }
        let (keys, stdout) = try await Self.generate(algorithm, in: parent.appendingPathComponent("nested/dir"))
        let expected: [(String, Bool)] =
            keys.isHMAC
            ? [("secret.jwk.json", true)]
            : [("private.pem", true), ("public.pem", false), ("jwks.json", false)]
        let written = try FileManager.default.contentsOfDirectory(atPath: keys.directory.path).sorted()
        #expect(written == expected.map(\.0).sorted())
        for (name, isPrivate) in expected {
            let url = keys.directory.appendingPathComponent(name)
            #expect(try Self.mode(url) == (isPrivate ? 0o600 : 0o644), "\(name) mode")
            let line = "wrote \(url.path)" + (isPrivate ? " (private, mode 0600)" : "")
            #expect(stdout.split(separator: "\n").contains { $0 == line }, "missing line \(line) in \(stdout)")
        }
        #expect(stdout.hasSuffix("kid: \(keys.kid)  alg: \(algorithm)\n"), "\(stdout)")

        // The kid is the key's RFC 7638 thumbprint, everywhere it appears.
        let signing = try #require(
            try KeyFile.keys(from: Self.read(keys.isHMAC ? keys.secretFile : keys.privatePEM), algorithm: algorithm).first
        )
        #expect(signing.canSign)
        #expect(try signing.thumbprint() == keys.kid)
        if keys.isHMAC {
            let jwk = try JSONParser.parse(try Self.read(keys.secretFile))
            #expect(jwk["kid"] == .string(keys.kid))
            #expect(jwk["alg"] == .string(algorithm.rawValue))
            #expect(try Base64URL.decode(try #require(jwk["k"]?.stringValue)).count == algorithm.hashLength)
        } else {
            let jwks = try JSONParser.parse(try Self.read(keys.jwks))
            let published = try #require(jwks["keys"]?.arrayValue)
            #expect(published.count == 1)
            #expect(published.first?["kid"] == .string(keys.kid))
            #expect(published.first?["d"] == nil)
            let publicKey = try #require(try KeyFile.keys(from: Self.read(keys.publicPEM), algorithm: algorithm).first)
            #expect(!publicKey.canSign)
            #expect(publicKey.keyID == keys.kid)
            let message = Array("signed by the generated key".utf8)
            #expect(publicKey.verify(signature: try signing.sign(message), message: message))
            #expect(try String(contentsOf: keys.privatePEM, encoding: .utf8).hasPrefix("-----BEGIN PRIVATE KEY-----"))
            #expect(try String(contentsOf: keys.publicPEM, encoding: .utf8).hasPrefix("-----BEGIN PUBLIC KEY-----"))
        }
    }

    @Test("keys generate honours --kid, and with --force tightens the mode of a file it replaces", arguments: [JWSAlgorithm.HS256, .ES256])
    func generateWithKid(_ algorithm: JWSAlgorithm) async throws {
        let parent = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: parent) }
        // A world-readable file where the private key will go.
        let directory = parent.appendingPathComponent("keys-\(algorithm)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let privateName = algorithm.family == .hmac ? "secret.jwk.json" : "private.pem"
        let existing = directory.appendingPathComponent(privateName)
        try Data("old".utf8).write(to: existing)
        try FileManager.default.setAttributes([.posixPermissions: 0o666], ofItemAtPath: existing.path)

        let (keys, stdout) = try await Self.generate(algorithm, kid: "2026-11-demo", force: true, in: parent)
        #expect(keys.kid == "2026-11-demo")
        #expect(stdout.contains("kid: 2026-11-demo  alg: \(algorithm)"))
        #expect(try Self.mode(existing) == 0o600)
        let loaded = try KeyFile.keys(
            from: Self.read(keys.isHMAC ? keys.secretFile : keys.jwks), algorithm: algorithm
        )
        #expect(loaded.map(\.keyID) == ["2026-11-demo"])
        #expect(try loaded.first?.thumbprint() != "2026-11-demo")
    }

    @Test("keys generate refuses what it cannot make")
    func generateRefuses() async throws {
        let parent = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: parent) }
        let weak = try await Keytool.run(["keys", "generate", "--alg", "RS256", "--bits", "1024", "--out", parent.path])
        #expect(weak.status == 2, "\(weak)")
        #expect(weak.stderr.contains("2048"), "\(weak)")
        let unknown = try await Keytool.run(["keys", "generate", "--alg", "none", "--out", parent.path])
        #expect(unknown.status == 2, "\(unknown)")
        let noOut = try await Keytool.run(["keys", "generate", "--alg", "RS256"])
        #expect(noOut.status == 2, "\(noOut)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: parent.path).isEmpty)
    }

    @Test("--version names the version, the commit, the Swift compiler and the OpenSSL")
    func version() async throws {
        let output = try await Keytool.run(["--version"])
        #expect(output.status == 0)
        #expect(output.stdout.hasPrefix("keytool 0."), "\(output)")
        #expect(output.stdout.contains(" (commit \(SourceCommit.id), Swift "), "\(output)")
        #expect(output.stdout.contains("OpenSSL 3."), "\(output)")
    }

    // MARK: jwks

    @Test("jwks from a public PEM, a private PEM and a certificate; an HMAC secret is refused")
    func jwks() async throws {
        let parent = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: parent) }
        let (keys, _) = try await Self.generate(.RS256, in: parent)
        let certificate = parent.appendingPathComponent("cert.pem")
        let openssl = try await Command.run(
            TestTools.openssl,
            ["req", "-x509", "-key", keys.privatePEM.path, "-subj", "/CN=test", "-days", "1", "-out", certificate.path],
            directory: parent.path)
        try #require(openssl.status == 0, "openssl req -x509 failed: \(openssl)")

        let expected = try JSONParser.parse(try Self.read(keys.jwks))
        for file in [keys.publicPEM, keys.privatePEM, certificate] {
            let stdout = try await Keytool.ok(["jwks", "--alg", "RS256", file.path])
            let document = try JSONParser.parse(stdout)
            #expect(document == expected, "jwks from \(file.lastPathComponent)")
            #expect(!stdout.contains("\"d\""))
        }
        let named = try JSONParser.parse(try await Keytool.ok(["jwks", "--alg", "RS256", "--kid", "2026-11", certificate.path]))
        #expect(named["keys"]?.arrayValue?.first?["kid"] == "2026-11")
        #expect(named["keys"]?.arrayValue?.first?["n"] == expected["keys"]?.arrayValue?.first?["n"])

        // Several files make one set.
        let (second, _) = try await Self.generate(.RS256, in: parent.appendingPathComponent("second"))
        let both = try JSONParser.parse(try await Keytool.ok(["jwks", "--alg", "RS256", keys.publicPEM.path, second.publicPEM.path]))
        #expect(both["keys"]?.arrayValue?.compactMap { $0["kid"]?.stringValue } == [keys.kid, second.kid])

        // An HMAC secret is never published, and the refusal does not echo it.
        let (hmac, _) = try await Self.generate(.HS256, in: parent)
        let secret = try #require(try JSONParser.parse(try Self.read(hmac.secretFile))["k"]?.stringValue)
        let refused = try await Keytool.run(["jwks", hmac.secretFile.path])
        #expect(refused.status == 2, "\(refused)")
        #expect(refused.stderr.contains("HMAC secret"), "\(refused)")
        #expect(!refused.stdout.contains(secret) && !refused.stderr.contains(secret))
        #expect(!refused.stdout.contains("\"keys\""))

        // A PEM needs --alg.
        let noAlg = try await Keytool.run(["jwks", keys.publicPEM.path])
        #expect(noAlg.status == 2, "\(noAlg)")
        #expect(noAlg.stderr.contains("--alg"), "\(noAlg)")
        let missing = try await Keytool.run(["jwks", "--alg", "RS256", parent.appendingPathComponent("absent.pem").path])
        #expect(missing.status == 2, "\(missing)")
        #expect(missing.stderr.contains("absent.pem"), "\(missing)")
    }

    // MARK: mint, verify, inspect

    @Test("generate, mint, verify, inspect", arguments: featured)
    func mintVerifyInspect(_ algorithm: JWSAlgorithm) async throws {
        let parent = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: parent) }
        let (keys, _) = try await Self.generate(algorithm, in: parent)
        let before = Int64(Date().timeIntervalSince1970)
        let minted = try await Keytool.ok(
            ["token", "mint"] + keys.signing + [
                "--iss", Self.issuer, "--aud", Self.audience, "--sub", "alice", "--scope", "read:data write:data",
                "--role", "analyst", "--role", "admin", "--claim", "department=finance", "--claim", "level=3",
                "--claim", #"flags={"beta":true}"#, "--ttl", "15m",
            ]
        )
        let token = minted.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(minted == token + "\n")
        #expect(token.split(separator: ".", omittingEmptySubsequences: false).count == 3)

        let verified = try await Self.verify(keys, token)
        #expect(verified.status == 0, "\(verified)")
        let claims = try #require(try JSONParser.parse(verified.stdout).objectValue)
        #expect(claims["iss"] == .string(Self.issuer))
        #expect(claims["aud"] == .string(Self.audience))
        #expect(claims["sub"] == "alice")
        #expect(claims["scope"] == "read:data write:data")
        #expect(claims["roles"] == ["analyst", "admin"])
        #expect(claims["department"] == "finance")
        #expect(claims["level"] == 3)
        #expect(claims["flags"] == ["beta": true])
        let iat = try #require(claims["iat"]?.numberValue)
        let exp = try #require(claims["exp"]?.numberValue)
        #expect(exp - iat == 900)
        #expect(iat >= Double(before - 1) && iat <= Double(before + 120))
        #expect(Set(claims.keys) == ["iss", "aud", "sub", "scope", "roles", "department", "level", "flags", "iat", "exp"])

        // The public PEM verifies too (PEM needs --alg).
        if !keys.isHMAC {
            let viaPEM = try await Keytool.run(
                ["token", "verify", "--key", keys.publicPEM.path, "--alg", algorithm.rawValue, token]
            )
            #expect(viaPEM.status == 0, "\(viaPEM)")
        }

        let inspected = try await Keytool.run(["token", "inspect", token])
        #expect(inspected.status == 0, "\(inspected)")
        let text = inspected.stdout
        #expect(text.contains("NOT VERIFIED"))
        #expect(text.contains("header:"))
        #expect(text.contains("\"alg\": \"\(algorithm)\""), "\(text)")
        #expect(text.contains("\"kid\": \"\(keys.kid)\""), "\(text)")
        #expect(text.contains("\"typ\": \"JWT\""))
        #expect(text.contains("payload:"))
        #expect(text.contains("\"sub\": \"alice\""))
        #expect(text.contains("\"department\": \"finance\""))
        #expect(text.contains("signature: "))
        #expect(text.contains("iat: ") && text.contains("exp: ") && text.contains(" UTC"), "\(text)")
        #expect(text.contains("expires in 15m") || text.contains("expires in 14m"), "\(text)")
        #expect(!text.contains("problem:"), "\(text)")
    }

    @Test("verify: exit 1 and 'invalid: <code>: ...' for bad tokens, exit 2 for usage errors")
    func verifyFailures() async throws {
        let parent = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: parent) }
        let (keys, _) = try await Self.generate(.RS256, in: parent)
        let token = try await Keytool.ok(
            ["token", "mint"] + keys.signing + ["--iss", Self.issuer, "--aud", Self.audience, "--sub", "alice"]
        ).trimmingCharacters(in: .whitespacesAndNewlines)
        let parts = token.split(separator: ".").map(String.init)
        let forgedPayload = Base64URL.encode(Array(#"{"sub":"admin","exp":99999999999}"#.utf8))

        let invalid: [(String, String)] = [
            ("\(parts[0]).\(forgedPayload).\(parts[2])", "bad_signature"),
            ("not-a-token", "malformed_token"),
            ("\(parts[0]).\(parts[1])", "malformed_token"),
            ("\(parts[0]).\(parts[1]).\(parts[2]).\(parts[2])", "malformed_token"),
        ]
        for (candidate, code) in invalid {
            let output = try await Self.verify(keys, candidate)
            #expect(output.status == 1, "\(output)")
            #expect(output.stdout.hasPrefix("invalid: \(code): "), "\(output)")
            #expect(output.stdout.split(separator: "\n").count == 1, "one line: \(output)")
            #expect(!output.stdout.contains(candidate), "the token is not echoed")
        }
        let wrongAudience = try await Keytool.run(
            ["token", "verify"] + keys.verifying + ["--aud", "other", token]
        )
        #expect(wrongAudience.status == 1)
        #expect(wrongAudience.stdout.hasPrefix("invalid: bad_audience: "), "\(wrongAudience)")

        // Usage errors: exit 2 and a message on stderr.
        let absent = parent.appendingPathComponent("absent.json").path
        let missingKey = try await Keytool.run(["token", "verify", "--key", absent, token])
        #expect(missingKey.status == 2, "\(missingKey)")
        #expect(missingKey.stderr.contains(absent), "\(missingKey)")
        #expect(missingKey.stdout.isEmpty)
        let missingToken = try await Keytool.run(["token", "verify"] + keys.verifying)
        #expect(missingToken.status == 2, "\(missingToken)")
        #expect(!missingToken.stderr.isEmpty)
        let missingKeyOption = try await Keytool.run(["token", "verify", token])
        #expect(missingKeyOption.status == 2, "\(missingKeyOption)")
        let pemWithoutAlg = try await Keytool.run(["token", "verify", "--key", keys.publicPEM.path, token])
        #expect(pemWithoutAlg.status == 2, "\(pemWithoutAlg)")
        let emptyStdin = try await Keytool.run(["token", "verify"] + keys.verifying + ["-"], stdin: "  \n")
        #expect(emptyStdin.status == 2, "\(emptyStdin)")
        let mintWithoutKey = try await Keytool.run(["token", "mint", "--sub", "alice"])
        #expect(mintWithoutKey.status == 2, "\(mintWithoutKey)")
        let mintWithPublicKey = try await Keytool.run(["token", "mint", "--key", keys.jwks.path, "--sub", "alice"])
        #expect(mintWithPublicKey.status == 2, "\(mintWithPublicKey)")
        #expect(mintWithPublicKey.stdout.isEmpty)
    }

    @Test("verify --now judges the token at that time")
    func verifyAtTime() async throws {
        let parent = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: parent) }
        let (keys, _) = try await Self.generate(.HS256, in: parent)
        let issued = 1_000_000_000
        let token = try await Keytool.ok(
            ["token", "mint"] + keys.signing + [
                "--iss", Self.issuer, "--aud", Self.audience, "--sub", "alice", "--iat", "\(issued)", "--ttl", "1h",
            ]
        ).trimmingCharacters(in: .whitespacesAndNewlines)

        // Long expired by the real clock.
        let today = try await Self.verify(keys, token)
        #expect(today.stdout.hasPrefix("invalid: token_expired: "), "\(today)")

        let cases: [([String], Int32, String?)] = [
            (["--now", "\(issued + 100)"], 0, nil),
            (["--now", "\(issued + 3600 + 59)"], 0, nil),
            (["--now", "\(issued + 3600 + 60)"], 1, "token_expired"),
            (["--now", "\(issued + 3600)", "--leeway", "0s"], 1, "token_expired"),
            (["--now", "\(issued + 3599)", "--leeway", "0s"], 0, nil),
            (["--now", "\(issued - 3600)"], 1, "iat_in_future"),
            (["--now", "\(issued + 100)", "--max-lifetime", "30m"], 1, "lifetime_too_long"),
        ]
        for (extra, status, code) in cases {
            let output = try await Self.verify(keys, token, extra)
            #expect(output.status == status, "\(extra): \(output)")
            if let code {
                #expect(output.stdout.hasPrefix("invalid: \(code): "), "\(extra): \(output)")
            } else {
                let claims = try JSONParser.parse(output.stdout)
                #expect(claims["iat"] == .int(Int64(issued)))
                #expect(claims["exp"] == .int(Int64(issued + 3600)))
            }
        }
    }

    @Test("a token can come on stdin with -")
    func tokenOnStdin() async throws {
        let parent = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: parent) }
        let (keys, _) = try await Self.generate(.ES256, in: parent)
        let minted = try await Keytool.ok(
            ["token", "mint"] + keys.signing + ["--iss", Self.issuer, "--aud", Self.audience, "--sub", "carol"]
        )
        // mint | verify -: the trailing newline from mint is fine.
        let verified = try await Keytool.run(
            ["token", "verify"] + keys.verifying + ["--iss", Self.issuer, "--aud", Self.audience, "-"], stdin: minted
        )
        #expect(verified.status == 0, "\(verified)")
        #expect(try JSONParser.parse(verified.stdout)["sub"] == "carol")
        let inspected = try await Keytool.run(["token", "inspect", "-"], stdin: "\n" + minted + "\n\n")
        #expect(inspected.status == 0, "\(inspected)")
        #expect(inspected.stdout.contains("NOT VERIFIED"))
        #expect(inspected.stdout.contains("\"sub\": \"carol\""))
        // A bad token on stdin is still exit 1.
        let bad = try await Keytool.run(["token", "verify"] + keys.verifying + ["-"], stdin: minted.replacingOccurrences(of: ".", with: ".x"))
        #expect(bad.status == 1, "\(bad)")
        #expect(bad.stdout.hasPrefix("invalid: "), "\(bad)")
    }

    @Test("inspect shows broken tokens, marks problems, and exits 1 when nothing decodes")
    func inspectBroken() async throws {
        let header = Base64URL.encode(Array(#"{"alg":"none","typ":"JWT"}"#.utf8))
        let payload = Base64URL.encode(Array(#"{"sub":"mallory","exp":1}"#.utf8))
        let unsigned = try await Keytool.run(["token", "inspect", "\(header).\(payload)."])
        #expect(unsigned.stdout.contains("NOT VERIFIED"))
        #expect(unsigned.stdout.contains("\"alg\": \"none\""))
        #expect(unsigned.stdout.contains("\"sub\": \"mallory\""))
        #expect(unsigned.stdout.contains("problem: "), "\(unsigned)")
        #expect(unsigned.stdout.contains("expired"), "\(unsigned)")
        let garbage = try await Keytool.run(["token", "inspect", "a.b"])
        #expect(garbage.status == 1, "\(garbage)")
        #expect(garbage.stdout.contains("NOT VERIFIED"))
    }

    // MARK: forge

    /// Every forge kind and the code `token verify --iss --aud` must give.
    static let forgeKinds: [(kind: String, code: String)] = [
        ("none-alg", "alg_not_allowed"),
        ("hs-with-public-key", "alg_not_allowed"),
        ("expired", "token_expired"),
        ("not-yet-valid", "token_not_yet_valid"),
        ("wrong-aud", "bad_audience"),
        ("wrong-iss", "bad_issuer"),
        ("stripped-signature", "malformed_token"),
        ("tampered-payload", "bad_signature"),
        ("embedded-jwk", "embedded_key"),
        ("unknown-crit", "unknown_crit"),
    ]

    @Test("every forge kind is refused by verify with its specific code", arguments: forgeKinds.map(\.kind), [JWSAlgorithm.RS256, .ES256])
    func forge(_ kind: String, _ algorithm: JWSAlgorithm) async throws {
        let code = try #require(Self.forgeKinds.first { $0.kind == kind }?.code)
        let parent = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: parent) }
        let (keys, _) = try await Self.generate(algorithm, in: parent)
        // hs-with-public-key needs only the public key, as an attacker has it.
        let keyArguments = kind == "hs-with-public-key" ? ["--key", keys.publicPEM.path, "--alg", algorithm.rawValue] : keys.signing
        let forged = try await Keytool.ok(
            ["token", "forge", "--kind", kind] + keyArguments + ["--iss", Self.issuer, "--aud", Self.audience, "--sub", "alice"]
        ).trimmingCharacters(in: .whitespacesAndNewlines)
        let output = try await Self.verify(keys, forged)
        #expect(output.status == 1, "\(kind): \(output)")
        #expect(output.stdout.hasPrefix("invalid: \(code): "), "\(kind) should be \(code): \(output.stdout)")
        // Against the public PEM too: the answer does not depend on how the key is configured.
        let viaPEM = try await Keytool.run(
            ["token", "verify", "--key", keys.publicPEM.path, "--alg", algorithm.rawValue, "--iss", Self.issuer,
             "--aud", Self.audience, forged]
        )
        #expect(viaPEM.stdout.hasPrefix("invalid: \(code): "), "\(kind) via PEM: \(viaPEM.stdout)")
    }

    @Test("forge with an HMAC key: the kinds that apply are refused too")
    func forgeWithHMAC() async throws {
        let parent = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: parent) }
        let (keys, _) = try await Self.generate(.HS256, in: parent)
        for (kind, code) in Self.forgeKinds where kind != "hs-with-public-key" {
            let forged = try await Keytool.ok(
                ["token", "forge", "--kind", kind] + keys.signing + ["--iss", Self.issuer, "--aud", Self.audience]
            ).trimmingCharacters(in: .whitespacesAndNewlines)
            let output = try await Self.verify(keys, forged)
            #expect(output.status == 1, "\(kind): \(output)")
            #expect(output.stdout.hasPrefix("invalid: \(code): "), "\(kind) should be \(code): \(output.stdout)")
        }
        // Algorithm confusion needs a public key: an HMAC secret is a usage error.
        let confusion = try await Keytool.run(["token", "forge", "--kind", "hs-with-public-key"] + keys.signing)
        #expect(confusion.status == 2, "\(confusion)")
        let unknownKind = try await Keytool.run(["token", "forge", "--kind", "everything"] + keys.signing)
        #expect(unknownKind.status == 2, "\(unknownKind)")
    }

    // MARK: help

    /// The subcommand paths listed under SUBCOMMANDS in `help`'s output.
    static func subcommands(of path: [String]) async throws -> [[String]] {
        let help = try await Keytool.ok(path + ["--help"])
        var found: [[String]] = []
        var inSection = false
        for line in help.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("SUBCOMMANDS:") {
                inSection = true
                continue
            }
            guard inSection else { continue }
            if line.isEmpty || !line.hasPrefix("  ") { break }
            // "  name   abstract"; continuation lines are indented further.
            guard !line.hasPrefix("   "), let name = line.split(separator: " ").first else { continue }
            found.append(path + [String(name)])
        }
        return found
    }

    @Test("every subcommand's --help contains an Example")
    func helpHasExamples() async throws {
        var pending: [[String]] = try await Self.subcommands(of: [])
        var all: [[String]] = []
        while let path = pending.popLast() {
            all.append(path)
            pending += try await Self.subcommands(of: path)
        }
        let names = Set(all.map { $0.joined(separator: " ") })
        let known = ["keys", "keys generate", "jwks", "token", "token mint", "token inspect", "token verify", "token forge"]
        #expect(names.isSuperset(of: known), "found \(names.sorted())")
        for path in all.sorted(by: { $0.joined(separator: " ") < $1.joined(separator: " ") }) {
            let help = try await Keytool.run(path + ["--help"])
            #expect(help.status == 0, "\(help)")
            #expect(help.stdout.contains("Example"), "`keytool \(path.joined(separator: " ")) --help` has no Example")
        }
        let forgeHelp = try await Keytool.ok(["token", "forge", "--help"])
        for (kind, code) in Self.forgeKinds {
            #expect(forgeHelp.contains(kind) && forgeHelp.contains(code), "forge help documents \(kind) → \(code)")
        }
        let root = try await Keytool.run(["--help"])
        #expect(root.status == 0)
        #expect(root.stdout.contains("keytool keys generate"))
    }
}
