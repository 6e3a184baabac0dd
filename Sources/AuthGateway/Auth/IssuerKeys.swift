import JOSE

/// The keys and claim rules of one issuer: configured key files, a provider's remote JWKS, or both.
package struct IssuerKeys: Sendable {
    let validation: ClaimsValidation
    let localKeys: JWKSet
    package let remote: RemoteKeySet?
    /// What loads but should be changed (a private key where the public half is enough).
    package let warnings: [String]

    package init(validation: ClaimsValidation, localKeys: JWKSet, remote: RemoteKeySet?, warnings: [String] = []) {
        self.validation = validation
        self.localKeys = localKeys
        self.remote = remote
        self.warnings = warnings
    }

    /// What verifies this issuer's tokens now, or `nil` when no key is available (503, not 401).
    func verifier() -> JWTVerifier? {
        guard let remote else { return JWTVerifier(keys: localKeys, validation: validation) }
        guard let remoteKeys = remote.currentKeys() else {
            return localKeys.isEmpty ? nil : JWTVerifier(keys: localKeys, validation: validation)
        }
        let keys = localKeys.isEmpty ? remoteKeys : JWKSet(localKeys.keys + remoteKeys.keys)
        return JWTVerifier(keys: keys, validation: validation)
    }
}
