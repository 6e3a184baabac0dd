import NIOHTTP1
import GatewayPolicy

/// Builds the headers an upstream receives: the client's, minus everything the client may not assert,
/// plus what the gateway vouches for (docs/ARCHITECTURE.md "One request", HeaderRewriter).
package struct HeaderRewriter {
    let filter: ClientHeaderFilter

    package init(filter: ClientHeaderFilter) {
        self.filter = filter
    }

    package func upstreamHeaders(
        from client: HTTPHeaders, route: Route, identity: [IdentityHeader], host: String,
        client connection: ClientConnection, requestID: RequestID, framing: RequestGuard.BodyFraming
    ) -> HTTPHeaders {
        let named = connectionNamed(client)
        var headers = HTTPHeaders()
        headers.reserveCapacity(client.count + identity.count + 7)
        // Exactly the Host the guard validated and the policy matched, whatever `Connection` lists.
        headers.add(name: "host", value: host)
        let allowlist = route.forwardHeaderKeys
        for (name, value) in client {
            if filter.strips(name, extra: named) { continue }
            if name.utf8.count == 13, name.lowercased() == "authorization" {
                if route.forwardsAuthorization { headers.add(name: name, value: value) }
                continue
            }
            if let allowlist, !Self.listed(name, in: allowlist) { continue }
            headers.add(name: name, value: value)
        }
        switch framing {
        case .none: break
        case .contentLength(let length): headers.add(name: "content-length", value: String(length))
        case .streamed: headers.add(name: "transfer-encoding", value: "chunked")
        }
        headers.add(name: "x-forwarded-for", value: connection.address)
        headers.add(name: "x-forwarded-proto", value: "https")
        headers.add(name: "x-forwarded-host", value: host)
        headers.add(name: "x-request-id", value: requestID.text)
        headers.add(name: "traceparent", value: requestID.traceparent)
        for header in identity {
            headers.add(name: header.name, value: header.value)
        }
        return headers
    }

    /// Whether `name` equals one of the lower-cased `keys`, ignoring ASCII case (and nothing else: an
    /// allowlisted `Content-Type` does not admit `Content_Type`).
    private static func listed(_ name: String, in keys: [[UInt8]]) -> Bool {
        var name = name
        return name.withUTF8 { bytes in
            keys.contains { key in
                key.count == bytes.count && zip(key, bytes).allSatisfy { key, byte in
                    key == byte || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") && key == byte | 0x20)
                }
            }
        }
    }

    /// Header names listed in `Connection` are hop-by-hop too (RFC 9110 §7.6.1).
    private func connectionNamed(_ headers: HTTPHeaders) -> [[UInt8]] {
        headers.connectionListedNames.map(ClientHeaderFilter.normalize)
    }
}

extension HTTPHeaders {
    /// The header names a `Connection` header lists, as written (RFC 9110 §7.6.1): hop-by-hop as well.
    package var connectionListedNames: [String] { listElements("connection").map(String.init) }

    /// The elements of a comma-separated list field (RFC 9110 §5.6.1) over all its lines, each without the
    /// spaces and tabs around it; empty elements dropped.
    package func listElements(_ name: String) -> [Substring] {
        guard contains(name: name) else { return [] }
        var elements: [Substring] = []
        for value in self[name] {
            for element in value.split(separator: ",") {
                let trimmed = element.trimmingASCIISpaces()
                if !trimmed.isEmpty { elements.append(trimmed) }
            }
        }
        return elements
    }
}

extension Substring {
    package func trimmingASCIISpaces() -> Substring {
        var result = self
        while let first = result.first, first == " " || first == "\t" { result = result.dropFirst() }
        while let last = result.last, last == " " || last == "\t" { result = result.dropLast() }
        return result
    }
}
