import ArgumentParser
import JOSE

struct TokenForge: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forge",
        abstract: "Make deliberately broken tokens for negative tests.",
        discussion: """
            Each kind is a token the gateway must reject, and the reason code it must give:
              none-alg            alg "none" and no signature                    alg_not_allowed
              hs-with-public-key  HS256 keyed with the RSA/EC public key's PEM,
                                  kid of the real key (algorithm confusion)      alg_not_allowed
              expired             valid signature, exp one hour ago              token_expired
              not-yet-valid       valid signature, nbf in one hour               token_not_yet_valid
              wrong-aud           valid signature, aud "forged-audience"         bad_audience (verify with --aud)
              wrong-iss           valid signature, iss "https://forged.invalid"  bad_issuer (verify with --iss)
              stripped-signature  a valid token with its signature removed       malformed_token
              tampered-payload    a valid token whose payload was altered        bad_signature
              embedded-jwk        signed by a fresh attacker key that the
                                  header carries as "jwk"                        embedded_key
              unknown-crit        valid signature, crit names an extension       unknown_crit
            hs-with-public-key needs only the public key; the others sign with --key's private key or secret.

            Example:
              keytool token forge --kind expired --key keys/private.pem --alg RS256 --sub alice
              keytool token forge --kind hs-with-public-key --key keys/public.pem --alg RS256
            """
    )

    enum Kind: String, CaseIterable, ExpressibleByArgument {
        case noneAlg = "none-alg"
        case hsWithPublicKey = "hs-with-public-key"
        case expired
        case notYetValid = "not-yet-valid"
        case wrongAud = "wrong-aud"
        case wrongIss = "wrong-iss"
        case strippedSignature = "stripped-signature"
        case tamperedPayload = "tampered-payload"
        case embeddedJWK = "embedded-jwk"
        case unknownCrit = "unknown-crit"
    }

    @Option(name: .long, help: "What to forge: \(Kind.allCases.map(\.rawValue).joined(separator: ", ")).")
    var kind: Kind

    @OptionGroup var key: KeyOptions
    @OptionGroup var claims: ClaimOptions

    func run() throws {
        let now = currentTime()
        var base = try claims.claims(now: now)
        base["sub"] = base["sub"] ?? .string("forged-subject")
        print(try TokenForgery(kind: kind, claims: base, now: now, key: key).make())
    }
}

/// Builds the forged tokens; each method documents the attack it stands for.
struct TokenForgery {
    let kind: TokenForge.Kind
    let claims: [String: JSONValue]
    let now: Double
    let key: KeyOptions

    func make() throws -> String {
        switch kind {
        case .noneAlg:
            return Base64URL.encode(JSONSerializer.bytes(.object(["alg": "none", "typ": "JWT"])))
                + "." + Base64URL.encode(JSONSerializer.bytes(.object(claims))) + "."
        case .hsWithPublicKey:
            return try algorithmConfusion()
        case .expired:
            return try sign(claims.merging(["iat": .int(Int64(now) - 7200), "exp": .int(Int64(now) - 3600)]) { $1 })
        case .notYetValid:
            return try sign(claims.merging(["nbf": .int(Int64(now) + 3600), "exp": .int(Int64(now) + 7200)]) { $1 })
        case .wrongAud:
            return try sign(claims.merging(["aud": "forged-audience"]) { $1 })
        case .wrongIss:
            return try sign(claims.merging(["iss": "https://forged.invalid"]) { $1 })
        case .strippedSignature:
            let parts = try sign(claims).split(separator: ".", omittingEmptySubsequences: false)
            return "\(parts[0]).\(parts[1])."
        case .tamperedPayload:
            return try tampered()
        case .embeddedJWK:
            return try embeddedKey()
        case .unknownCrit:
            return try sign(claims, header: ["crit": ["x-forged"], "x-forged": true])
        }
    }

    private func sign(_ claims: [String: JSONValue], header: [String: JSONValue] = [:]) throws -> String {
        try JWTSigner.sign(claims: claims, key: try key.signingKey(), extraHeader: header)
    }

    /// The classic confusion: the verifier's RSA public key, as PEM text, used as an HMAC secret.
    private func algorithmConfusion() throws -> String {
        guard let real = try key.loadKeys().first(where: { !$0.isSymmetric }) else {
            throw UsageError("\(key.key): hs-with-public-key needs an RSA, EC or Ed25519 key")
        }
        let pem = Array(try real.publicKeyPEM().utf8)
        let secret = try JWSKey(jwk: .object(["kty": "oct", "k": .string(Base64URL.encode(pem))]), algorithm: .HS256)
        return try JWTSigner.sign(claims: claims, key: try secret.withKeyID(real.keyID))
    }

    /// A genuine token whose payload is swapped for one granting more, keeping the signature.
    private func tampered() throws -> String {
        let parts = try sign(claims).split(separator: ".", omittingEmptySubsequences: false)
        var forged = claims
        forged["roles"] = ["admin"]
        forged["scope"] = "admin:all"
        return "\(parts[0]).\(Base64URL.encode(JSONSerializer.bytes(.object(forged)))).\(parts[2])"
    }

    /// Signed by a fresh attacker key whose public half rides in the header, under the real kid.
    private func embeddedKey() throws -> String {
        let real = try key.loadKeys().first
        let attacker = try JWSKey.generate(algorithm: .RS256, keyID: real?.keyID)
        let jwk = try attacker.publicKey().jwk()
        return try JWTSigner.sign(claims: claims, key: attacker, extraHeader: ["jwk": jwk])
    }
}
