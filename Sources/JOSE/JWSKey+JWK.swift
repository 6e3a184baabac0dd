/// JWK import and export (RFC 7517, RFC 7518 section 6, RFC 8037) and RFC 7638 thumbprints.
extension JWSKey {
    /// The JWK `kty` of the key.
    public var keyType: String { JWSKey.keyType(for: algorithm) }

    /// The JWK `crv`, for EC and OKP keys.
    var curve: String? { JWSKey.curve(for: algorithm) }

    /// The RFC 7638 thumbprint: SHA-256 over the required public members, base64url.
    public func thumbprint() throws(JOSEError) -> String {
        try JWSKey.thumbprint(of: material)
    }

    static func thumbprint(of material: Material) throws(JOSEError) -> String {
        let members: [(String, String)]
        switch material {
        case .secret(let secret):
            members = [("k", Base64URL.encode(secret.bytes)), ("kty", "oct")]
        case .pair(let pkey):
            let parts = pkey.components(includePrivate: false).mapValues { Base64URL.encode($0) }
            switch pkey.algorithm.family {
            case .rsa, .rsaPSS:
                members = [("e", parts["e"] ?? ""), ("kty", "RSA"), ("n", parts["n"] ?? "")]
            case .ecdsa:
                let crv = curve(for: pkey.algorithm) ?? ""
                members = [("crv", crv), ("kty", "EC"), ("x", parts["x"] ?? ""), ("y", parts["y"] ?? "")]
            default:
                members = [("crv", "Ed25519"), ("kty", "OKP"), ("x", parts["x"] ?? "")]
            }
        }
        // Members in lexicographic order, no whitespace; every value here is base64url or a fixed name.
        let json = "{" + members.map { "\"\($0.0)\":\"\($0.1)\"" }.joined(separator: ",") + "}"
        return Base64URL.encode(try OpenSSL.sha256(Array(json.utf8)))
    }

    /// The key as a JWK object with `kty`, `kid`, `alg` and `use: sig`.
    ///
    /// Private members only when `includePrivate`; an HMAC secret is always private material, so
    /// exporting it without `includePrivate` fails rather than publishing it.
    public func jwk(includePrivate: Bool = false) throws(JOSEError) -> JSONValue {
        var object: [String: JSONValue] = [
            "kty": .string(keyType), "kid": .string(keyID), "alg": .string(algorithm.rawValue), "use": .string("sig"),
        ]
        if let curve { object["crv"] = .string(curve) }
        switch material {
        case .secret(let secret):
            guard includePrivate else {
                throw JOSEError(.invalidKey, "an HMAC secret is never published in a JWKS")
            }
            object["k"] = .string(Base64URL.encode(secret.bytes))
        case .pair(let pkey):
            for (name, bytes) in pkey.components(includePrivate: includePrivate) {
                object[name] = .string(Base64URL.encode(bytes))
            }
        }
        return .object(object)
    }

    /// The public half of a key pair (an HMAC secret has none and is returned as is).
    public func publicKey() throws(JOSEError) -> JWSKey {
        guard case .pair(let pkey) = material, pkey.isPrivate else { return self }
        let material = Material.pair(try PKey.make(algorithm: algorithm, components: pkey.components(includePrivate: false)))
        return try JWSKey(material: material, algorithm: algorithm, keyID: keyID)
    }

    /// Reads one JWK. Its `alg`, when present, binds the key; `algorithm` must then agree with it.
    ///
    /// Without an `alg` member, `algorithm` is required (the key fixes the algorithm; it is never
    /// guessed from a token). EC and Ed25519 keys imply theirs from `crv`.
    public init(jwk: JSONValue, algorithm: JWSAlgorithm? = nil) throws(JOSEError) {
        guard let object = jwk.objectValue else { throw JOSEError(.invalidKey, "a JWK must be a JSON object") }
        let algorithm = try JWSKey.algorithm(of: object, requested: algorithm)
        try JWSKey.checkUse(object)
        guard object["kty"]?.stringValue == JWSKey.keyType(for: algorithm) else {
            throw JOSEError(.invalidKey, "JWK kty does not fit \(algorithm) (expected \(JWSKey.keyType(for: algorithm)))")
        }
        let kid = object["kid"]?.stringValue
        if algorithm.family == .hmac {
            guard let k = object["k"]?.stringValue else { throw JOSEError(.invalidKey, "oct JWK has no k") }
            let secret = try HMACSecret(try JWSKey.decodeMember(k, "k"), algorithm: algorithm)
            try self.init(material: .secret(secret), algorithm: algorithm, keyID: kid)
            return
        }
        var components: [String: [UInt8]] = [:]
        for name in ["n", "e", "d", "p", "q", "dp", "dq", "qi", "x", "y"] {
            if let value = object[name] {
                guard let text = value.stringValue else { throw JOSEError(.invalidKey, "JWK member \(name) must be a string") }
                components[name] = try JWSKey.decodeMember(text, name)
            }
        }
        if let crv = object["crv"]?.stringValue, crv != JWSKey.curve(for: algorithm) {
            throw JOSEError(.invalidKey, "JWK crv \(crv) does not fit \(algorithm)")
        }
        let pkey = try PKey.make(algorithm: algorithm, components: components)
        try self.init(material: .pair(pkey), algorithm: algorithm, keyID: kid)
    }

    static func keyType(for algorithm: JWSAlgorithm) -> String {
        switch algorithm.family {
        case .hmac: return "oct"
        case .rsa, .rsaPSS: return "RSA"
        case .ecdsa: return "EC"
        case .eddsa: return "OKP"
        }
    }

    static func curve(for algorithm: JWSAlgorithm) -> String? {
        switch algorithm {
        case .ES256: return "P-256"
        case .ES384: return "P-384"
        case .EdDSA: return "Ed25519"
        default: return nil
        }
    }

    private static func algorithm(of object: [String: JSONValue], requested: JWSAlgorithm?) throws(JOSEError) -> JWSAlgorithm {
        if let member = object["alg"] {
            guard let text = member.stringValue, let declared = JWSAlgorithm(rawValue: text) else {
                throw JOSEError(.algNotAllowed, "JWK alg is not a supported JWS algorithm")
            }
            if let requested, requested != declared {
                throw JOSEError(.algNotAllowed, "JWK is bound to \(declared), not \(requested)")
            }
            return declared
        }
        if let requested { return requested }
        switch object["crv"]?.stringValue {
        case "P-256": return .ES256
        case "P-384": return .ES384
        case "Ed25519": return .EdDSA
        default:
            throw JOSEError(.algNotAllowed, "JWK has no alg member; name the algorithm it is for")
        }
    }

    /// A key meant for encryption, or whose `key_ops` exclude signing and verifying, is refused.
    private static func checkUse(_ object: [String: JSONValue]) throws(JOSEError) {
        if let use = object["use"], use.stringValue != "sig" {
            throw JOSEError(.invalidKey, "JWK use must be \"sig\"")
        }
        if let ops = object["key_ops"] {
            let names = ops.arrayValue?.compactMap(\.stringValue) ?? []
            guard names.contains("verify") || names.contains("sign") else {
                throw JOSEError(.invalidKey, "JWK key_ops allow neither sign nor verify")
            }
        }
    }

    private static func decodeMember(_ text: String, _ name: String) throws(JOSEError) -> [UInt8] {
        do {
            return try Base64URL.decode(text)
        } catch {
            throw JOSEError(.invalidKey, "JWK member \(name) is not canonical base64url")
        }
    }
}
