import JOSE
import GatewayConfig

/// What the gateway takes from a provider's OpenID configuration document (OpenID Connect Discovery 1.0),
/// and the checks that make it trustworthy enough to take: the document must name exactly the configured
/// issuer (section 4.3), or a document found at one issuer's URL could hand out another's keys.
package struct OpenIDConfiguration: Sendable, Equatable {
    /// Where the provider's JWKS is (`jwks_uri`).
    package let jwksURL: String
    /// The signing algorithms the provider advertises that the gateway verifies (never `none`), or `nil` when
    /// the document lists none. Keys for other algorithms are not used: discovery only ever narrows.
    package let algorithms: Set<JWSAlgorithm>?

    /// Why a document is refused; the `code` is stable (tests, metrics), the `reason` for the log.
    package struct Refusal: Error, Equatable, CustomStringConvertible {
        package enum Code: String, Sendable {
            case notJSON = "not_json"
            /// The document is a JWKS: the discovery URL points at the keys.
            case keySet = "key_set"
            case issuerMismatch = "issuer_mismatch"
            case missingJWKSURI = "missing_jwks_uri"
            case badJWKSURI = "bad_jwks_uri"
            case badAlgorithms = "bad_algorithms"
        }

        package let code: Code
        package let reason: String

        package var description: String { reason }

        package static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
    }

    /// The claims a document is read for.
    static let algorithmsMember = "id_token_signing_alg_values_supported"

    /// Reads `bytes` (fetched from `documentURL`) as the configuration of `issuer`; plain-HTTP `jwks_uri`s
    /// only when `allowInsecure` (as for a configured `jwks_url`).
    package static func validate(
        _ bytes: [UInt8], issuer: String, documentURL: String, allowInsecure: Bool
    ) -> Result<OpenIDConfiguration, Refusal> {
        let json: JSONValue
        do {
            json = try JSONParser.parse(bytes)
        } catch {
            return .failure(Refusal(code: .notJSON, reason: "the document at \(documentURL) is not JSON: \(error.reason)"))
        }
        guard json.objectValue != nil else {
            return .failure(Refusal(code: .notJSON, reason: "the document at \(documentURL) is not a JSON object"))
        }
        switch KeyDocumentKind(json) {
        case .openIDConfiguration:
            break
        case .key where json["kty"] == nil:
            break  // no issuer, no keys: refused as an issuer mismatch below
        case .keySet, .key:
            return .failure(Refusal(
                code: .keySet,
                reason: "\(documentURL) serves a JWK or JWKS, not an OpenID configuration document; "
                    + "name it under `remote_keys: { jwks_url: \(documentURL) }` instead of discovering it"))
        }
        guard let advertised = json["issuer"]?.stringValue, advertised == issuer else {
            let found = json["issuer"]?.stringValue.map { "`\($0)`" } ?? "no issuer"
            return .failure(Refusal(
                code: .issuerMismatch,
                reason: "the OpenID configuration at \(documentURL) names \(found), not the configured issuer `\(issuer)` "
                    + "(they must be equal exactly, OpenID Connect Discovery 4.3)"))
        }
        guard let jwksURI = json["jwks_uri"]?.stringValue else {
            return .failure(Refusal(code: .missingJWKSURI, reason: "the OpenID configuration at \(documentURL) has no `jwks_uri`"))
        }
        guard let url = ParsedURL(jwksURI), !jwksURI.contains("#"), !jwksURI.contains(where: { $0.isWhitespace }) else {
            return .failure(Refusal(code: .badJWKSURI, reason: "`jwks_uri` `\(jwksURI)` is not an https URL"))
        }
        guard url.isHTTPS || allowInsecure else {
            return .failure(Refusal(
                code: .badJWKSURI, reason: "`jwks_uri` `\(jwksURI)` is plain HTTP (`insecure: true` allows it for tests)"))
        }
        return algorithms(json[algorithmsMember], documentURL: documentURL).map {
            OpenIDConfiguration(jwksURL: jwksURI, algorithms: $0)
        }
    }

    /// The advertised algorithms the gateway verifies; `nil` when not advertised. A list with none of them
    /// (only `none`, or only unknown names) is refused rather than read as "anything".
    static func algorithms(_ member: JSONValue?, documentURL: String) -> Result<Set<JWSAlgorithm>?, Refusal> {
        guard let member else { return .success(nil) }
        guard let names = member.arrayValue?.map(\.stringValue), !names.contains(nil) else {
            return .failure(Refusal(code: .badAlgorithms, reason: "`\(algorithmsMember)` at \(documentURL) is not a list of names"))
        }
        let usable = Set(names.compactMap { $0.flatMap(JWSAlgorithm.init(rawValue:)) })
        guard !usable.isEmpty else {
            return .failure(Refusal(
                code: .badAlgorithms,
                reason: "the provider advertises no signing algorithm the gateway verifies (`\(algorithmsMember)`: "
                    + "\(names.compactMap { $0 }.joined(separator: ", ")))"))
        }
        return .success(usable)
    }
}
