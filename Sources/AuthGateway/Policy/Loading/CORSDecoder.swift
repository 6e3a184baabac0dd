import Yams

/// `cors:` on a route or in a file's `defaults`:
///
///     cors:
///       origins: [https://app.example.com]      # exact origins, or ["*"] (never with credentials)
///       methods: [GET, POST]                    # optional; default: the route's methods
///       headers: [Authorization, Content-Type]  # request headers a preflight may ask for
///       expose_headers: [X-Request-Id]          # optional
///       credentials: true                       # optional, default false
///       max_age_seconds: 600                    # optional: how long a browser may cache the preflight
struct CORSDecoder {
    static let keys = ["origins", "methods", "headers", "expose_headers", "credentials", "max_age_seconds"]

    func decode(_ node: Node, reader: inout YAMLReader) -> CORSRule? {
        let errorsBefore = reader.errorCount
        guard let entries = reader.mapping(node, "`cors`") else { return nil }
        reader.checkKeys(entries, allowed: Self.keys, in: "`cors`")
        reader.requireKeys(entries, ["origins"], in: "`cors`", at: node)
        func value(_ key: String) -> Node? { entries.first(where: { $0.key == key })?.value }
        var origins: [String] = []
        for (origin, item) in value("origins").flatMap({ reader.strings($0, "`origins`") }) ?? [] {
            if let problem = Self.problem(with: origin) {
                reader.error("`\(origin)` is not an origin `cors` can allow: \(problem)", at: item,
                             hint: "write the origin as a browser sends it: scheme, host and port only, e.g. `https://app.example.com`")
            }
            origins.append(origin)
        }
        let methods = value("methods").flatMap { reader.methods($0, "`methods`") }
        let headers = tokens(value("headers"), "`headers`", reader: &reader)
        let expose = tokens(value("expose_headers"), "`expose_headers`", reader: &reader)
        let credentials = value("credentials").flatMap { reader.bool($0, "`credentials`") } ?? false
        var maxAge: Int?
        if let node = value("max_age_seconds") {
            maxAge = reader.int(node, "`max_age_seconds`")
            if let seconds = maxAge, !(0...86_400).contains(seconds) {
                reader.error("`max_age_seconds` must be between 0 and 86400", at: node, hint: "browsers cap it at a day or less anyway")
            }
        }
        if credentials, origins.contains("*"), let node = value("origins") {
            reader.error(
                "`origins: [\"*\"]` cannot go with `credentials: true`", at: node,
                hint: "browsers refuse a wildcard with credentials, and any site could act with a user's cookies: list the origins")
        }
        guard reader.errorCount == errorsBefore else { return nil }
        return CORSRule(
            origins: origins, methods: methods, headers: headers, exposeHeaders: expose, credentials: credentials,
            maxAgeSeconds: maxAge)
    }

    private func tokens(_ node: Node?, _ what: String, reader: inout YAMLReader) -> [String] {
        guard let node else { return [] }
        var result: [String] = []
        for (name, item) in reader.strings(node, what) ?? [] {
            if HTTPSyntax.isToken(name) { result.append(name) } else {
                reader.error("`\(name)` in \(what) is not a header name", at: item)
            }
        }
        return result
    }

    /// Why `origin` is not `*` or `scheme://host[:port]` with scheme http or https; `nil` when it is.
    static func problem(with origin: String) -> String? {
        if origin == "*" { return nil }
        let parts = origin.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "https:" || parts[0] == "http:", parts[1].isEmpty else {
            return parts.count > 3 ? "it has a path" : "it does not start with `https://` or `http://`"
        }
        let authority = parts[2]
        guard !authority.isEmpty else { return "it has no host" }
        guard !authority.contains("*") else { return "wildcards are not allowed; list each origin" }
        guard !authority.contains("@") else { return "it has user information" }
        let allowed = authority.unicodeScalars.allSatisfy {
            ($0.properties.isASCIIHexDigit || ("a"..."z").contains($0) || ("A"..."Z").contains($0)
                || ("0"..."9").contains($0) || ".-:[]".unicodeScalars.contains($0))
        }
        return allowed ? nil : "the host holds a character a host cannot"
    }
}
