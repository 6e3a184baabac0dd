import GatewayPolicy
/// Warnings about a policy that validated but deserves a reviewer's second look: public routes (and those
/// without a `forward_headers` allowlist), catch-all routes, protected routes without any scope/role/claim
/// requirement, rate limits one client can exhaust for all, and routes (or methods of a route) that can never
/// match because more specific routes take every request.
package enum PolicyLinter {
    package static func lint(_ policy: Policy) -> [PolicyDiagnostic] {
        var warnings: [PolicyDiagnostic] = []
        for route in policy.routes {
            let target = "\(route.methods) \(route.host.map { "\($0) " } ?? "")\(route.pattern)"
            if route.isPublic, route.publicReason == nil {
                warnings.append(PolicyDiagnostic(
                    .warning, at: route.location,
                    "route `\(route.name)` is public: \(target) is served to anyone without a token",
                    hint: "make sure this is intended, then say why with `public_reason: \"...\"` on the route "
                        + "(lint stops warning); or remove `auth: public` to require a token"))
            }
            if route.isPublic {
                if route.forwardHeaders == nil {
                    warnings.append(PolicyDiagnostic(
                        .warning, at: route.location,
                        "public route `\(route.name)` forwards every client header the gateway does not strip",
                        hint: "list the headers its upstream needs in `forward_headers:` (on the route or in `defaults`): "
                            + "no header an upstream trusts for identity can then slip through"))
                }
            }
            for segment in "\(route.pattern)".split(separator: "/") where segment.hasPrefix(":") && segment.count > 1 {
                warnings.append(PolicyDiagnostic(
                    .warning, at: route.location,
                    "route `\(route.name)`: the path segment `\(segment)` matches the text `\(segment)` literally",
                    hint: "did you mean `{\(segment.dropFirst())}`? Parameters are written in braces (quote the path inside `{ ... }`)"))
            }
            if let cors = route.cors, cors.anyOrigin, !route.isPublic {
                warnings.append(PolicyDiagnostic(
                    .warning, at: route.location,
                    "route `\(route.name)` lets any web origin read its answers (`cors: { origins: [\"*\"] }`)",
                    hint: "list the origins of your web applications; a page on any site could otherwise read what a token it holds may see"))
            }
            if let limit = route.rateLimit, limit.key == .route || (limit.key == .iss && !route.isPublic) {
                warnings.append(PolicyDiagnostic(
                    .warning, at: route.location,
                    "route `\(route.name)` shares one rate-limit bucket among all its clients (`key: \(limit.key.rawValue)`): "
                        + "one busy client spends everyone's quota",
                    hint: route.isPublic
                        ? "count each client: `key: client_address`"
                        : "count each caller: `key: sub` or `key: client_id`; keep a shared bucket only to protect a fragile upstream"))
            }
            if route.pattern.isCatchAll {
                warnings.append(PolicyDiagnostic(
                    .warning, at: route.location,
                    "route `\(route.name)` is a catch-all: every \(route.methods) request that no other route takes "
                        + "goes to upstream `\(route.upstream)`",
                    hint: "list the paths the upstream serves instead; unmatched requests are 404 by default"))
            }
            if case .token(let issuers, nil) = route.access {
                let from = issuers.map { "from " + $0.joined(separator: ", ") } ?? "from any configured issuer"
                warnings.append(PolicyDiagnostic(
                    .warning, at: route.location,
                    "route `\(route.name)` has no scope, role or claim requirement: any valid token \(from) is enough",
                    hint: "add `require:` with the scopes or roles this API needs"))
            }
            warnings += shadowing(of: route, in: policy)
        }
        return warnings
    }

    /// Tries representative requests for each of the route's methods; a method none of them reaches is
    /// reported with the route that takes its requests.
    private static func shadowing(of route: Route, in policy: Policy) -> [PolicyDiagnostic] {
        let witnesses = witnessPaths(for: route.pattern)
        var unreachable: [String] = []
        var takers: [String] = []
        for method in route.methods.methodNames {
            let winners = witnesses.map { policy.route(method: method, host: route.host, path: $0) }
            if !winners.contains(where: { $0 === route }) {
                unreachable.append(method)
                for case let winner? in winners where !takers.contains(winner.name) { takers.append(winner.name) }
            }
        }
        guard !unreachable.isEmpty else { return [] }
        let by = takers.isEmpty ? "" : "; its requests go to " + takers.map { "`\($0)`" }.joined(separator: ", ")
        return [PolicyDiagnostic(
            .warning, at: route.location,
            "route `\(route.name)` can never match \(unreachable.joined(separator: ",")) \(route.pattern)\(by)",
            hint: "remove the route or make its pattern more specific than the routes that take its requests")]
    }

    /// Paths the pattern matches: wildcards filled with a segment no literal uses, and for `/**` the prefix
    /// itself, with a trailing `/`, and with one and two extra segments.
    static func witnessPaths(for pattern: PathPattern) -> [String] {
        let filler = "~lint~"
        var base = ""
        for segment in pattern.segments {
            switch segment {
            case .literal(let text): base += "/" + text
            case .parameter: base += "/" + filler
            }
        }
        guard pattern.isPrefix else { return [base.isEmpty ? "/" : base] }
        return [base.isEmpty ? "/" : base, base + "/", base + "/" + filler, base + "/" + filler + "/" + filler]
    }
}
