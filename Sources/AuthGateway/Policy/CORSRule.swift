/// A route's CORS rule (`cors:`): which browser origins may call it, with which methods and headers.
///
/// Pure: the gateway asks it what to answer to a preflight and which headers an actual response carries.
/// Origins compare exactly (scheme, host and port, as browsers send them); `*` is refused together with
/// credentials when the policy loads.
package struct CORSRule: Sendable, Equatable {
    /// Exact origins, lower-cased (`https://app.example.com`, `http://localhost:3000`).
    package let origins: Set<String>
    /// `origins: ["*"]`: any origin (never with credentials).
    package let anyOrigin: Bool
    /// Methods a preflight may ask for; `nil` for the route's own.
    package let methods: HTTPMethodSet?
    /// Request headers a preflight may ask for, lower-cased.
    package let headers: Set<String>
    /// Response headers the browser may show the page (`Access-Control-Expose-Headers`).
    package let exposeHeaders: [String]
    package let credentials: Bool
    package let maxAgeSeconds: Int?

    package init(
        origins: [String], methods: HTTPMethodSet? = nil, headers: [String] = [], exposeHeaders: [String] = [],
        credentials: Bool = false, maxAgeSeconds: Int? = nil
    ) {
        anyOrigin = origins.contains("*")
        self.origins = Set(origins.filter { $0 != "*" }.map { $0.lowercased() })
        self.methods = methods
        self.headers = Set(headers.map { $0.lowercased() })
        self.exposeHeaders = exposeHeaders
        self.credentials = credentials
        self.maxAgeSeconds = maxAgeSeconds
    }

    package func allows(origin: String) -> Bool {
        anyOrigin || origins.contains(origin.lowercased())
    }

    /// The headers of a `204` answer to a preflight from `origin` asking for `method` and `requestHeaders`
    /// (the `Access-Control-Request-Headers` list) on a route that takes `routeMethods`; `nil` when this rule
    /// does not allow it (the request is then an ordinary `OPTIONS`).
    package func preflight(
        origin: String, method: String, requestHeaders: [String], routeMethods: HTTPMethodSet
    ) -> [(String, String)]? {
        guard allows(origin: origin), let asked = HTTPMethodSet(name: method) else { return nil }
        let allowed = methods ?? routeMethods
        guard allowed.contains(asked) else { return nil }
        let names = requestHeaders.map { $0.lowercased() }
        guard names.allSatisfy({ headers.contains($0) }) else { return nil }
        var result = allowOrigin(origin)
        result.append(("access-control-allow-methods", allowed.methodNames.joined(separator: ", ")))
        if !headers.isEmpty { result.append(("access-control-allow-headers", headers.sorted().joined(separator: ", "))) }
        if let maxAgeSeconds { result.append(("access-control-max-age", String(maxAgeSeconds))) }
        result.append(("vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"))
        return result
    }

    /// The CORS headers of an actual response to a request from `origin` (none of the upstream's own are
    /// kept): the allow headers when the origin is allowed, and always `Vary: Origin`.
    package func responseHeaders(origin: String?) -> [(String, String)] {
        guard let origin, allows(origin: origin) else { return [("vary", "Origin")] }
        var result = allowOrigin(origin)
        if !exposeHeaders.isEmpty { result.append(("access-control-expose-headers", exposeHeaders.joined(separator: ", "))) }
        result.append(("vary", "Origin"))
        return result
    }

    private func allowOrigin(_ origin: String) -> [(String, String)] {
        // Echo the origin (never `*` with credentials, which the loader refuses anyway).
        var result = [("access-control-allow-origin", anyOrigin && !credentials ? "*" : origin)]
        if credentials { result.append(("access-control-allow-credentials", "true")) }
        return result
    }
}
