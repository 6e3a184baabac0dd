import JOSE
import GatewayPolicy

/// What `keytool policy explain` prints: how one request is canonicalized, which route it matches, each
/// requirement clause and whether it held, the identity headers, and the final decision.
package enum PolicyExplainer {
    package static func explain(
        _ policy: Policy, method: String, host: String?, target: String, claims: [String: JSONValue]?,
        realm: String = "auth-gateway"
    ) -> PolicyExplanation {
        var lines = ["request:     \(method) \(target)" + (host.map { "  (host \($0))" } ?? "")]
        let path: String
        switch CanonicalPath.canonicalize(target) {
        case .failure(let rejection):
            let decision = Decision.badPath(rejection)
            lines.append("canonical:   rejected: \(rejection)")
            return finish(lines, decision, realm: realm)
        case .success(let canonical):
            path = canonical.path
            var line = "canonical:   \(canonical.path)" + (canonical.path == target ? "" : "  (normalized)")
            if let query = canonical.query { line += "  (query \(JSONSerializer.quote(query)) is not used for routing)" }
            lines.append(line)
        }
        guard let route = policy.route(method: method, host: host, path: path) else {
            lines.append("route:       none matches")
            let others = HTTPMethodSet.names.compactMap { other -> String? in
                guard other != method, let route = policy.route(method: other, host: host, path: path) else { return nil }
                return "\(other) → `\(route.name)`"
            }
            if !others.isEmpty { lines.append("             other methods would match: " + others.joined(separator: ", ")) }
            return finish(lines, decide(policy, method, host, path, claims), realm: realm)
        }
        lines.append("route:       \(route.name)  [\(route.location)]")
        lines.append("             \(route.methods) \(route.host.map { "\($0) " } ?? "")\(route.pattern) → upstream \(route.upstream)")
        switch route.access {
        case .public:
            lines.append("access:      public (no token needed, no identity headers)")
        case .token(let issuers, let requirement):
            lines.append("access:      token required")
            lines.append("token:       " + (claims == nil ? "none" : "claims given"))
            if let claims {
                explainIssuers(issuers, claims, into: &lines)
                if let requirement {
                    lines.append("requirement:")
                    _ = requirement.explain(claims, depth: 0, into: &lines)
                } else {
                    lines.append("requirement: none (any valid token)")
                }
                lines.append("identity headers:")
                for rule in route.identityHeaders {
                    switch IdentityHeaderEncoder.encode(rule.source, claims) {
                    case .value(let value): lines.append("  \(rule.name): \(value)")
                    case .omitted: lines.append("  \(rule.name): (not sent: \(rule.source) is absent or empty)")
                    case .unencodable:
                        lines.append("  \(rule.name): (cannot be sent: \(rule.source) holds characters or types a header cannot carry)")
                    }
                }
            }
        }
        return finish(lines, decide(policy, method, host, path, claims), realm: realm)
    }

    /// The decision, through the gateway's own order of checks (``AdmissionCore``).
    private static func decide(
        _ policy: Policy, _ method: String, _ host: String?, _ path: String, _ claims: [String: JSONValue]?
    ) -> Decision {
        policy.decide(method: method, host: host, path: path, claims: claims)
    }

    private static func explainIssuers(_ issuers: [String]?, _ claims: [String: JSONValue], into lines: inout [String]) {
        let iss = claims["iss"].map { JSONSerializer.serialize($0) } ?? "absent"
        guard let issuers else {
            lines.append("issuer:      \(iss) (the route accepts every issuer the gateway trusts)")
            return
        }
        let held = claims["iss"]?.stringValue.map(issuers.contains) ?? false
        lines.append("issuer:      \(held ? "held" : "failed")  \(iss) in [\(issuers.joined(separator: ", "))]")
    }

    private static func finish(_ lines: [String], _ decision: Decision, realm: String) -> PolicyExplanation {
        var lines = lines
        lines.append("decision:    \(decision)")
        if case .deny(let denial) = decision, let challenge = denial.challenge {
            lines.append("             WWW-Authenticate: \(challenge.headerValue(realm: realm))")
        }
        return PolicyExplanation(lines: lines, decision: decision)
    }
}

/// The explanation text and the decision it ends with.
package struct PolicyExplanation: Sendable, CustomStringConvertible {
    package let lines: [String]
    package let decision: Decision

    package var description: String { lines.joined(separator: "\n") }
}
