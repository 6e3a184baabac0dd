// Fuzz target `config`: bytes → GatewayConfigurationLoader.load(text:path:) (YAML → GatewayConfiguration).
//
// Invariants: a configuration or at least one error diagnostic, each naming the file and a line/column in
// the text; loading is deterministic; an accepted configuration only holds values the server can use
// without trapping: ports in range, durations positive and small enough for NIO's TimeAmount in
// nanoseconds, sizes and counts positive and within UInt32 (HTTP/2 settings), absolute file paths, header
// names that are tokens and a realm that is safe in a quoted `WWW-Authenticate` parameter.

@testable import GatewayConfig

private let path = "/fuzz/etc/gateway.yaml"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let text = String(validating: fuzzInput(data, size), as: UTF8.self) else { return 0 }
    let lineCount = yamlLineCount(text)

    let first = load(text)
    let second = load(text)
    switch (first, second) {
    case (.success(let configuration), .success(let again)):
        invariant(describe(configuration) == describe(again), "loading is not deterministic")
        check(configuration)
    case (.failure(let error), .failure(let again)):
        invariant(error.diagnostics == again.diagnostics, "loading reports different diagnostics each time")
        invariant(
            error.diagnostics.contains { $0.severity == .error }, "a refused configuration has no error diagnostic")
        for diagnostic in error.diagnostics {
            invariant(diagnostic.location.file == path, "a diagnostic names another file")
            invariant(
                diagnostic.location.line >= 1 && diagnostic.location.line <= lineCount + 1,
                "a diagnostic's line is outside the text")
            invariant(diagnostic.location.column >= 1, "a diagnostic has no column")
        }
    default:
        invariant(false, "loading the same text once succeeds and once fails")
    }
    return 0
}

private func load(_ text: String) -> Result<GatewayConfiguration, GatewayConfigurationLoadError> {
    Result { () throws(GatewayConfigurationLoadError) in try GatewayConfigurationLoader.load(text: text, path: path) }
}

private func describe(_ configuration: GatewayConfiguration) -> String {
    "\(configuration.listeners.count) \(configuration.issuers.map(\.issuer)) \(configuration.upstreams.keys.sorted())"
        + " \(configuration.policyDirectory) \(configuration.limits) \(configuration.identity.realm)"
}

private func check(_ configuration: GatewayConfiguration) {
    for listener in configuration.listeners {
        invariant((0...65535).contains(listener.port), "listener port \(listener.port)")
        invariant(!listener.address.isEmpty, "a listener without an address")
        checkFile(listener.tls.certificateChainFile)
        checkFile(listener.tls.privateKeyFile)
    }
    if let admin = configuration.admin {
        invariant((0...65535).contains(admin.port), "admin port \(admin.port)")
    }
    checkFile(configuration.policyDirectory)
    for issuer in configuration.issuers {
        invariant(!issuer.issuer.isEmpty, "an issuer without a name")
        invariant(!issuer.keys.isEmpty || issuer.remoteKeys != nil, "issuer \(issuer.issuer) has no key source")
        for key in issuer.keys { checkFile(key.file) }
        checkDuration(issuer.leeway, "leeway", allowZero: true)
        if let maxLifetime = issuer.maxLifetime { checkDuration(maxLifetime, "max_lifetime") }
        if let remote = issuer.remoteKeys {
            invariant(Array(remote.url.utf8).allSatisfy { $0 > 0x20 && $0 < 0x7F }, "a JWKS URL with unsafe bytes")
            for (value, name) in [
                (remote.fetchTimeout, "fetch_timeout"), (remote.minRefresh, "min_refresh"),
                (remote.maxRefresh, "max_refresh"), (remote.maxStale, "max_stale"),
                (remote.unknownKeyCooldown, "unknown_kid_cooldown"),
            ] {
                checkDuration(value, "jwks \(name)")
            }
            if let caFile = remote.caFile { checkFile(caFile) }
        }
    }
    for (name, upstream) in configuration.upstreams {
        invariant(!name.isEmpty, "an upstream without a name")
        invariant(!upstream.targets.isEmpty, "upstream \(name) has no targets")
        for target in upstream.targets {
            invariant((1...65535).contains(target.port), "upstream target port \(target.port)")
            invariant(!target.host.isEmpty, "an upstream target without a host")
            invariant(GatewayConfiguration.Target(url: target.description) == target, "a target does not round-trip")
        }
        checkDuration(upstream.connectTimeout, "connect_timeout")
        checkDuration(upstream.responseTimeout, "response_timeout")
        checkDuration(upstream.idleTimeout, "idle_timeout")
        checkDuration(upstream.unhealthyCooldown, "unhealthy_cooldown", allowZero: true)
        checkCount(upstream.maxConnections, "max_connections")
    }
    let limits = configuration.limits
    for (value, name) in [
        (limits.maxHeaderBytes, "max_header_bytes"), (limits.maxHeaderCount, "max_header_count"),
        (limits.maxURIBytes, "max_uri_bytes"), (limits.maxConnections, "max_connections"),
        (limits.http2MaxConcurrentStreams, "http2_max_concurrent_streams"),
    ] {
        checkCount(value, name)
    }
    invariant(limits.maxBodyBytes >= 0, "max_body_bytes \(limits.maxBodyBytes)")
    for (value, name) in [
        (limits.headerReadTimeout, "header_read_timeout"), (limits.idleTimeout, "idle_timeout"),
        (limits.bodyReadTimeout, "body_read_timeout"), (limits.drainTimeout, "drain_timeout"),
    ] {
        checkDuration(value, name)
    }
    let identity = configuration.identity
    for name in identity.stripHeaders + identity.stripPrefixes {
        invariant(!name.isEmpty && name.utf8.allSatisfy(isTokenByte), "a strip header name is not a token")
    }
    invariant(
        identity.realm.utf8.allSatisfy {
            $0 >= 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\")
        },
        "the realm cannot be written in a quoted-string")
    invariant(
        configuration.tokenCache.maxEntries >= 0, "token cache max_entries \(configuration.tokenCache.maxEntries)")
}

private func checkFile(_ file: String) {
    invariant(file.hasPrefix("/"), "a file path was not resolved to an absolute path")
    invariant(!file.utf8.contains(0), "a file path holds NUL")
}

/// Durations become `TimeAmount.milliseconds(Int64(seconds * 1000))`, which traps beyond ~292 years.
private func checkDuration(_ duration: Duration, _ name: String, allowZero: Bool = false) {
    invariant(allowZero ? duration >= .zero : duration > .zero, "\(name) is \(duration)")
    invariant(duration.components.seconds < 9_000_000_000, "\(name) overflows TimeAmount's nanoseconds")
}

private func checkCount(_ value: Int, _ name: String) {
    invariant(value > 0 && value <= Int(UInt32.max), "\(name) is \(value)")
}

private func isTokenByte(_ byte: UInt8) -> Bool {
    switch byte {
    case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
    default: return Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
    }
}
