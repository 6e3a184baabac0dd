/// Joins the routes of all files into one ``Policy``: route names must be unique, and no two routes may
/// claim the same (host, pattern, method).
enum PolicyCompiler {
    static func compile(_ routes: [Route]) -> (policy: Policy, diagnostics: [PolicyDiagnostic]) {
        var diagnostics: [PolicyDiagnostic] = []
        var byName: [String: Route] = [:]
        var builder = RouteTrieBuilder()
        for (index, route) in routes.enumerated() {
            if let first = byName[route.name] {
                diagnostics.append(PolicyDiagnostic(
                    .error, at: route.location, "route name `\(route.name)` is already used by the route at \(first.location)",
                    hint: "route names are unique across all policy files; rename one of them"))
            } else {
                byName[route.name] = route
            }
            let conflicts = builder.insert(route: index, host: route.host, pattern: route.pattern, methods: route.methods)
            for conflict in conflicts {
                let other = routes[conflict.existingRoute]
                let host = route.host.map { " on host \($0)" } ?? ""
                diagnostics.append(PolicyDiagnostic(
                    .error, at: route.location,
                    "route `\(route.name)` overlaps route `\(other.name)` (\(other.location)): "
                        + "both match \(conflict.methods) \(route.pattern.shape)\(host)",
                    hint: "a request can go to one route only: change the methods, path or host of one of them, "
                        + "or merge them"))
            }
        }
        return (Policy(routes: routes, trie: builder.build()), diagnostics)
    }
}
