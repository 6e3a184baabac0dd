import Foundation
import JOSE
import TestSupport
import Testing

/// `openssl` and scratch directories for the key tests, over the test-support ``Command``.
enum ExternalProcess {
    /// Runs `openssl` in `directory` and requires success.
    @discardableResult
    static func openssl(_ arguments: [String], in directory: URL) async throws -> CommandResult {
        let result = try await Command.run(TestTools.openssl, arguments, directory: directory.path, label: "openssl")
        try #require(result.status == 0, "openssl \(arguments.joined(separator: " ")) exited \(result.status): \(result.stderrText)")
        return result
    }

    /// A fresh directory under the system temporary directory; the caller removes it.
    static func temporaryDirectory(prefix: String = "jose-tests") throws -> URL {
        URL(fileURLWithPath: try TestTools.temporaryDirectory(prefix: prefix))
    }
}

/// Key import and export: PEM forms made by the `openssl` CLI, JWK round trips, thumbprints, weak keys,
/// keys bound to the wrong algorithm, JWKS handling and publishing.
@Suite("Keys")
struct KeyTests {
    static let asymmetric: [JWSAlgorithm] = JWSAlgorithm.allCases.filter { $0.family != .hmac }
    static let hmac: [JWSAlgorithm] = [.HS256, .HS384, .HS512]
    static let message = Array("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJrZXktdGVzdHMifQ".utf8)

    static func read(_ directory: URL, _ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: directory.appendingPathComponent(name)))
    }

    static func text(_ directory: URL, _ name: String) throws -> String {
        String(decoding: try read(directory, name), as: UTF8.self)
    }

    /// The JWK object of `key`, as a dictionary.
    static func members(_ key: JWSKey, includePrivate: Bool = false) throws -> [String: JSONValue] {
        try #require(try key.jwk(includePrivate: includePrivate).objectValue)
    }

    // MARK: PEM forms

    @Test("RSA: PKCS#8 and PKCS#1 private keys, SPKI and PKCS#1 public keys, DER and a certificate")
    func rsaForms() async throws {
        let dir = try ExternalProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try await ExternalProcess.openssl(
            ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "pkcs8.pem"], in: dir
        )
        async let pkcs1 = ExternalProcess.openssl(["rsa", "-in", "pkcs8.pem", "-traditional", "-out", "pkcs1.pem"], in: dir)
        async let spki = ExternalProcess.openssl(["pkey", "-in", "pkcs8.pem", "-pubout", "-out", "spki.pem"], in: dir)
        async let pkcs1Public = ExternalProcess.openssl(
            ["rsa", "-in", "pkcs8.pem", "-RSAPublicKey_out", "-out", "pkcs1-public.pem"], in: dir
        )
        async let der = ExternalProcess.openssl(["pkey", "-in", "pkcs8.pem", "-outform", "DER", "-out", "pkcs8.der"], in: dir)
        async let spkiDER = ExternalProcess.openssl(
            ["pkey", "-in", "pkcs8.pem", "-pubout", "-outform", "DER", "-out", "spki.der"], in: dir
        )
        async let certificate = ExternalProcess.openssl(
            ["req", "-x509", "-key", "pkcs8.pem", "-subj", "/CN=test", "-days", "1", "-out", "cert.pem"], in: dir
        )
        async let modulus = ExternalProcess.openssl(["rsa", "-in", "pkcs8.pem", "-noout", "-modulus"], in: dir)
        _ = try await (pkcs1, spki, pkcs1Public, der, spkiDER, certificate)

        // The files really are in the forms under test.
        let markers = [
            ("pkcs8.pem", "-----BEGIN PRIVATE KEY-----"), ("pkcs1.pem", "-----BEGIN RSA PRIVATE KEY-----"),
            ("spki.pem", "-----BEGIN PUBLIC KEY-----"), ("pkcs1-public.pem", "-----BEGIN RSA PUBLIC KEY-----"),
            ("cert.pem", "-----BEGIN CERTIFICATE-----"),
        ]
        for (file, marker) in markers {
            #expect(try Self.text(dir, file).hasPrefix(marker), "\(file)")
        }

        let forms: [(file: String, isPrivate: Bool)] = [
            ("pkcs8.pem", true), ("pkcs1.pem", true), ("pkcs8.der", true),
            ("spki.pem", false), ("pkcs1-public.pem", false), ("spki.der", false), ("cert.pem", false),
        ]
        let signer = try JWSKey(pem: try Self.read(dir, "pkcs8.pem"), algorithm: .RS256)
        let signature = try signer.sign(Self.message)
        let thumbprint = try signer.thumbprint()
        for form in forms {
            let bytes = try Self.read(dir, form.file)
            for algorithm in [JWSAlgorithm.RS256, .PS512] {
                let key = try JWSKey(pem: bytes, algorithm: algorithm)
                #expect(key.algorithm == algorithm)
                #expect(key.canSign == form.isPrivate, "\(form.file)")
                #expect(!key.isSymmetric)
                #expect(key.keyType == "RSA")
                #expect(try key.thumbprint() == thumbprint, "\(form.file) is the same key")
                #expect(key.keyID == thumbprint)
            }
            let key = try JWSKey(pem: bytes, algorithm: .RS256, keyID: "named")
            #expect(key.keyID == "named")
            #expect(key.verify(signature: signature, message: Self.message), "\(form.file)")
            if form.isPrivate {
                #expect(signer.verify(signature: try key.sign(Self.message), message: Self.message))
            } else {
                #expect(throws: JOSEError(.invalidKey, "")) { try key.sign(Self.message) }
            }
            // KeyFile reads every form too, given the algorithm.
            let fromFile = try KeyFile.keys(from: bytes, algorithm: .RS256, keyID: "kf")
            #expect(fromFile.count == 1)
            #expect(fromFile.first?.keyID == "kf")
        }

        // The exported modulus is OpenSSL's.
        let expectedModulus = try await modulus.stdoutText
            .trimmingCharacters(in: .whitespacesAndNewlines)
            .replacingOccurrences(of: "Modulus=", with: "")
        let n = try Base64URL.decode(try #require(try Self.members(signer)["n"]?.stringValue))
        #expect(n.map { String(format: "%02X", $0) }.joined() == expectedModulus)
        #expect(try Self.members(signer)["e"] == "AQAB")
    }

    @Test("a certificate made with `openssl req -x509 -newkey` gives its key's public half")
    func certificateFromNewKey() async throws {
        let dir = try ExternalProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try await ExternalProcess.openssl(
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=test", "-days", "1",
                "-keyout", "key.pem", "-out", "cert.pem",
            ],
            in: dir
        )
        let certificate = try JWSKey(pem: try Self.read(dir, "cert.pem"), algorithm: .RS256)
        let privateKey = try JWSKey(pem: try Self.read(dir, "key.pem"), algorithm: .RS256)
        #expect(!certificate.canSign)
        #expect(try certificate.thumbprint() == privateKey.thumbprint())
        #expect(certificate.verify(signature: try privateKey.sign(Self.message), message: Self.message))
        // A certificate's RSA key is not an EC key.
        #expect(throws: JOSEError(.invalidKey, "")) { try JWSKey(pem: try Self.read(dir, "cert.pem"), algorithm: .ES256) }
        // A truncated certificate is refused, not trapped on.
        let broken = Array(try Self.read(dir, "cert.pem").prefix(200))
        #expect(throws: JOSEError(.invalidKey, "")) { try JWSKey(pem: broken, algorithm: .RS256) }
    }

    @Test("EC P-256 and P-384: PKCS#8, SEC 1 and SPKI PEMs bind only to their own curve")
    func ecForms() async throws {
        let dir = try ExternalProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for curve in ["P-256", "P-384", "secp256k1"] {
            try await ExternalProcess.openssl(
                ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:\(curve)", "-out", "\(curve).pem"], in: dir
            )
            try await ExternalProcess.openssl(["ec", "-in", "\(curve).pem", "-out", "\(curve)-sec1.pem"], in: dir)
            try await ExternalProcess.openssl(["pkey", "-in", "\(curve).pem", "-pubout", "-out", "\(curve)-public.pem"], in: dir)
        }
        #expect(try Self.text(dir, "P-256.pem").hasPrefix("-----BEGIN PRIVATE KEY-----"))
        #expect(try Self.text(dir, "P-256-sec1.pem").hasPrefix("-----BEGIN EC PRIVATE KEY-----"))
        #expect(try Self.text(dir, "P-256-public.pem").hasPrefix("-----BEGIN PUBLIC KEY-----"))

        for (curve, algorithm, other) in [("P-256", JWSAlgorithm.ES256, JWSAlgorithm.ES384), ("P-384", .ES384, .ES256)] {
            let signer = try JWSKey(pem: try Self.read(dir, "\(curve).pem"), algorithm: algorithm)
            let signature = try signer.sign(Self.message)
            #expect(signature.count == (algorithm == .ES256 ? 64 : 96))
            for (suffix, isPrivate) in [("", true), ("-sec1", true), ("-public", false)] {
                let bytes = try Self.read(dir, "\(curve)\(suffix).pem")
                let key = try JWSKey(pem: bytes, algorithm: algorithm)
                #expect(key.canSign == isPrivate)
                #expect(try key.thumbprint() == signer.thumbprint())
                #expect(key.verify(signature: signature, message: Self.message), "\(curve)\(suffix)")
                #expect(try Self.members(key)["crv"] == .string(curve))
                // The other curve's algorithm, and the RSA, EdDSA and HMAC ones, refuse the key.
                for wrong in [other, .RS256, .PS256, .EdDSA, .HS256] {
                    #expect(throws: JOSEError(.invalidKey, ""), "\(curve)\(suffix) as \(wrong)") {
                        try JWSKey(pem: bytes, algorithm: wrong)
                    }
                }
            }
        }
        // secp256k1 is 256 bits but not P-256.
        for suffix in ["", "-public"] {
            #expect(throws: JOSEError(.invalidKey, "")) {
                try JWSKey(pem: try Self.read(dir, "secp256k1\(suffix).pem"), algorithm: .ES256)
            }
        }
    }

    @Test("Ed25519 PEMs bind to EdDSA only; Ed448 and X25519 keys are refused")
    func ed25519Forms() async throws {
        let dir = try ExternalProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for algorithm in ["ED25519", "ED448", "X25519"] {
            try await ExternalProcess.openssl(["genpkey", "-algorithm", algorithm, "-out", "\(algorithm).pem"], in: dir)
            try await ExternalProcess.openssl(["pkey", "-in", "\(algorithm).pem", "-pubout", "-out", "\(algorithm)-public.pem"], in: dir)
        }
        try await ExternalProcess.openssl(
            ["pkey", "-in", "ED25519.pem", "-pubout", "-outform", "DER", "-out", "ED25519-public.der"], in: dir
        )
        let signer = try JWSKey(pem: try Self.read(dir, "ED25519.pem"), algorithm: .EdDSA)
        let verifier = try JWSKey(pem: try Self.read(dir, "ED25519-public.pem"), algorithm: .EdDSA)
        #expect(signer.canSign)
        #expect(!verifier.canSign)
        let signature = try signer.sign(Self.message)
        #expect(signature.count == 64)
        #expect(verifier.verify(signature: signature, message: Self.message))
        // The JWK x is the raw public key: the last 32 bytes of OpenSSL's SPKI DER.
        let spki = try Self.read(dir, "ED25519-public.der")
        #expect(try Self.members(verifier)["x"] == .string(Base64URL.encode(spki.suffix(32))))
        #expect(try Self.members(verifier)["crv"] == "Ed25519")
        #expect(try Self.members(verifier)["kty"] == "OKP")

        for wrong in [JWSAlgorithm.ES256, .RS256, .HS512] {
            #expect(throws: JOSEError(.invalidKey, "")) { try JWSKey(pem: try Self.read(dir, "ED25519.pem"), algorithm: wrong) }
        }
        for other in ["ED448.pem", "ED448-public.pem", "X25519.pem", "X25519-public.pem"] {
            #expect(throws: JOSEError(.invalidKey, ""), "\(other)") {
                try JWSKey(pem: try Self.read(dir, other), algorithm: .EdDSA)
            }
        }
    }

    @Test("text that is not a key is invalid_key")
    func notAKey() throws {
        let inputs = [
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
            "-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n",
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
            "hello", "",
        ]
        for input in inputs {
            #expect(throws: JOSEError(.invalidKey, ""), "\(input.debugDescription)") {
                try JWSKey(pem: Array(input.utf8), algorithm: .RS256)
            }
        }
        #expect(throws: JOSEError(.invalidKey, "")) { try KeyFile.keys(from: Array(" \n\t".utf8), algorithm: .RS256) }
        #expect(throws: JOSEError(.invalidKey, "")) { try KeyFile.keys(from: Array("{not json".utf8), algorithm: .RS256) }
        #expect(throws: JOSEError(.invalidKey, "")) { try KeyFile.keys(from: Array(#"{"keys":{}}"#.utf8)) }
        // An OpenID discovery document where a JWKS belongs says what it is and where the keys are.
        let discovery = #"{"issuer":"https://idp.example","jwks_uri":"https://idp.example/keys","id_token_signing_alg_values_supported":["RS256"]}"#
        do {
            _ = try KeyFile.keys(from: Array(discovery.utf8))
            Issue.record("a discovery document was read as a key")
        } catch {
            #expect(error.code == .invalidKey)
            #expect(error.reason.contains("discovery document") && error.reason.contains("https://idp.example/keys"), "\(error.reason)")
        }
        // Without `jwks_uri` (a document that only names its issuer) it is still not read as a key.
        #expect(throws: JOSEError(.invalidKey, "")) { try KeyFile.keys(from: Array(#"{"issuer":"https://idp.example"}"#.utf8)) }
    }

    @Test(arguments: [
        (#"{"keys":[]}"#, KeyDocumentKind.keySet),
        (#"{"keys":[],"issuer":"https://idp","jwks_uri":"https://idp/keys"}"#, .keySet),
        (#"{"kty":"RSA","n":"AQAB","e":"AQAB"}"#, .key),
        (#"{"kty":"oct","k":"AA","issuer":"x"}"#, .key),
        (#"{"issuer":"https://idp","jwks_uri":"https://idp/keys"}"#, .openIDConfiguration(jwksURI: "https://idp/keys")),
        (#"{"issuer":"https://idp"}"#, .openIDConfiguration(jwksURI: nil)),
        (#"{"jwks_uri":["https://idp/keys"]}"#, .openIDConfiguration(jwksURI: nil)),
        ("{}", .key),
    ])
    func documentKind(_ json: String, _ kind: KeyDocumentKind) throws {
        #expect(KeyDocumentKind(try JSONParser.parse(json)) == kind)
    }

    // MARK: JWK

    @Test("JWK round trip, private and public", arguments: JWSAlgorithm.allCases)
    func jwkRoundTrip(_ algorithm: JWSAlgorithm) throws {
        let key = try JWSKey.generate(algorithm: algorithm)
        let privateMembers = try Self.members(key, includePrivate: true)
        #expect(privateMembers["kty"] == .string(key.keyType))
        #expect(privateMembers["alg"] == .string(algorithm.rawValue))
        #expect(privateMembers["use"] == "sig")
        #expect(privateMembers["kid"] == .string(key.keyID))
        #expect(key.keyID == (try key.thumbprint()))

        let expectedPrivate: Set<String>
        let expectedPublic: Set<String>
        switch algorithm.family {
        case .hmac:
            expectedPrivate = ["k"]
            expectedPublic = []
        case .rsa, .rsaPSS:
            expectedPrivate = ["n", "e", "d", "p", "q", "dp", "dq", "qi"]
            expectedPublic = ["n", "e"]
        case .ecdsa:
            expectedPrivate = ["crv", "x", "y", "d"]
            expectedPublic = ["crv", "x", "y"]
        case .eddsa:
            expectedPrivate = ["crv", "x", "d"]
            expectedPublic = ["crv", "x"]
        }
        let envelope: Set<String> = ["kty", "kid", "alg", "use"]
        #expect(Set(privateMembers.keys) == envelope.union(expectedPrivate))

        // Through text and back: the alg member binds the key, no algorithm argument needed.
        let text = JSONSerializer.serialize(try key.jwk(includePrivate: true))
        let reread = try JWSKey(jwk: try JSONParser.parse(text))
        #expect(reread.algorithm == algorithm)
        #expect(reread.keyID == key.keyID)
        #expect(reread.canSign)
        #expect(try reread.thumbprint() == key.thumbprint())
        #expect(key.verify(signature: try reread.sign(Self.message), message: Self.message))
        #expect(try reread.jwk(includePrivate: true) == key.jwk(includePrivate: true))

        if algorithm.family == .hmac {
            // A secret has no public form: exporting one without includePrivate fails.
            #expect(throws: JOSEError(.invalidKey, "")) { try key.jwk() }
            #expect(try key.publicKey().isSymmetric)
            return
        }
        let publicMembers = try Self.members(key)
        #expect(Set(publicMembers.keys) == envelope.union(expectedPublic))
        #expect(try key.publicKey().jwk() == key.jwk())
        let publicKey = try JWSKey(jwk: try JSONParser.parse(JSONSerializer.serialize(.object(publicMembers))))
        #expect(!publicKey.canSign)
        #expect(publicKey.keyID == key.keyID)
        #expect(publicKey.verify(signature: try key.sign(Self.message), message: Self.message))
        #expect(throws: JOSEError(.invalidKey, "")) { try publicKey.sign(Self.message) }
        // A public key's "private" export is its public JWK.
        #expect(try publicKey.jwk(includePrivate: true) == publicKey.jwk())
    }

    @Test("the RFC 7638 section 3.1 thumbprint example")
    func rfc7638Thumbprint() throws {
        let n =
            "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3o"
            + "knjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgd"
            + "AZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFC"
            + "ur-kEgU8awapJzKnqDKgw"
        let jwk: JSONValue = ["kty": "RSA", "n": .string(n), "e": "AQAB", "alg": "RS256", "kid": "2011-04-29"]
        let key = try JWSKey(jwk: jwk)
        #expect(try key.thumbprint() == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        #expect(key.keyID == "2011-04-29")
        // Without a kid the thumbprint is the kid; other members never change the thumbprint.
        let unnamed = try JWSKey(jwk: ["kty": "RSA", "n": .string(n), "e": "AQAB"], algorithm: .PS256)
        #expect(unnamed.keyID == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        #expect(try unnamed.withKeyID(nil).keyID == unnamed.keyID)
        #expect(try key.withKeyID("").keyID == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        #expect(try key.withKeyID("other").keyID == "other")
    }

    // MARK: Weak keys

    @Test("HMAC secrets shorter than the hash are weak_key", arguments: [JWSAlgorithm.HS256, .HS384, .HS512])
    func shortHMACSecret(_ algorithm: JWSAlgorithm) throws {
        let length = algorithm.hashLength
        let short: JSONValue = ["kty": "oct", "k": .string(Base64URL.encode([UInt8](repeating: 7, count: length - 1)))]
        #expect(throws: JOSEError(.weakKey, "")) { try JWSKey(jwk: short, algorithm: algorithm) }
        #expect(throws: JOSEError(.weakKey, "")) { try JWSKey.generate(algorithm: algorithm, bits: (length - 1) * 8) }
        // Exactly the hash length is enough; longer is fine.
        let exact: JSONValue = ["kty": "oct", "k": .string(Base64URL.encode([UInt8](repeating: 7, count: length)))]
        _ = try JWSKey(jwk: exact, algorithm: algorithm)
        _ = try JWSKey.generate(algorithm: algorithm, bits: 1024)
        // A long enough secret for HS256 is too short for HS512.
        if algorithm == .HS256 {
            #expect(throws: JOSEError(.weakKey, "")) { try JWSKey(jwk: exact, algorithm: .HS512) }
        }
    }

    @Test("an empty HMAC secret is weak_key; a missing one invalid_key")
    func emptyHMACSecret() throws {
        for algorithm in [JWSAlgorithm.HS256, .HS384, .HS512] {
            #expect(throws: JOSEError(.weakKey, "")) { try JWSKey(jwk: ["kty": "oct", "k": ""], algorithm: algorithm) }
            #expect(throws: JOSEError(.invalidKey, "")) { try JWSKey(jwk: ["kty": "oct"], algorithm: algorithm) }
            #expect(throws: JOSEError(.invalidKey, "")) { try JWSKey(jwk: ["kty": "oct", "k": 12], algorithm: algorithm) }
        }
    }

    @Test("RSA keys under 2048 bits and with e = 3 are weak_key")
    func weakRSAFromOpenSSL() async throws {
        let dir = try ExternalProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        async let small = ExternalProcess.openssl(
            ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024", "-out", "rsa1024.pem"], in: dir
        )
        async let exponent3 = ExternalProcess.openssl(
            [
                "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-pkeyopt", "rsa_keygen_pubexp:3",
                "-out", "rsa-e3.pem",
            ],
            in: dir
        )
        _ = try await (small, exponent3)
        try await ExternalProcess.openssl(["pkey", "-in", "rsa1024.pem", "-pubout", "-out", "rsa1024-public.pem"], in: dir)
        try await ExternalProcess.openssl(["pkey", "-in", "rsa-e3.pem", "-pubout", "-out", "rsa-e3-public.pem"], in: dir)
        let exponentText = try await ExternalProcess.openssl(["pkey", "-in", "rsa-e3.pem", "-noout", "-text"], in: dir)
        #expect(exponentText.stdoutText.contains("publicExponent: 3 "))

        for file in ["rsa1024.pem", "rsa1024-public.pem", "rsa-e3.pem", "rsa-e3-public.pem"] {
            for algorithm in [JWSAlgorithm.RS256, .PS256] {
                #expect(throws: JOSEError(.weakKey, ""), "\(file) \(algorithm)") {
                    try JWSKey(pem: try Self.read(dir, file), algorithm: algorithm)
                }
            }
            #expect(throws: JOSEError(.weakKey, ""), "\(file) via KeyFile") {
                try KeyFile.keys(from: try Self.read(dir, file), algorithm: .RS256)
            }
        }
        #expect(throws: JOSEError(.weakKey, "")) { try JWSKey.generate(algorithm: .RS256, bits: 1024) }
        #expect(throws: JOSEError(.weakKey, "")) { try JWSKey.generate(algorithm: .PS256, bits: 2047) }
    }

    @Test(
        "RSA JWKs with e = 1, 3 or an even exponent are weak_key",
        arguments: [[UInt8]([1]), [3], [2], [1, 0, 0], [1, 0, 2], [0xFF, 0xFF]]
    )
    func weakRSAExponent(_ exponent: [UInt8]) throws {
        let n = try #require(try JWSKey.generate(algorithm: .RS256).jwk()["n"])
        let jwk: JSONValue = ["kty": "RSA", "n": n, "e": .string(Base64URL.encode(exponent)), "alg": "RS256"]
        #expect(throws: JOSEError(.weakKey, "")) { try JWSKey(jwk: jwk) }
        // The same modulus with e = 65537 is fine.
        _ = try JWSKey(jwk: ["kty": "RSA", "n": n, "e": "AQAB", "alg": "RS256"])
    }

    // MARK: Wrong bindings

    @Test("a key of the wrong type or curve for the algorithm is invalid_key")
    func wrongTypeBinding() throws {
        let rsa = try JWSKey.generate(algorithm: .RS256)
        let p256 = try JWSKey.generate(algorithm: .ES256)
        let p384 = try JWSKey.generate(algorithm: .ES384)
        let ed25519 = try JWSKey.generate(algorithm: .EdDSA)
        let cases: [(String, String, [JWSAlgorithm])] = [
            ("RSA private", try rsa.privateKeyPEM(), [.ES256, .ES384, .EdDSA, .HS256, .HS384, .HS512]),
            ("RSA public", try rsa.publicKeyPEM(), [.ES256, .ES384, .EdDSA, .HS256]),
            ("P-256 private", try p256.privateKeyPEM(), [.ES384, .RS256, .PS256, .EdDSA, .HS256]),
            ("P-256 public", try p256.publicKeyPEM(), [.ES384, .RS256, .EdDSA]),
            ("P-384 private", try p384.privateKeyPEM(), [.ES256, .RS384, .PS384, .EdDSA, .HS384]),
            ("P-384 public", try p384.publicKeyPEM(), [.ES256, .RS256]),
            ("Ed25519 private", try ed25519.privateKeyPEM(), [.ES256, .RS256, .PS256, .HS512]),
            ("Ed25519 public", try ed25519.publicKeyPEM(), [.ES256, .RS512]),
        ]
        for (name, pem, algorithms) in cases {
            for algorithm in algorithms {
                #expect(throws: JOSEError(.invalidKey, ""), "\(name) for \(algorithm)") {
                    try JWSKey(pem: Array(pem.utf8), algorithm: algorithm)
                }
                #expect(throws: JOSEError(.invalidKey, ""), "\(name) for \(algorithm) via KeyFile") {
                    try KeyFile.keys(from: Array(pem.utf8), algorithm: algorithm)
                }
            }
        }

        // JWKs: kty, crv and coordinate sizes must fit the algorithm.
        var rsaPublic = try Self.members(rsa)
        rsaPublic["alg"] = nil
        var p384Public = try Self.members(p384)
        p384Public["alg"] = nil
        var ed25519Public = try Self.members(ed25519)
        ed25519Public["alg"] = nil
        var p256Public = try Self.members(p256)
        p256Public["alg"] = nil
        var p256WithP384Curve = p256Public
        p256WithP384Curve["crv"] = "P-384"
        var offCurve = p256Public
        offCurve["y"] = p256Public["x"]
        let secret: JSONValue = ["kty": "oct", "k": .string(Base64URL.encode([UInt8](repeating: 1, count: 64)))]
        let jwkCases: [(String, JSONValue, JWSAlgorithm)] = [
            ("RSA JWK for ES256", .object(rsaPublic), .ES256),
            ("RSA JWK for HS256", .object(rsaPublic), .HS256),
            ("RSA JWK for EdDSA", .object(rsaPublic), .EdDSA),
            ("P-384 JWK for ES256", .object(p384Public), .ES256),
            ("P-256 JWK claiming P-384 for ES384", .object(p256WithP384Curve), .ES384),
            ("P-256 JWK claiming P-384 for ES256", .object(p256WithP384Curve), .ES256),
            ("point not on the curve", .object(offCurve), .ES256),
            ("OKP JWK for ES256", .object(ed25519Public), .ES256),
            ("EC JWK for RS256", .object(p256Public), .RS256),
            ("EC JWK for EdDSA", .object(p256Public), .EdDSA),
            ("oct JWK for RS256", secret, .RS256),
            ("oct JWK for EdDSA", secret, .EdDSA),
        ]
        for (name, jwk, algorithm) in jwkCases {
            #expect(throws: JOSEError(.invalidKey, ""), "\(name)") { try JWSKey(jwk: jwk, algorithm: algorithm) }
        }
        #expect(throws: JOSEError(.invalidKey, "")) { try JWSKey(jwk: "not an object", algorithm: .RS256) }
        #expect(throws: JOSEError(.invalidKey, "")) { try JWSKey(jwk: ["kty": "RSA", "e": "AQAB"], algorithm: .RS256) }
        #expect(throws: JOSEError(.invalidKey, "")) {
            try JWSKey(jwk: ["kty": "RSA", "n": 5, "e": "AQAB"], algorithm: .RS256)
        }
    }

    @Test("a JWK for encryption, or whose key_ops exclude signing, is invalid_key")
    func jwkUse() throws {
        let key = try JWSKey.generate(algorithm: .ES256)
        var members = try Self.members(key)
        for use in ["enc", "", "SIG"] {
            members["use"] = .string(use)
            #expect(throws: JOSEError(.invalidKey, ""), "use \(use)") { try JWSKey(jwk: .object(members)) }
        }
        members["use"] = .int(1)
        #expect(throws: JOSEError(.invalidKey, "")) { try JWSKey(jwk: .object(members)) }
        members["use"] = nil
        _ = try JWSKey(jwk: .object(members))
        for ops: JSONValue in [["encrypt"], ["wrapKey", "decrypt"], [], "verify"] {
            members["key_ops"] = ops
            #expect(throws: JOSEError(.invalidKey, ""), "key_ops \(ops)") { try JWSKey(jwk: .object(members)) }
        }
        members["key_ops"] = ["verify"]
        _ = try JWSKey(jwk: .object(members))
        let secret: JSONValue = [
            "kty": "oct", "use": "enc", "alg": "HS256", "k": .string(Base64URL.encode([UInt8](repeating: 1, count: 32))),
        ]
        #expect(throws: JOSEError(.invalidKey, "")) { try JWSKey(jwk: secret) }
    }

    @Test("a JWK whose alg differs from the requested one, or is not a JWS algorithm, is alg_not_allowed")
    func jwkAlgMismatch() throws {
        let rsa = try Self.members(try JWSKey.generate(algorithm: .RS256))
        #expect(throws: JOSEError(.algNotAllowed, "")) { try JWSKey(jwk: .object(rsa), algorithm: .PS256) }
        #expect(throws: JOSEError(.algNotAllowed, "")) { try JWSKey(jwk: .object(rsa), algorithm: .RS384) }
        _ = try JWSKey(jwk: .object(rsa), algorithm: .RS256)
        for alg: JSONValue in ["none", "rs256", "RSA-OAEP", "", 256, .null] {
            var object = rsa
            object["alg"] = alg
            #expect(throws: JOSEError(.algNotAllowed, ""), "alg \(alg)") { try JWSKey(jwk: .object(object)) }
        }
        // An RSA JWK without alg needs the algorithm named: it is never guessed.
        var unnamed = rsa
        unnamed["alg"] = nil
        #expect(throws: JOSEError(.algNotAllowed, "")) { try JWSKey(jwk: .object(unnamed)) }
        let secret: JSONValue = ["kty": "oct", "k": .string(Base64URL.encode([UInt8](repeating: 1, count: 64)))]
        #expect(throws: JOSEError(.algNotAllowed, "")) { try JWSKey(jwk: secret) }
        #expect(throws: JOSEError(.algNotAllowed, "")) { try KeyFile.keys(from: Array(JSONSerializer.serialize(secret).utf8)) }
        // A JWK bound to HS256 is not an HS512 key, even with a 64-byte secret.
        var bound = try #require(secret.objectValue)
        bound["alg"] = "HS256"
        #expect(throws: JOSEError(.algNotAllowed, "")) { try JWSKey(jwk: .object(bound), algorithm: .HS512) }
        // An EC JWK implies its algorithm from crv.
        var ec = try Self.members(try JWSKey.generate(algorithm: .ES384))
        ec["alg"] = nil
        #expect(try JWSKey(jwk: .object(ec)).algorithm == .ES384)
    }

    @Test("a PEM read through KeyFile without an algorithm is alg_not_allowed")
    func pemWithoutAlgorithm() throws {
        for algorithm in [JWSAlgorithm.RS256, .ES256, .EdDSA] {
            let key = try JWSKey.generate(algorithm: algorithm)
            for pem in [try key.privateKeyPEM(), try key.publicKeyPEM(), "\n  " + (try key.publicKeyPEM())] {
                #expect(throws: JOSEError(.algNotAllowed, "")) { try KeyFile.keys(from: Array(pem.utf8)) }
            }
            let loaded = try KeyFile.keys(from: Array(try key.publicKeyPEM().utf8), algorithm: algorithm)
            #expect(loaded.map(\.keyID) == [key.keyID])
        }
    }

    // MARK: JWKS

    @Test("a JWKS with several keys: unusable keys are skipped or rejected")
    func jwksWithSeveralKeys() throws {
        let rsa = try JWSKey.generate(algorithm: .RS256, keyID: "rsa")
        let ec = try JWSKey.generate(algorithm: .ES256, keyID: "ec")
        let ed = try JWSKey.generate(algorithm: .EdDSA, keyID: "ed")
        var encryption = try Self.members(try JWSKey.generate(algorithm: .RS256, keyID: "enc"))
        encryption["use"] = "enc"
        encryption["alg"] = "RSA-OAEP-256"
        var weak = try Self.members(try JWSKey.generate(algorithm: .PS256, keyID: "weak"))
        weak["e"] = "Aw"
        let usable = [try rsa.jwk(), try ec.jwk(), try ed.jwk()]
        let unusable: [JSONValue] = [
            .object(encryption),
            ["kty": "foo", "kid": "foo"],
            .object(weak),
            ["kty": "EC", "kid": "p521", "crv": "P-521", "x": "AA", "y": "AA"],
            "not an object",
        ]
        let document = Array(JSONSerializer.serialize(["keys": .array(usable + unusable)]).utf8)

        let skipped = try KeyFile.keys(from: document, unusable: .skip)
        #expect(skipped.map(\.keyID) == ["rsa", "ec", "ed"])
        #expect(skipped.map(\.algorithm) == [.RS256, .ES256, .EdDSA])
        #expect(skipped.allSatisfy { !$0.canSign })

        // .reject names the first unusable key.
        do {
            _ = try KeyFile.keys(from: document, unusable: .reject)
            Issue.record("a JWKS with an encryption key was accepted with .reject")
        } catch {
            #expect(error.code == .algNotAllowed || error.code == .invalidKey)
            #expect(error.reason.contains("#4"), "\(error.reason)")
        }
        for bad in unusable {
            let single = Array(JSONSerializer.serialize(["keys": .array(usable + [bad])]).utf8)
            #expect(throws: JOSEError.self, "\(bad)") { try KeyFile.keys(from: single, unusable: .reject) }
            #expect(try KeyFile.keys(from: single, unusable: .skip).count == 3)
        }
        let onlyUsable = Array(JSONSerializer.serialize(["keys": .array(usable)]).utf8)
        #expect(try KeyFile.keys(from: onlyUsable, unusable: .reject).count == 3)

        // Filters by kid and algorithm.
        #expect(try KeyFile.keys(from: document, keyID: "ec", unusable: .skip).map(\.keyID) == ["ec"])
        #expect(try KeyFile.keys(from: document, algorithm: .EdDSA, unusable: .skip).map(\.keyID) == ["ed"])
        #expect(throws: JOSEError(.unknownKey, "")) { try KeyFile.keys(from: document, keyID: "nope", unusable: .skip) }
        #expect(throws: JOSEError(.algNotAllowed, "")) { try KeyFile.keys(from: document, algorithm: .PS512, unusable: .skip) }

        // The keys select by kid in a JWKSet and verify their own signatures only.
        let set = JWKSet(skipped)
        let signature = try ec.sign(Self.message)
        let candidates = try set.candidates(keyID: "ec", algorithm: .ES256)
        #expect(candidates.count == 1)
        #expect(candidates.first?.verify(signature: signature, message: Self.message) == true)
        #expect(throws: JOSEError(.algNotAllowed, "")) { try set.candidates(keyID: "ec", algorithm: .ES384) }
        #expect(throws: JOSEError(.unknownKey, "")) { try set.candidates(keyID: "enc", algorithm: .RS256) }
        #expect(try set.candidates(keyID: nil, algorithm: .RS256).map(\.keyID) == ["rsa"])
        #expect(throws: JOSEError(.algNotAllowed, "")) { try set.candidates(keyID: nil, algorithm: .HS256) }
        #expect(throws: JOSEError(.unknownKey, "")) { try JWKSet([]).candidates(keyID: nil, algorithm: .HS256) }
    }

    @Test("publicJWKS publishes public halves only and skips HMAC secrets")
    func publicJWKS() throws {
        let secret = try JWSKey.generate(algorithm: .HS256, keyID: "hmac")
        let pairs = try [JWSAlgorithm.RS256, .PS384, .ES256, .ES384, .EdDSA].map { try JWSKey.generate(algorithm: $0) }
        let set = JWKSet([secret] + pairs + [try pairs[0].publicKey().withKeyID("public-only")])
        let document = try set.publicJWKS()
        let keys = try #require(document["keys"]?.arrayValue)
        #expect(keys.count == pairs.count + 1)
        #expect(document.objectValue?.count == 1)
        for jwk in keys {
            let members = try #require(jwk.objectValue)
            for name in ["d", "p", "q", "dp", "dq", "qi", "k", "oth"] {
                #expect(members[name] == nil, "\(name) published for \(members["kid"] ?? .null)")
            }
            #expect(members["use"] == "sig")
            #expect(members["kid"]?.stringValue != nil)
            #expect(members["alg"]?.stringValue != nil)
        }
        let text = JSONSerializer.serialize(document)
        #expect(!text.contains(try #require(try secret.jwk(includePrivate: true)["k"]?.stringValue)))
        #expect(!text.contains("\"hmac\""))

        // The published set re-imports and verifies each private key's signatures.
        let published = try KeyFile.keys(from: Array(text.utf8), unusable: .reject)
        #expect(published.map(\.keyID) == pairs.map(\.keyID) + ["public-only"])
        for (key, pair) in zip(published, pairs) {
            #expect(!key.canSign)
            #expect(key.algorithm == pair.algorithm)
            #expect(key.verify(signature: try pair.sign(Self.message), message: Self.message))
        }
        // Only secrets: an empty set, not an error.
        #expect(try JWKSet([secret]).publicJWKS() == ["keys": []])
        #expect(try JWKSet([]).publicJWKS() == ["keys": []])
    }

    // MARK: PEM export

    @Test("private keys export PKCS#8 PEM (and SPKI) that re-imports", arguments: asymmetric)
    func pemExportRoundTrip(_ algorithm: JWSAlgorithm) throws {
        let key = try JWSKey.generate(algorithm: algorithm, keyID: "exported")
        let privatePEM = try key.privateKeyPEM()
        let publicPEM = try key.publicKeyPEM()
        #expect(privatePEM.hasPrefix("-----BEGIN PRIVATE KEY-----\n"))
        #expect(privatePEM.hasSuffix("-----END PRIVATE KEY-----\n"))
        #expect(publicPEM.hasPrefix("-----BEGIN PUBLIC KEY-----\n"))
        #expect(publicPEM.hasSuffix("-----END PUBLIC KEY-----\n"))

        let reimported = try JWSKey(pem: Array(privatePEM.utf8), algorithm: algorithm)
        #expect(reimported.canSign)
        #expect(try reimported.thumbprint() == key.thumbprint())
        #expect(try reimported.privateKeyPEM() == privatePEM)
        #expect(try reimported.jwk(includePrivate: true)["d"] == key.jwk(includePrivate: true)["d"])
        #expect(key.verify(signature: try reimported.sign(Self.message), message: Self.message))

        let publicKey = try JWSKey(pem: Array(publicPEM.utf8), algorithm: algorithm, keyID: "exported")
        #expect(!publicKey.canSign)
        #expect(try publicKey.jwk() == key.jwk())
        #expect(try key.publicKey().publicKeyPEM() == publicPEM)
        #expect(publicKey.verify(signature: try key.sign(Self.message), message: Self.message))
        #expect(throws: JOSEError(.invalidKey, "")) { try publicKey.privateKeyPEM() }
        #expect(throws: JOSEError(.invalidKey, "")) { try key.publicKey().privateKeyPEM() }
    }

    @Test("exported PEMs are readable by the openssl CLI", arguments: [JWSAlgorithm.RS256, .ES384, .EdDSA])
    func pemExportReadableByOpenSSL(_ algorithm: JWSAlgorithm) async throws {
        let dir = try ExternalProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let key = try JWSKey.generate(algorithm: algorithm)
        try Data(try key.privateKeyPEM().utf8).write(to: dir.appendingPathComponent("private.pem"))
        try Data(try key.publicKeyPEM().utf8).write(to: dir.appendingPathComponent("public.pem"))
        let check = try await ExternalProcess.openssl(["pkey", "-in", "private.pem", "-noout", "-text"], in: dir)
        #expect(!check.stdoutText.isEmpty)
        let derived = try await ExternalProcess.openssl(["pkey", "-in", "private.pem", "-pubout"], in: dir)
        #expect(derived.stdoutText == (try key.publicKeyPEM()))
        try await ExternalProcess.openssl(["pkey", "-pubin", "-in", "public.pem", "-noout"], in: dir)
    }

    @Test("HMAC secrets have no PEM form", arguments: [JWSAlgorithm.HS256, .HS384, .HS512])
    func hmacHasNoPEM(_ algorithm: JWSAlgorithm) throws {
        let key = try JWSKey.generate(algorithm: algorithm)
        #expect(key.isSymmetric)
        #expect(key.canSign)
        #expect(throws: JOSEError(.invalidKey, "")) { try key.privateKeyPEM() }
        #expect(throws: JOSEError(.invalidKey, "")) { try key.publicKeyPEM() }
        #expect(try key.jwk(includePrivate: true)["k"]?.stringValue.map { try Base64URL.decode($0).count } == algorithm.hashLength)
    }
}
