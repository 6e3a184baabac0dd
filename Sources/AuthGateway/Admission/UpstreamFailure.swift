/// Why an upstream exchange failed, mapped to 502/503/504 by ``GatewayResponse``.
package enum UpstreamFailure: Error, Equatable, CaseIterable {
    /// No target accepted a connection (each was tried, or skipped while unhealthy).
    case connectFailed
    /// The connection closed or reset before the response was complete.
    case reset
    /// The upstream sent something that is not HTTP/1.1.
    case protocolError
    /// No response head within the response timeout, or the upstream took none of the request body for
    /// `body_read_timeout`.
    case timeout
    /// No upstream or target to send the request to.
    case unavailable
    /// The target's connections are all in use (or the client's share of them is) and none came free
    /// within the connect timeout, or the queue for one is full.
    case saturated

    /// The label for metrics and the access log.
    package var label: String {
        switch self {
        case .connectFailed: return "connect_failed"
        case .reset: return "reset"
        case .protocolError: return "protocol_error"
        case .timeout: return "timeout"
        case .unavailable: return "unavailable"
        case .saturated: return "saturated"
        }
    }
}
