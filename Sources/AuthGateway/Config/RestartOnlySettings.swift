/// The settings a reload does not apply: the sockets the gateway listens on, the per-connection limits its
/// listeners were set up with, and its logging. A reload that changes one of them applies everything else and
/// says which stay as they were.
package enum RestartOnlySettings {
    /// The limits each listener's connections are built with when the gateway starts: name, and whether two
    /// configurations agree on it.
    static var connectionLimits: [(String, (GatewayConfiguration.Limits, GatewayConfiguration.Limits) -> Bool)] {
        [
            same("max_header_bytes", \.maxHeaderBytes), same("max_header_count", \.maxHeaderCount),
            same("max_uri_bytes", \.maxURIBytes), same("header_read_timeout", \.headerReadTimeout),
            same("idle_timeout", \.idleTimeout), same("tls_handshake_timeout", \.tlsHandshakeTimeout),
            same("max_connections", \.maxConnections), same("http2_max_concurrent_streams", \.http2MaxConcurrentStreams),
            same("http2_max_resets", \.http2MaxResets), same("http2_max_stream_errors", \.http2MaxStreamErrors),
            same("http2_max_control_frames", \.http2MaxControlFrames),
            same("http2_max_continuation_frames", \.http2MaxContinuationFrames), same("http2_rate_window", \.http2RateWindow),
        ]
    }

    private static func same<Value: Equatable>(
        _ name: String, _ path: KeyPath<GatewayConfiguration.Limits, Value>
    ) -> (String, (GatewayConfiguration.Limits, GatewayConfiguration.Limits) -> Bool) {
        (name, { $0[keyPath: path] == $1[keyPath: path] })
    }

    /// The configuration keys (`listeners[0].port`, `admin.address`, `logging.level`, ...) whose values differ.
    package static func changed(from running: GatewayConfiguration, to loaded: GatewayConfiguration) -> [String] {
        var keys: [String] = []
        if running.listeners.count != loaded.listeners.count {
            keys.append("listeners (\(running.listeners.count) → \(loaded.listeners.count))")
        }
        for (index, (old, new)) in zip(running.listeners, loaded.listeners).enumerated() {
            if old.address != new.address { keys.append("listeners[\(index)].address") }
            if old.port != new.port { keys.append("listeners[\(index)].port") }
            if old.http2 != new.http2 { keys.append("listeners[\(index)].http2") }
            // A connection keeps the mode its listener had when it was accepted; decision settings with it.
            if old.mode != new.mode { keys.append("listeners[\(index)].mode") }
        }
        for (name, agree) in connectionLimits where !agree(running.limits, loaded.limits) {
            keys.append("limits.\(name)")
        }
        switch (running.admin, loaded.admin) {
        case (nil, nil): break
        case (let old?, let new?):
            if old.address != new.address { keys.append("admin.address") }
            if old.port != new.port { keys.append("admin.port") }
        default: keys.append("admin")
        }
        let (old, new) = (running.logging, loaded.logging)
        if old.level != new.level { keys.append("logging.level") }
        if old.format != new.format { keys.append("logging.format") }
        if old.accessLog != new.accessLog { keys.append("logging.access_log") }
        if old.maxPendingBytes != new.maxPendingBytes { keys.append("logging.max_pending") }
        if running.tokenCache.maxEntries != loaded.tokenCache.maxEntries { keys.append("token_cache.max_entries") }
        return keys
    }
}
