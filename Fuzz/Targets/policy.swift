// Fuzz target `policy`: bytes → PolicyLoader (YAML text → Policy), then routing, authorization, lint and
// explain on whatever loaded.
//
// Invariants: the loader returns a policy or at least one error diagnostic, every diagnostic names the
// file and a line/column inside the text; loading is deterministic; every path a route's pattern matches
// (the linter's witness paths) is routed somewhere (default deny never swallows a route), and a route that
// is returned accepts the method and host; authorization never traps, a public route allows without a
// token, a token route never allows without one; identity headers of an allowed request are header-safe.

import JOSE

@testable import GatewayPolicy
@testable import GatewayTooling

private let file = "fuzz.yaml"
private let environment = PolicyEnvironment(
    upstreams: ["service-a", "service-b"], issuers: ["https://idp.example.com", "joe"])

/// Claim sets for authorization: none, a typical token, and one whose values try to break header lines.
private let claimSets: [[String: JSONValue]?] = [
    nil,
    [
        "iss": "https://idp.example.com", "sub": "alice", "scope": "read:data read:info write:data",
        "roles": ["admin", "user"], "realm_access": ["roles": ["admin"]], "email": "alice@example.com",
    ],
    [
        "iss": "joe", "sub": "eve\r\nX-User-Id: admin\u{0}", "scope": "read:data\nadmin",
        "roles": ["a,b", "c\r\nd", 7, ["x"]], "realm_access": ["roles": "admin"], "tenant": 1e300, "group": -0.0,
    ],
]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    // The loader reads files as UTF-8 and refuses anything else before parsing.
    guard let text = String(validating: fuzzInput(data, size), as: UTF8.self) else { return 0 }
    let lineCount = yamlLineCount(text)

    let first = load(text)
    let second = load(text)
    switch (first, second) {
    case (.success(let policy), .success(let again)):
        invariant(policy.routes.map(\.description) == again.routes.map(\.description), "loading is not deterministic")
        exercise(policy)
    case (.failure(let error), .failure(let again)):
        invariant(error.diagnostics == again.diagnostics, "loading reports different diagnostics each time")
        invariant(error.diagnostics.contains { $0.severity == .error }, "a refused policy has no error diagnostic")
        for diagnostic in error.diagnostics {
            let location = diagnostic.location
            invariant(location.file == file, "a diagnostic names another file")
            invariant(location.line >= 1 && location.line <= lineCount + 1, "a diagnostic's line is outside the text")
            invariant(location.column >= 1, "a diagnostic has no column")
            invariant(!diagnostic.message.isEmpty, "a diagnostic has no message")
        }
    default:
        invariant(false, "loading the same text once succeeds and once fails")
    }
    return 0
}

private func load(_ text: String) -> Result<Policy, PolicyLoadError> {
    Result { () throws(PolicyLoadError) in
        try PolicyLoader.load(sources: [PolicySource(path: file, text: text)], environment: environment)
    }
}

private func exercise(_ policy: Policy) {
    _ = PolicyLinter.lint(policy)
    for route in policy.routes.prefix(64) {
        guard
            let method = HTTPMethodSet.names.first(where: {
                HTTPMethodSet(name: $0).map(route.methods.contains) ?? false
            })
        else {
            invariant(false, "route \(route.name) accepts no method")
            continue
        }
        for path in PolicyLinter.witnessPaths(for: route.pattern) {
            guard case .success(let canonical) = CanonicalPath.canonicalize(path), canonical.path == path else {
                continue  // a witness with a filler the canonical form rewrites; not a request path
            }
            guard let found = policy.route(method: method, host: route.host, path: path) else {
                invariant(false, "a path that route \(route.name) matches is routed nowhere")
                continue
            }
            invariant(
                found.methods.contains(HTTPMethodSet(name: method) ?? []), "a route was chosen for a method it refuses")
            if let host = found.host {
                invariant(
                    route.host.map { HostName.normalize($0) == host } ?? false, "a host route matched another host")
            }
            for claims in claimSets {
                check(policy.authorize(found, claims: claims), route: found, claims: claims)
            }
            _ = PolicyExplainer.explain(policy, method: method, host: route.host, target: path, claims: claimSets[1])
        }
    }
    for path in ["/", "/admin/x", "/api/data/42", "/healthz", "/%7Euser/a/", "/a/b/c/d/e/f/g/h"] {
        for method in ["GET", "POST", "get", "TRACE"] {
            for claims in claimSets {
                let decision = policy.decide(method: method, host: "api.example.com:8443", path: path, claims: claims)
                if case .allow(let route, _) = decision {
                    invariant(
                        HTTPMethodSet(name: method).map(route.methods.contains) ?? false, "allowed a refused method")
                }
                if case .allow(let route, let headers) = decision {
                    check(.allow(route: route, identityHeaders: headers), route: route, claims: claims)
                }
            }
        }
    }
}

private func check(_ decision: Decision, route: Route, claims: [String: JSONValue]?) {
    switch decision {
    case .allow(_, let headers):
        if claims == nil { invariant(route.isPublic, "a token route allowed a request without a token") }
        if route.isPublic { invariant(headers.isEmpty, "a public route sends identity headers") }
        for header in headers {
            invariant(
                !header.name.isEmpty && header.name.utf8.allSatisfy(isTokenByte),
                "an identity header name is not a token")
            invariant(
                header.value.utf8.allSatisfy { $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7F) },
                "an identity header value holds a control byte")
        }
    case .deny(let denial):
        invariant(!route.isPublic, "a public route denied a request")
        invariant([401, 403].contains(denial.status), "a route denied with status \(denial.status)")
    }
}

private func isTokenByte(_ byte: UInt8) -> Bool {
    switch byte {
    case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
    default: return Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
    }
}
