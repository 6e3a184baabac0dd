import Yams
import GatewayPolicy

/// `mode: decision` and its settings on a listener (docs/CONFIGURATION.md, "Decision mode").
extension GatewayConfigurationDecoder {
    enum ListenerModeName: String, CaseIterable {
        case proxy, decision
    }

    /// The decision settings of a listener as read so far.
    struct DecisionDraft {
        var decisionProtocol: DecisionListener.DecisionProtocol?
        var trustedPeers: [PeerAddressRange]?
        var headers: HeadersDraft?
        var pathPrefix: String?
    }

    struct HeadersDraft {
        var method: String?
        var uri: String?
        var host: String?
        var proto: String?
    }

    /// The listener keys that only a decision listener may have.
    static let decisionKeys = ["protocol", "trusted_peers", "original_request", "path_prefix"]

    static var decisionFields: [ConfigurationField<ListenerDraft>] {
        [
            .optional("protocol", \.decision.decisionProtocol) { $0.choice($1, $2, noun: "decision protocol") },
            .optional("trusted_peers", \.decision.trustedPeers) { $0.peerRanges($1, $2) },
            .optional("original_request", \.decision.headers) { decoder, node, _ in
                decoder.decodeOriginalRequest(node)
            },
            .optional("path_prefix", \.decision.pathPrefix) { $0.pathPrefix($1, $2) },
        ]
    }

    static var originalRequestFields: [ConfigurationField<HeadersDraft>] {
        [
            .optional("method", \.method) { $0.headerName($1, $2) },
            .optional("uri", \.uri) { $0.headerName($1, $2) },
            .optional("host", \.host) { $0.headerName($1, $2) },
            .optional("proto", \.proto) { $0.headerName($1, $2) },
        ]
    }

    /// The listener's mode; `nil` (with errors) when decision keys and the mode disagree.
    mutating func listenerMode(_ draft: ListenerDraft, _ entries: [YAMLReader.Entry], at node: Node) -> ListenerMode? {
        let decisionEntries = entries.filter { Self.decisionKeys.contains($0.key) }
        guard draft.mode == .decision else {
            for entry in decisionEntries {
                reader.error(
                    "`\(entry.key)` belongs to a decision listener", at: entry.value,
                    hint: "add `mode: decision`, or remove the key")
            }
            return decisionEntries.isEmpty ? .proxy : nil
        }
        reader.requireKeys(entries, ["protocol", "trusted_peers"], in: "a decision listener", at: node)
        guard let decisionProtocol = draft.decision.decisionProtocol, let peers = draft.decision.trustedPeers
        else { return nil }
        let prefixEntry = entries.first { $0.key == "path_prefix" }
        if let prefixEntry, decisionProtocol != .envoyExtAuthzHTTP {
            reader.error("`path_prefix` is for `protocol: envoy_ext_authz_http`", at: prefixEntry.value)
            return nil
        }
        let headers = originalRequestHeaders(decisionProtocol, draft.decision.headers, entries)
        if !decisionProtocol.isEnvoy, headers == nil { return nil }
        return .decision(DecisionListener(
            protocol: decisionProtocol, trustedPeers: peers, headers: headers,
            pathPrefix: draft.decision.pathPrefix ?? ""))
    }

    /// The protocol's default header names with the configured ones in their place.
    private mutating func originalRequestHeaders(
        _ decisionProtocol: DecisionListener.DecisionProtocol, _ draft: HeadersDraft?, _ entries: [YAMLReader.Entry]
    ) -> DecisionListener.OriginalRequestHeaders? {
        guard var headers = DecisionListener.defaultHeaders(decisionProtocol) else {
            if let entry = entries.first(where: { $0.key == "original_request" }) {
                reader.error(
                    "`original_request` does not apply to `protocol: \(decisionProtocol.rawValue)`", at: entry.value,
                    hint: "Envoy sends the original method, path and host as the request itself")
            }
            return nil
        }
        if let draft {
            headers.method = draft.method ?? headers.method
            headers.uri = draft.uri ?? headers.uri
            headers.host = draft.host ?? headers.host
            headers.proto = draft.proto ?? headers.proto
        }
        return headers
    }

    mutating func decodeOriginalRequest(_ node: Node) -> HeadersDraft? {
        var draft = HeadersDraft()
        guard decodeSection(node, "`original_request`", into: &draft, Self.originalRequestFields) != nil
        else { return nil }
        return draft
    }

    /// A non-empty list of addresses or CIDR ranges.
    mutating func peerRanges(_ node: Node, _ what: String) -> [PeerAddressRange]? {
        guard let items = reader.strings(node, what) else { return nil }
        var ranges: [PeerAddressRange] = []
        for (text, item) in items {
            guard let range = PeerAddressRange(text) else {
                reader.error(
                    "`\(text)` in \(what) is not an IP address or CIDR range", at: item,
                    hint: "write an address or a range, as in `127.0.0.1`, `10.0.0.0/8` or `::1/128`")
                continue
            }
            ranges.append(range)
        }
        return ranges.count == items.count ? ranges : nil
    }

    /// One header name (an RFC 9110 token).
    mutating func headerName(_ node: Node, _ what: String) -> String? {
        guard let name = nonEmptyString(node, what) else { return nil }
        guard HTTPSyntax.isToken(name) else {
            reader.error("\(what) `\(name)` is not a header name", at: node, hint: "use letters, digits and `-`")
            return nil
        }
        return name
    }

    /// Envoy's `path_prefix`: empty, or `/` followed by path characters, without a trailing `/`.
    mutating func pathPrefix(_ node: Node, _ what: String) -> String? {
        guard let text = reader.string(node, what) else { return nil }
        let allowed = text.unicodeScalars.allSatisfy {
            $0.isASCII && $0.value > 0x20 && !"?#%\\\"".unicodeScalars.contains($0)
        }
        guard text.isEmpty || (text.hasPrefix("/") && !text.hasSuffix("/") && allowed) else {
            reader.error(
                "\(what) `\(text)` is not a path prefix", at: node,
                hint: "write it as Envoy's `path_prefix`: `/` and path characters, no trailing `/`, as in `/authz`")
            return nil
        }
        return text
    }
}
