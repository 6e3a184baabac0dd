/// Signs claims into a compact JWT (RFC 7519) with a configured key.
public enum JWTSigner {
    /// The compact token for `claims`, signed by `key` with the key's algorithm.
    ///
    /// The header has `alg`, `typ: JWT` and `kid` (the key's id) plus `extraHeader`, which may not
    /// override those three.
    public static func sign(
        claims: [String: JSONValue],
        key: JWSKey,
        extraHeader: [String: JSONValue] = [:]
    ) throws(JOSEError) -> String {
        var header = extraHeader
        header["alg"] = .string(key.algorithm.rawValue)
        header["typ"] = .string("JWT")
        header["kid"] = .string(key.keyID)
        return try signRaw(
            header: JSONSerializer.bytes(.object(header)),
            payload: JSONSerializer.bytes(.object(claims)),
            key: key
        )
    }

    /// Signs exact header and payload bytes; for tests and `keytool token forge`, which need control
    /// over every byte.
    public static func signRaw(header: [UInt8], payload: [UInt8], key: JWSKey) throws(JOSEError) -> String {
        let signingInput = Base64URL.encode(header) + "." + Base64URL.encode(payload)
        let signature = try key.sign(Array(signingInput.utf8))
        return signingInput + "." + Base64URL.encode(signature)
    }
}
