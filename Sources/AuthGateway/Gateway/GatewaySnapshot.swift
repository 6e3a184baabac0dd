import Foundation
import JOSE
import GatewayPolicy
import GatewayConfig
import GatewayAdmission
import GatewayAuth

/// Everything a request needs, validated and immutable: configuration, compiled policy, key sets.
///
/// Built whole or not at all; each event loop holds a reference and a reload swaps in a new one.
package final class GatewaySnapshot: Sendable {
    package let configuration: GatewayConfiguration
    package let policy: Policy
    /// Keys and rules per accepted issuer (`iss`), each with only that issuer's keys.
    let issuers: [String: IssuerKeys]
    /// Which client headers to strip before forwarding.
    let headerFilter: ClientHeaderFilter
    /// Changes whenever keys may have changed, so cached verifications never outlive their key.
    package let keyGeneration: UInt64
    /// What the token authenticator verifies with.
    let tokenKeys: TokenKeys
    /// The rate-limit Redis password (`rate_limits.redis.password_file`), read when the snapshot is built.
    let redisPassword: [UInt8]?

    init(
        configuration: GatewayConfiguration, policy: Policy, issuers: [String: IssuerKeys], keyGeneration: UInt64,
        redisPassword: [UInt8]? = nil
    ) {
        self.redisPassword = redisPassword
        self.configuration = configuration
        self.policy = policy
        self.issuers = issuers
        self.keyGeneration = keyGeneration
        self.tokenKeys = TokenKeys(issuers: issuers, generation: keyGeneration, cached: configuration.tokenCache.enabled)
        self.headerFilter = ClientHeaderFilter(identity: configuration.identity, policyHeaders: policy.identityHeaderNames)
    }

    /// Loads the policy directory and every issuer's keys; collects every problem before failing.
    /// What loads but should be changed, to log at start and on reload and for `check` to print.
    package var warnings: [String] { issuers.keys.sorted().flatMap { issuers[$0]?.warnings ?? [] } }

    /// The remote key sets, for the refreshers and for readiness.
    package var remoteKeySets: [RemoteKeySet] { issuers.values.compactMap(\.remote) }

    /// Loads the policy directory and every issuer's keys; collects every problem before failing.
    /// Remote key sets come from `remoteKeys`, so a reload keeps the ones whose settings did not change.
    package static func load(
        configuration: GatewayConfiguration, keyGeneration: UInt64, remoteKeys: RemoteKeyRegistry = RemoteKeyRegistry()
    ) throws -> GatewaySnapshot {
        var problems: [String] = []
        var issuers: [String: IssuerKeys] = [:]
        for issuer in configuration.issuers {
            do {
                issuers[issuer.issuer] = try keys(for: issuer, registry: remoteKeys, locations: configuration.pathLocations)
            } catch let error as GatewayConfigurationError {
                problems += error.problems
            }
        }
        let environment = PolicyEnvironment(
            upstreams: Array(configuration.upstreams.keys), issuers: configuration.issuers.map(\.issuer),
            redisRateLimits: configuration.rateLimits.redis != nil
        )
        var policy: Policy?
        do {
            policy = try PolicyLoader.load(directory: configuration.policyDirectory, environment: environment)
        } catch {
            problems += error.diagnostics.map(\.description)
        }
        var redisPassword: [UInt8]?
        if let file = configuration.rateLimits.redis?.passwordFile {
            if let bytes = FileManager.default.contents(atPath: file) {
                redisPassword = Array(bytes)
                while let last = redisPassword?.last, last == 10 || last == 13 { redisPassword?.removeLast() }
            } else {
                let at = GatewayConfiguration.located(file, in: configuration.pathLocations)
                problems.append("\(at): cannot read the rate-limit Redis password file (no such file, or not readable)")
            }
        }
        guard problems.isEmpty, let policy else { throw GatewayConfigurationError(problems: problems) }
        return GatewaySnapshot(
            configuration: configuration, policy: policy, issuers: issuers, keyGeneration: keyGeneration,
            redisPassword: redisPassword
        )
    }

    static func keys(
        for issuer: GatewayConfiguration.Issuer, registry: RemoteKeyRegistry, locations: [String: SourceLocation] = [:]
    ) throws -> IssuerKeys {
        func at(_ path: String) -> String { GatewayConfiguration.located(path, in: locations) }
        var keys: [JWSKey] = []
        var problems: [String] = []
        var warnings: [String] = []
        for source in issuer.keys {
            guard let bytes = FileManager.default.contents(atPath: source.file) else {
                problems.append("\(at(source.file)): cannot read the key file of issuer \(issuer.issuer) (no such file, or not readable)")
                continue
            }
            do {
                let loaded = try KeyFile.keys(from: [UInt8](bytes), algorithm: source.algorithm, keyID: source.keyID)
                if loaded.contains(where: { $0.canSign && !$0.isSymmetric }) {
                    warnings.append(
                        "\(source.file): holds a private key (issuer \(issuer.issuer)); the gateway verifies with the public half "
                            + "only, so keep the private key off it: `keytool jwks --alg \(source.algorithm?.rawValue ?? "<alg>") \(source.file)` "
                            + "writes the public JWKS")
                }
                keys += loaded
            } catch {
                let hint = error.code == .algNotAllowed ? "; set `alg` on this key (for example `alg: RS256`)" : ""
                problems.append("\(at(source.file)): \(error.reason) (issuer \(issuer.issuer))\(hint)")
            }
        }
        var remote: RemoteKeySet?
        if let remoteKeys = issuer.remoteKeys {
            do {
                remote = try registry.keySet(issuer: issuer.issuer, configuration: remoteKeys)
            } catch let error as GatewayConfigurationError {
                problems += error.problems
            } catch {
                let what = remoteKeys.discovery ? "openid_configuration" : "jwks_url"
                problems.append("issuer \(issuer.issuer): \(what) \(remoteKeys.url): \(error)")
            }
        }
        if keys.isEmpty && issuer.remoteKeys == nil && problems.isEmpty {
            problems.append("issuer \(issuer.issuer) has no keys")
        }
        guard problems.isEmpty else { throw GatewayConfigurationError(problems: problems) }
        let validation = ClaimsValidation(
            issuers: [issuer.issuer], audiences: issuer.audiences, leeway: issuer.leeway.seconds,
            maxLifetime: issuer.maxLifetime?.seconds, requiredClaims: issuer.requiredClaims, acceptedTypes: issuer.tokenTypes
        )
        return IssuerKeys(validation: validation, localKeys: JWKSet(keys), remote: remote, warnings: warnings)
    }
}
