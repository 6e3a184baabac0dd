import Foundation
import JOSE

/// Everything a request needs, validated and immutable: configuration, compiled policy, key sets.
///
/// Built whole or not at all; each event loop holds a reference and a reload swaps in a new one.
public final class GatewaySnapshot: Sendable {
    public let configuration: GatewayConfiguration
    public let policy: Policy
    /// A verifier per accepted issuer (`iss`), each with only that issuer's keys.
    let verifiers: [String: JWTVerifier]
    /// Which client headers to strip before forwarding.
    let headerFilter: ClientHeaderFilter
    /// Changes whenever keys may have changed, so cached verifications never outlive their key.
    public let keyGeneration: UInt64

    public init(configuration: GatewayConfiguration, policy: Policy, verifiers: [String: JWTVerifier], keyGeneration: UInt64) {
        self.configuration = configuration
        self.policy = policy
        self.verifiers = verifiers
        self.keyGeneration = keyGeneration
        self.headerFilter = ClientHeaderFilter(identity: configuration.identity, policyHeaders: policy.identityHeaderNames)
    }

    /// Loads the policy directory and every issuer's keys; collects every problem before failing.
    public static func load(configuration: GatewayConfiguration, keyGeneration: UInt64) throws -> GatewaySnapshot {
        var problems: [String] = []
        var verifiers: [String: JWTVerifier] = [:]
        for issuer in configuration.issuers {
            do {
                verifiers[issuer.issuer] = try verifier(for: issuer)
            } catch let error as GatewayConfigurationError {
                problems += error.problems
            }
        }
        let environment = PolicyEnvironment(
            upstreams: Array(configuration.upstreams.keys), issuers: configuration.issuers.map(\.issuer)
        )
        var policy: Policy?
        do {
            policy = try PolicyLoader.load(directory: configuration.policyDirectory, environment: environment)
        } catch {
            problems += error.diagnostics.map(\.description)
        }
        guard problems.isEmpty, let policy else { throw GatewayConfigurationError(problems: problems) }
        return GatewaySnapshot(
            configuration: configuration, policy: policy, verifiers: verifiers, keyGeneration: keyGeneration
        )
    }

    static func verifier(for issuer: GatewayConfiguration.Issuer) throws -> JWTVerifier {
        var keys: [JWSKey] = []
        var problems: [String] = []
        for source in issuer.keys {
            guard let bytes = FileManager.default.contents(atPath: source.file) else {
                problems.append("\(source.file): cannot read the key file of issuer \(issuer.issuer)")
                continue
            }
            do {
                keys += try KeyFile.keys(from: [UInt8](bytes), algorithm: source.algorithm, keyID: source.keyID)
            } catch {
                problems.append("\(source.file): \(error.reason) (issuer \(issuer.issuer))")
            }
        }
        if keys.isEmpty && problems.isEmpty {
            problems.append("issuer \(issuer.issuer) has no keys")
        }
        guard problems.isEmpty else { throw GatewayConfigurationError(problems: problems) }
        let validation = ClaimsValidation(
            issuers: [issuer.issuer], audiences: issuer.audiences, leeway: issuer.leeway,
            maxLifetime: issuer.maxLifetime, requiredClaims: issuer.requiredClaims
        )
        return JWTVerifier(keys: JWKSet(keys), validation: validation)
    }
}

/// A configuration that cannot become active: every problem found, one per line.
public struct GatewayConfigurationError: Error, CustomStringConvertible, Sendable {
    public let problems: [String]

    public init(problems: [String]) {
        self.problems = problems
    }

    public var description: String {
        problems.joined(separator: "\n") + "\n\(problems.count) problem\(problems.count == 1 ? "" : "s"); nothing was loaded"
    }
}
