/// Reads keys from the bytes of a key file: PEM (keys or a certificate), one JWK, or a JWKS.
///
/// Everywhere a key is taken, any of these forms works. The algorithm comes from the JWK's `alg`
/// or from `algorithm`; PEM files always need `algorithm`, since the key fixes it.
public enum KeyFile {
    /// Which keys a JWKS may hold that this library cannot use.
    public enum UnusableKeys: Sendable {
        /// Any unusable key is an error (operator-written files).
        case reject
        /// Unusable keys are skipped (identity providers publish encryption keys and other types).
        case skip
    }

    /// Parses `bytes`; `keyID` renames a single key (not allowed for a JWKS of several keys).
    public static func keys(
        from bytes: [UInt8],
        algorithm: JWSAlgorithm? = nil,
        keyID: String? = nil,
        unusable: UnusableKeys = .reject
    ) throws(JOSEError) -> [JWSKey] {
        guard let first = bytes.first(where: { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }) else {
            throw JOSEError(.invalidKey, "the key file is empty")
        }
        guard first == UInt8(ascii: "{") else {
            guard let algorithm else {
                throw JOSEError(.algNotAllowed, "a PEM key carries no algorithm; name the algorithm it is for")
            }
            return [try JWSKey(pem: bytes, algorithm: algorithm, keyID: keyID)]
        }
        let json = try parseJSON(bytes)
        if case .openIDConfiguration(let jwksURI) = KeyDocumentKind(json) {
            throw JOSEError(
                .invalidKey,
                "this is an OpenID Connect discovery document, not a JWK or JWKS; its keys are at "
                    + (jwksURI ?? "the URL its `jwks_uri` should name"))
        }
        guard let members = json["keys"] else {
            let key = try JWSKey(jwk: json, algorithm: algorithm)
            return [keyID == nil ? key : try key.withKeyID(keyID)]
        }
        guard let list = members.arrayValue else { throw JOSEError(.invalidKey, "JWKS keys must be an array") }
        var keys: [JWSKey] = []
        for (index, jwk) in list.enumerated() {
            do throws(JOSEError) {
                keys.append(try JWSKey(jwk: jwk, algorithm: jwk["alg"] == nil ? algorithm : nil))
            } catch {
                if unusable == .skip { continue }
                throw JOSEError(error.code, "JWKS key #\(index + 1): \(error.reason)")
            }
        }
        if let keyID {
            keys = keys.filter { $0.keyID == keyID }
            guard !keys.isEmpty else { throw JOSEError(.unknownKey, "the JWKS has no key with kid \(keyID)") }
        }
        if let algorithm {
            keys = keys.filter { $0.algorithm == algorithm }
            guard !keys.isEmpty else { throw JOSEError(.algNotAllowed, "the JWKS has no \(algorithm) key") }
        }
        return keys
    }

    private static func parseJSON(_ bytes: [UInt8]) throws(JOSEError) -> JSONValue {
        do {
            return try JSONParser.parse(bytes)
        } catch {
            throw JOSEError(.invalidKey, "the key file is not valid JSON: \(error.reason)")
        }
    }
}

/// What a JSON document fetched or read for keys really is. The one check behind both wrong-document
/// errors: a JWKS URL that serves the provider's OpenID configuration, and a discovery URL that serves keys.
public enum KeyDocumentKind: Sendable, Equatable {
    /// A JWKS (`keys`).
    case keySet
    /// One JWK (`kty`), or an object that is none of the others.
    case key
    /// An OpenID Connect discovery document (or RFC 8414 metadata): `issuer` or `jwks_uri`, no `keys`/`kty`.
    case openIDConfiguration(jwksURI: String?)

    public init(_ json: JSONValue) {
        if json["keys"] != nil {
            self = .keySet
        } else if json["kty"] == nil, json["issuer"] != nil || json["jwks_uri"] != nil {
            self = .openIDConfiguration(jwksURI: json["jwks_uri"]?.stringValue)
        } else {
            self = .key
        }
    }
}
