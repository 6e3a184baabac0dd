import Foundation
import JOSE
import TestSupport
import Testing

/// Interoperability with an independent implementation, PyJWT, in both directions and for every algorithm,
/// through `Tests/interop/pyjwt_interop.py`.
///
/// PyJWT is only used on tokens that must be *valid*: it accepts some tokens this library must reject, so it
/// is never the oracle for a rejection. Missing Python or PyJWT fails the suite; it never skips.
@Suite("PyJWT interop")
struct PyJWTInteropTests {
    static let repositoryRoot = URL(fileURLWithPath: TestTools.repositoryRoot)
    static let script = repositoryRoot.appendingPathComponent("Tests/interop/pyjwt_interop.py")
    static let issuer = "https://idp.example"
    static let audience = "api"

    struct SetupError: Error, CustomStringConvertible {
        let description: String
    }

    /// Runs the helper with the tests' Python (``TestTools/python``, the virtual environment `scripts/setup`
    /// makes); Python or PyJWT missing is a failure with the fix in the message.
    static func python(_ arguments: [String], stdin: String? = nil) async throws -> CommandResult {
        guard FileManager.default.fileExists(atPath: script.path) else {
            throw SetupError(description: "the interop helper is missing at \(script.path)")
        }
        let scratch = try TestTools.temporaryDirectory(prefix: "pyjwt-run")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let output = try await Command.run(
            TestTools.python, [script.path] + arguments, stdin: stdin.map { Data($0.utf8) }, directory: scratch,
            label: "pyjwt-interop")
        guard output.status != 3 else {
            throw SetupError(
                description: "PyJWT or cryptography is not installed for \(TestTools.python): run scripts/setup\n"
                    + output.stdoutText + output.stderrText)
        }
        return output
    }

    /// Runs the helper and requires exit 0.
    static func pythonOK(_ arguments: [String], stdin: String? = nil) async throws -> String {
        let output = try await python(arguments, stdin: stdin)
        try #require(output.status == 0, "pyjwt_interop.py \(arguments.first ?? "") exited \(output.status): \(output.stdoutText) \(output.stderrText)")
        return output.stdoutText
    }

    /// Claims that exercise the JSON on both sides: nesting, arrays, numbers, escapes and non-ASCII text.
    static func claims(now: Int64) -> [String: JSONValue] {
        [
            "iss": .string(issuer), "aud": .string(audience), "sub": "alice",
            "iat": .int(now), "nbf": .int(now - 5), "exp": .int(now + 600), "jti": "0f8c4d7e-interop",
            "scope": "read:data write:data", "roles": ["analyst", "admin"],
            "nested": ["level": 3, "flags": [true, false, nil], "ratio": 0.5],
            "big": .int(9_007_199_254_740_993), "negative": -42,
            "text": "Frodo’s ring 🔑 — “quoted” \"escaped\" back\\slash\ttab\nnewline \u{1}",
            "https://example.com/roles": ["namespaced"],
        ]
    }

    static func now() -> Int64 { Int64(Date().timeIntervalSince1970) }

    static func verifier(_ keys: [JWSKey]) -> JWTVerifier {
        JWTVerifier(keys: JWKSet(keys), validation: ClaimsValidation(issuers: [issuer], audiences: [audience]))
    }

    static func read(_ url: URL) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: url))
    }

    static func write(_ text: String, to url: URL) throws {
        try Data(text.utf8).write(to: url)
    }

    @Test("python3 with PyJWT and cryptography is available")
    func pyJWTIsInstalled() async throws {
        let version = try JSONParser.parse(try await Self.pythonOK(["version"]))
        #expect(version["pyjwt"]?.stringValue != nil, "pip install pyjwt cryptography")
        #expect(version["cryptography"]?.stringValue != nil, "pip install pyjwt cryptography")
    }

    // MARK: PyJWT mints, we verify

    @Test("PyJWT's keys and tokens verify here", arguments: JWSAlgorithm.allCases)
    func pyJWTMintsWeVerify(_ algorithm: JWSAlgorithm) async throws {
        let dir = try ExternalProcess.temporaryDirectory(prefix: "pyjwt-\(algorithm)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let summary = try JSONParser.parse(try await Self.pythonOK(["keygen", algorithm.rawValue, dir.path]))
        let kid = try #require(summary["kid"]?.stringValue)
        let isHMAC = algorithm.family == .hmac
        let signingFile = dir.appendingPathComponent(isHMAC ? "key.jwk.json" : "private.pem").path

        let now = Self.now()
        let claims = Self.claims(now: now)
        let claimsText = JSONSerializer.serialize(.object(claims))
        async let withKid = Self.pythonOK(["mint", algorithm.rawValue, signingFile, "-", "--kid=\(kid)"], stdin: claimsText)
        async let withoutKid = Self.pythonOK(["mint", algorithm.rawValue, signingFile, "-", "--no-typ"], stdin: claimsText)
        let tokenWithKid = try await withKid.trimmingCharacters(in: .whitespacesAndNewlines)
        let tokenWithoutKid = try await withoutKid.trimmingCharacters(in: .whitespacesAndNewlines)

        // The key files PyJWT wrote, read the ways an operator would configure them.
        var keySets: [(String, [JWSKey])] = [
            ("jwks.json", try KeyFile.keys(from: try Self.read(dir.appendingPathComponent("jwks.json")))),
        ]
        if isHMAC {
            keySets.append(("key.jwk.json", try KeyFile.keys(from: try Self.read(dir.appendingPathComponent("key.jwk.json")), algorithm: algorithm)))
        } else {
            keySets += [
                ("public.pem", try KeyFile.keys(from: try Self.read(dir.appendingPathComponent("public.pem")), algorithm: algorithm)),
                ("public.jwk.json", try KeyFile.keys(from: try Self.read(dir.appendingPathComponent("public.jwk.json")))),
                ("private.pem", try KeyFile.keys(from: try Self.read(dir.appendingPathComponent("private.pem")), algorithm: algorithm)),
                ("private.jwk.json", try KeyFile.keys(from: try Self.read(dir.appendingPathComponent("private.jwk.json")))),
            ]
        }
        for (file, keys) in keySets {
            let key = try #require(keys.first, "\(file)")
            #expect(keys.count == 1)
            #expect(key.algorithm == algorithm, "\(file)")
            // RFC 7638 thumbprints agree between the two implementations: PyJWT's kid is our keyID.
            #expect(key.keyID == kid, "\(file)")
            #expect(try key.thumbprint() == kid, "\(file)")

            let verifier = Self.verifier(keys)
            let verified = try verifier.verify(tokenWithKid, now: Double(now))
            #expect(verified.claims.fields == claims, "\(file)")
            #expect(verified.header.keyID == kid)
            #expect(verified.header.type == "JWT")
            #expect(verified.header.algorithm == algorithm)
            let unnamed = try verifier.verify(tokenWithoutKid, now: Double(now))
            #expect(unnamed.claims.fields == claims, "\(file), no kid")
            #expect(unnamed.header.keyID == nil)
            #expect(unnamed.header.type == nil)
        }

        // Our own tampering of PyJWT's token is caught.
        let parts = tokenWithKid.split(separator: ".").map(String.init)
        var elevated = claims
        elevated["roles"] = ["admin", "root"]
        let tampered = "\(parts[0]).\(Base64URL.encode(JSONSerializer.bytes(.object(elevated)))).\(parts[2])"
        #expect(throws: JOSEError(.badSignature, "")) {
            try Self.verifier(keySets[0].1).verify(tampered, now: Double(now))
        }
    }

    // MARK: We mint, PyJWT verifies

    @Test("our keys and tokens verify in PyJWT", arguments: JWSAlgorithm.allCases)
    func weMintPyJWTVerifies(_ algorithm: JWSAlgorithm) async throws {
        let dir = try ExternalProcess.temporaryDirectory(prefix: "ours-\(algorithm)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let key = try JWSKey.generate(algorithm: algorithm)
        let isHMAC = algorithm.family == .hmac
        let jwksURL = dir.appendingPathComponent("jwks.json")
        let plainURL = dir.appendingPathComponent(isHMAC ? "secret.jwk.json" : "public.pem")
        let signingURL = dir.appendingPathComponent(isHMAC ? "secret.jwk.json" : "private.pem")
        if isHMAC {
            try Self.write(JSONSerializer.serialize(try key.jwk(includePrivate: true), pretty: true), to: plainURL)
            try Self.write(JSONSerializer.serialize(["keys": [try key.jwk(includePrivate: true)]]), to: jwksURL)
        } else {
            try Self.write(try key.publicKeyPEM(), to: plainURL)
            try Self.write(try key.privateKeyPEM(), to: signingURL)
            try Self.write(JSONSerializer.serialize(try JWKSet([key]).publicJWKS()), to: jwksURL)
        }

        let now = Self.now()
        let claims = Self.claims(now: now)
        let tokenWithKid = try JWTSigner.sign(claims: claims, key: key)
        let tokenWithoutKid = try JWTSigner.signRaw(
            header: JSONSerializer.bytes(["alg": .string(algorithm.rawValue)]),
            payload: JSONSerializer.bytes(.object(claims)),
            key: key
        )
        let signature = tokenWithKid.split(separator: ".").last.map(String.init) ?? ""
        let flipped = String(tokenWithKid.dropLast(signature.count)) + (signature.first == "A" ? "B" : "A") + signature.dropFirst()
        let checks = ["--aud", Self.audience, "--iss", Self.issuer]
        async let complete = Self.pythonOK(
            ["verify", algorithm.rawValue, jwksURL.path, tokenWithKid, "--complete"] + checks
        )
        async let plain = Self.pythonOK(["verify", algorithm.rawValue, plainURL.path, "-"] + checks, stdin: tokenWithoutKid)
        // PyJWT signs with our private key file (PKCS#8 PEM, or our oct JWK), and we verify.
        async let minted = Self.pythonOK(
            ["mint", algorithm.rawValue, signingURL.path, "-", "--kid=\(key.keyID)"],
            stdin: JSONSerializer.serialize(.object(claims))
        )
        // The oracle is sensitive: a changed signature is refused by PyJWT too (exit 1, not a crash).
        async let sanity = Self.python(["verify", algorithm.rawValue, jwksURL.path, flipped] + checks)

        let completeResult = try JSONParser.parse(try await complete)
        #expect(completeResult["claims"] == .object(claims))
        #expect(completeResult["header"] == ["alg": .string(algorithm.rawValue), "kid": .string(key.keyID), "typ": "JWT"])
        #expect(try JSONParser.parse(try await plain) == .object(claims))

        let pyToken = try await minted.trimmingCharacters(in: .whitespacesAndNewlines)
        let verified = try Self.verifier([try key.publicKey()]).verify(pyToken, now: Double(now))
        #expect(verified.claims.fields == claims)
        #expect(verified.keyID == key.keyID)

        let refused = try await sanity
        #expect(refused.status == 1, "\(refused)")
        #expect(refused.stdoutText.hasPrefix("invalid: "), "\(refused)")
    }
}
