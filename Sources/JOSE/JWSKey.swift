/// A signing or verification key, bound to exactly one JWS algorithm.
///
/// The key fixes the algorithm: a token whose `alg` differs is refused before any cryptography runs.
/// Values are immutable and `Sendable`; the OpenSSL objects they own are freed with the last copy.
public struct JWSKey: Sendable {
    /// The one algorithm this key signs or verifies with.
    public let algorithm: JWSAlgorithm
    /// The key id (`kid`); the RFC 7638 thumbprint unless one was given.
    public let keyID: String

    enum Material: Sendable {
        case secret(HMACSecret)
        case pair(PKey)
    }

    let material: Material

    /// `keyID` `nil` or empty means the RFC 7638 thumbprint.
    init(material: Material, algorithm: JWSAlgorithm, keyID: String?) throws(JOSEError) {
        self.material = material
        self.algorithm = algorithm
        if let keyID, !keyID.isEmpty {
            self.keyID = keyID
        } else {
            self.keyID = try JWSKey.thumbprint(of: material)
        }
    }

    /// The same key under another `kid` (the thumbprint when `nil` or empty).
    public func withKeyID(_ keyID: String?) throws(JOSEError) -> JWSKey {
        try JWSKey(material: material, algorithm: algorithm, keyID: keyID)
    }

    /// Whether the key can sign: a private key or an HMAC secret.
    public var canSign: Bool {
        switch material {
        case .secret: return true
        case .pair(let pkey): return pkey.isPrivate
        }
    }

    /// Whether the key is symmetric (an HMAC secret), which must never be published.
    public var isSymmetric: Bool {
        if case .secret = material { return true }
        return false
    }

    /// Signs `message` (the JWS signing input) and returns the JWS signature bytes.
    public func sign(_ message: [UInt8]) throws(JOSEError) -> [UInt8] {
        var result: Result<[UInt8], JOSEError> = .success([])
        message.withUnsafeBytes { raw in
            do throws(JOSEError) {
                result = .success(try sign(raw: raw))
            } catch {
                result = .failure(error)
            }
        }
        return try result.get()
    }

    private func sign(raw: UnsafeRawBufferPointer) throws(JOSEError) -> [UInt8] {
        switch material {
        case .secret(let secret):
            return try secret.sign(message: raw)
        case .pair(let pkey):
            let signature = try pkey.sign(message: raw)
            guard algorithm.family == .ecdsa else { return signature }
            return try ECDSASignature.raw(fromDER: signature, width: ECDSASignature.width(for: algorithm))
        }
    }

    /// Checks a JWS signature over `message`. A wrong signature is `false`, never an error.
    public func verify(signature: UnsafeRawBufferPointer, message: UnsafeRawBufferPointer) -> Bool {
        switch material {
        case .secret(let secret):
            return secret.verify(signature: signature, message: message)
        case .pair(let pkey):
            guard algorithm.family == .ecdsa else { return pkey.verify(signature: signature, message: message) }
            let width = ECDSASignature.width(for: algorithm)
            guard let der = ECDSASignature.der(fromRaw: signature, width: width) else { return false }
            return der.withUnsafeBytes { pkey.verify(signature: $0, message: message) }
        }
    }

    /// Convenience over byte arrays.
    public func verify(signature: [UInt8], message: [UInt8]) -> Bool {
        signature.withUnsafeBytes { sig in message.withUnsafeBytes { verify(signature: sig, message: $0) } }
    }
}
