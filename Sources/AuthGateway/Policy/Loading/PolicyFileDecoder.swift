import Yams

/// Reads one policy file into routes, reporting every problem it finds.
///
/// A file is a mapping with `routes` (required), `defaults` and `version` (see docs/POLICY.md).
struct PolicyFileDecoder {
    /// Per-file settings that apply to every route in the file.
    struct Defaults {
        var issuers: [String]?
        var rolesClaim = ClaimPath(components: ["roles"])
        var identityHeaders: [IdentityHeaderRule]?
        var forwardHeaders: [String]?
        var cors: CORSRule?
        var rateLimit: (rule: RateLimitRule, named: Bool)?
    }

    static let fileKeys = ["version", "defaults", "routes"]
    static let defaultsKeys = ["issuers", "roles_claim", "identity_headers", "forward_headers", "cors", "rate_limit"]
    static let routeKeys = [
        "name", "description", "match", "upstream", "auth", "issuers", "require", "identity_headers",
        "forward_authorization", "forward_headers", "public_reason", "cors", "rate_limit",
    ]
    static let matchKeys = ["methods", "path", "host"]

    var reader: YAMLReader
    let environment: PolicyEnvironment

    init(file: String, environment: PolicyEnvironment) {
        reader = YAMLReader(file: file)
        self.environment = environment
    }

    /// The routes of the file (only those without errors); problems are in `reader.diagnostics`.
    mutating func decode(_ root: Node?) -> [Route] {
        guard let root else {
            reader.error(
                "the file is empty", at: SourceLocation(file: reader.file, line: 1, column: 1),
                hint: "a policy file needs a `routes:` list")
            return []
        }
        guard let entries = reader.mapping(root, "a policy file") else { return [] }
        reader.checkKeys(entries, allowed: Self.fileKeys, in: "a policy file")
        reader.requireKeys(entries, ["routes"], in: "a policy file", at: root)
        var defaults = Defaults()
        for entry in entries {
            switch entry.key {
            case "version":
                if let version = reader.int(entry.value, "`version`"), version != 1 {
                    reader.error("unsupported policy format version \(version)", at: entry.value, hint: "use `version: 1`")
                }
            case "defaults":
                defaults = decodeDefaults(entry.value)
            default:
                break
            }
        }
        guard let routesNode = entries.first(where: { $0.key == "routes" })?.value,
            let items = reader.sequence(routesNode, "`routes`")
        else { return [] }
        return items.compactMap { decodeRoute($0, defaults: defaults) }
    }

    private mutating func decodeDefaults(_ node: Node) -> Defaults {
        var defaults = Defaults()
        guard let entries = reader.mapping(node, "`defaults`") else { return defaults }
        reader.checkKeys(entries, allowed: Self.defaultsKeys, in: "`defaults`")
        for entry in entries {
            switch entry.key {
            case "issuers":
                defaults.issuers = decodeIssuers(entry.value)
            case "roles_claim":
                if let path = reader.claimPath(entry.value, "`roles_claim`") { defaults.rolesClaim = path }
            case "forward_headers":
                defaults.forwardHeaders = decodeForwardHeaders(entry.value)
            case "cors":
                defaults.cors = CORSDecoder().decode(entry.value, reader: &reader)
            case "rate_limit":
                defaults.rateLimit = RateLimitDecoder(environment: environment).decode(entry.value, reader: &reader)
            default:
                break
            }
        }
        // Identity headers last: `$roles` refers to the roles claim, wherever it is written in the mapping.
        if let value = entries.first(where: { $0.key == "identity_headers" })?.value {
            defaults.identityHeaders = IdentityHeaderDecoder(rolesClaim: defaults.rolesClaim)
                .decode(value, reader: &reader)
        }
        return defaults
    }

    private mutating func decodeRoute(_ node: Node, defaults: Defaults) -> Route? {
        let errorsBefore = reader.errorCount
        guard let entries = reader.mapping(node, "a route") else { return nil }
        reader.checkKeys(entries, allowed: Self.routeKeys, in: "a route")
        reader.requireKeys(entries, ["name", "match", "upstream"], in: "a route", at: node)
        func value(_ key: String) -> Node? { entries.first(where: { $0.key == key })?.value }

        let name = value("name").flatMap { decodeRouteName($0) }
        if let summary = value("description") { _ = reader.string(summary, "`description`") }
        let match = value("match").flatMap { decodeMatch($0) }
        let upstream = value("upstream").flatMap { decodeUpstream($0) }
        let isPublic = value("auth").map { decodeAuth($0) } ?? false
        var publicReason: String?
        if let node = value("public_reason") {
            if isPublic {
                publicReason = reader.string(node, "`public_reason`")
            } else if let keyNode = entries.first(where: { $0.key == "public_reason" })?.keyNode {
                reader.error(
                    "`public_reason` is only for a route with `auth: public`", at: keyNode,
                    hint: "remove it, or make the route public with `auth: public`")
            }
        }
        let forwards = value("forward_authorization").flatMap { reader.bool($0, "`forward_authorization`") }
        let forwardHeaders = value("forward_headers").map { decodeForwardHeaders($0) } ?? defaults.forwardHeaders
        let cors = value("cors").map { CORSDecoder().decode($0, reader: &reader) } ?? defaults.cors
        let rateLimit = value("rate_limit").map { RateLimitDecoder(environment: environment).decode($0, reader: &reader) }
            ?? defaults.rateLimit
        if isPublic, let rule = rateLimit?.rule, rule.key.isClaim {
            let at = entries.first(where: { $0.key == "rate_limit" })?.value ?? node
            reader.error(
                "a public route has no verified token to count `key: \(rule.key.rawValue)` on", at: at,
                hint: "count a public route by `client_address` or `route`, or give it its own `rate_limit`")
        }

        var issuers = defaults.issuers
        var requirement: Requirement?
        var identityHeaders = defaults.identityHeaders ?? IdentityHeaderRule.defaults(rolesClaim: defaults.rolesClaim)
        if isPublic {
            for key in ["issuers", "require", "identity_headers"] {
                guard let node = entries.first(where: { $0.key == key })?.keyNode else { continue }
                reader.error(
                    "a public route cannot have `\(key)`", at: node,
                    hint: "remove `auth: public` to require a token, or remove `\(key)`")
            }
        } else {
            if let node = value("issuers") { issuers = decodeIssuers(node) }
            if let node = value("require") {
                requirement = RequirementDecoder(rolesClaim: defaults.rolesClaim).decode(node, reader: &reader)
            }
            if let node = value("identity_headers") {
                identityHeaders = IdentityHeaderDecoder(rolesClaim: defaults.rolesClaim)
                    .decode(node, reader: &reader) ?? []
            }
        }
        guard reader.errorCount == errorsBefore, let name, let match, let upstream else { return nil }
        return Route(
            name: name, methods: match.methods, host: match.host, pattern: match.pattern, upstream: upstream,
            access: isPublic ? .public : .token(issuers: issuers, requirement: requirement),
            identityHeaders: isPublic ? [] : identityHeaders, forwardsAuthorization: forwards ?? false,
            forwardHeaders: forwardHeaders, publicReason: publicReason, cors: cors,
            rateLimit: rateLimit.map { $0.named ? $0.rule : $0.rule.named(name) }, location: reader.location(node))
    }

    /// Headers the gateway manages itself, which a `forward_headers` list cannot name.
    static let gatewayManagedHeaders: [String: String] = [
        "host": "the gateway sends the Host it validated and routed on",
        "content-length": "the gateway frames the body itself",
        "authorization": "use `forward_authorization: true` on the route",
    ]

    /// `forward_headers: [Content-Type, Accept, ...]`: header names, each one the gateway may forward.
    private mutating func decodeForwardHeaders(_ node: Node) -> [String]? {
        // `[]`: no client header at all (the gateway's own still go).
        guard let names = reader.strings(node, "`forward_headers`", allowEmpty: true) else { return nil }
        var result: [String] = []
        for (name, item) in names {
            if !HTTPSyntax.isPlainHeaderName(name) {
                reader.error(
                    "`\(name)` is not a header name `forward_headers` can list", at: item,
                    hint: "use letters, digits and `-` (`_` and `.` are refused: some servers treat them as `-`)")
            } else if let why = Self.gatewayManagedHeaders[name.lowercased()] {
                reader.error("`\(name)` cannot be in `forward_headers`", at: item, hint: why)
            } else if ClientHeaderDenylist.covers(name) {
                reader.error(
                    "`\(name)` is never forwarded: the gateway strips it from every request", at: item,
                    hint: "it asserts an identity, a client address, a URL or a method that upstreams trust; "
                        + "the gateway sets what it vouches for itself (docs/HEADER-DENYLIST.md)")
            } else if result.contains(where: { $0.lowercased() == name.lowercased() }) {
                reader.error("`\(name)` is listed twice in `forward_headers`", at: item)
            } else {
                result.append(name)
            }
        }
        return result
    }

    private mutating func decodeRouteName(_ node: Node) -> String? {
        guard let name = reader.string(node, "a route name") else { return nil }
        let allowed = name.unicodeScalars.allSatisfy {
            $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_.".unicodeScalars.contains($0))
        }
        guard !name.isEmpty, name.count <= 100, allowed else {
            reader.error(
                "route name `\(name)` is not valid", at: node,
                hint: "use letters, digits, `-`, `_` and `.` (it becomes a metric label)")
            return nil
        }
        return name
    }

    private mutating func decodeMatch(_ node: Node) -> (methods: HTTPMethodSet, pattern: PathPattern, host: String?)? {
        guard let entries = reader.mapping(node, "`match`") else { return nil }
        reader.checkKeys(entries, allowed: Self.matchKeys, in: "`match`")
        reader.requireKeys(entries, ["methods", "path"], in: "`match`", at: node)
        var methods = HTTPMethodSet()
        var pattern: PathPattern?
        var host: String?
        var failed = false
        for entry in entries {
            switch entry.key {
            case "methods":
                guard let set = reader.methods(entry.value, "`methods`") else {
                    failed = true
                    continue
                }
                methods = set
            case "path":
                guard let text = reader.string(entry.value, "`path`") else {
                    failed = true
                    continue
                }
                switch PathPattern.parse(text) {
                case .success(let parsed): pattern = parsed
                case .failure(let problem):
                    failed = true
                    reader.error("invalid path pattern `\(text)`: \(problem.message)", at: entry.value, hint: problem.hint)
                }
            case "host":
                host = decodeHost(entry.value)
                if host == nil { failed = true }
            default:
                break
            }
        }
        guard !failed, let pattern, !methods.isEmpty else { return nil }
        return (methods, pattern, host)
    }

    private mutating func decodeHost(_ node: Node) -> String? {
        guard let host = reader.string(node, "`host`") else { return nil }
        let isName = !host.isEmpty && host.unicodeScalars.allSatisfy {
            $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-" || $0 == ".")
        } && !host.hasPrefix(".") && !host.hasSuffix(".") && !host.contains("..")
        let isIPv6 = host.hasPrefix("[") && host.hasSuffix("]") && host.count > 2
            && host.dropFirst().dropLast().unicodeScalars.allSatisfy {
                $0.isASCII && ($0.properties.isASCIIHexDigit || $0 == ":" || $0 == ".")
            }
        guard isName || isIPv6 else {
            reader.error(
                "`\(host)` is not a host name", at: node,
                hint: "write the name only, as in `api.example.com`: no scheme, port, path or wildcard")
            return nil
        }
        return host
    }

    private mutating func decodeUpstream(_ node: Node) -> String? {
        guard let upstream = reader.string(node, "`upstream`") else { return nil }
        if upstream.isEmpty {
            reader.error("`upstream` is empty", at: node)
            return nil
        }
        if let known = environment.upstreams, !known.contains(upstream) {
            let hint = Suggestion.hint(for: upstream, among: known.sorted())
                ?? "the gateway configuration defines no upstreams"
            reader.error("unknown upstream `\(upstream)`", at: node, hint: hint)
            return nil
        }
        return upstream
    }

    /// `public` → true, `token` → false.
    private mutating func decodeAuth(_ node: Node) -> Bool {
        guard let auth = reader.string(node, "`auth`") else { return false }
        switch auth {
        case "public": return true
        case "token": return false
        default:
            reader.error("unknown `auth` value `\(auth)`", at: node, hint: Suggestion.hint(for: auth, among: ["public", "token"]))
            return false
        }
    }

    private mutating func decodeIssuers(_ node: Node) -> [String]? {
        guard let issuers = reader.strings(node, "`issuers`") else { return nil }
        var result: [String] = []
        for (issuer, item) in issuers {
            if issuer.isEmpty {
                reader.error("an issuer is empty", at: item)
            } else if let known = environment.issuers, !known.contains(issuer) {
                let hint = Suggestion.hint(for: issuer, among: known.sorted())
                    ?? "the gateway configuration defines no issuers"
                reader.error("unknown issuer `\(issuer)`", at: item, hint: hint)
            } else {
                result.append(issuer)
            }
        }
        return result
    }
}

extension YAMLReader {
    /// A list of HTTP method names (`match.methods`, `cors.methods`), each known and upper-case; an unknown
    /// one is an error at its line with a hint (case, CONNECT/TRACE, the nearest name).
    mutating func methods(_ node: Node, _ what: String) -> HTTPMethodSet? {
        guard let names = strings(node, what) else { return nil }
        var methods = HTTPMethodSet()
        var failed = false
        for (name, item) in names {
            if let method = HTTPMethodSet(name: name) {
                methods.formUnion(method)
                continue
            }
            failed = true
            let upper = name.uppercased()
            let hint: String?
            if HTTPMethodSet(name: upper) != nil {
                hint = "method names are case-sensitive: write `\(upper)`"
            } else if ["CONNECT", "TRACE"].contains(upper) {
                hint = "the gateway never forwards CONNECT or TRACE"
            } else {
                hint = Suggestion.hint(for: name, among: HTTPMethodSet.names)
            }
            error("unknown HTTP method `\(name)`", at: item, hint: hint)
        }
        return failed ? nil : methods
    }
}
