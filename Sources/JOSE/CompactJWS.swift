#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Size and nesting limits applied while parsing a compact JWS, before and during decoding.
public struct JWSParseLimits: Sendable, Hashable {
    /// The largest accepted token, in bytes of its compact serialization. Checked before anything else.
    public var maxTokenBytes: Int
    /// The largest accepted decoded header, in bytes.
    public var maxHeaderBytes: Int
    /// The largest accepted decoded payload, in bytes.
    public var maxPayloadBytes: Int
    /// The deepest accepted nesting of arrays and objects in the header and in the payload.
    public var maxDepth: Int

    public init(
        maxTokenBytes: Int = 16_384,
        maxHeaderBytes: Int = 4_096,
        maxPayloadBytes: Int = 12_288,
        maxDepth: Int = 16
    ) {
        self.maxTokenBytes = maxTokenBytes
        self.maxHeaderBytes = maxHeaderBytes
        self.maxPayloadBytes = maxPayloadBytes
        self.maxDepth = maxDepth
    }

    public static let `default` = JWSParseLimits()
}

/// The protected header of a JWS, as ``CompactJWS`` parses and checks it.
public struct JOSEHeader: Sendable, Hashable {
    /// The `alg` member: always one of the implemented algorithms, never `none`.
    public let algorithm: JWSAlgorithm
    /// The `kid` member, if present. Untrusted: use it only to select among configured keys.
    public let keyID: String?
    /// The `typ` member, if present.
    public let type: String?
    /// Every member of the header, including the ones above.
    public let fields: [String: JSONValue]

    public init(algorithm: JWSAlgorithm, keyID: String? = nil, type: String? = nil, fields: [String: JSONValue]) {
        self.algorithm = algorithm
        self.keyID = keyID
        self.type = type
        self.fields = fields
    }
}

/// A parsed, not yet verified, JWS in compact serialization (`header.payload.signature`) whose payload is
/// a JSON object of claims.
///
/// Parsing applies every check that needs no key: size limits before any decoding, exactly three
/// canonical base64url segments, a non-empty signature, strict JSON objects, an `alg` that is exactly one of
/// ``JWSAlgorithm``'s raw values, and no key material or key URLs (`jwk`, `jku`, `x5u`, `x5c`) or `crit`
/// extensions in the header. Nothing here is trustworthy until the signature over ``signingInput`` has been
/// verified with a configured key.
public struct CompactJWS: Sendable {
    /// The protected header.
    public let header: JOSEHeader
    /// The payload's members.
    public let claims: [String: JSONValue]
    /// The ASCII bytes `base64url(header) "." base64url(payload)` exactly as received: what the signature covers.
    public let signingInput: [UInt8]
    /// The decoded signature (never empty).
    public let signature: [UInt8]

    /// Parses a compact JWS from its text.
    public static func parse(_ token: String, limits: JWSParseLimits = .default) throws(JOSEError) -> CompactJWS {
        // The size check comes before touching the bytes, even before making a bridged string contiguous.
        guard token.utf8.count <= limits.maxTokenBytes else {
            throw tooLarge(token.utf8.count, limits)
        }
        var token = token
        return try token.withUTF8 { bytes in
            Result { () throws(JOSEError) in try parse(UnsafeRawBufferPointer(bytes), limits: limits) }
        }.get()
    }

    /// Parses a compact JWS from its ASCII bytes.
    public static func parse(
        _ token: UnsafeRawBufferPointer,
        limits: JWSParseLimits = .default
    ) throws(JOSEError) -> CompactJWS {
        guard token.count <= limits.maxTokenBytes else {
            throw tooLarge(token.count, limits)
        }

        // Exactly two dots.
        let (dots, firstDot, secondDot) = findDots(token)
        guard dots == 2 else {
            throw JOSEError(.malformedToken, "expected 3 segments separated by '.', found \(dots + 1)")
        }
        // An unsigned token is judged by its header first, so `alg: none` says so rather than
        // "malformed": the header decides whether any signature could ever have been acceptable.
        guard secondDot + 1 < token.count else {
            let headerBytes = try decodeSegment(token, 0..<firstDot, name: "header")
            guard headerBytes.count <= limits.maxHeaderBytes else {
                throw JOSEError(.tokenTooLarge, "header is \(headerBytes.count) bytes, limit \(limits.maxHeaderBytes)")
            }
            _ = try parseHeader(headerBytes, maxDepth: limits.maxDepth)
            throw JOSEError(.malformedToken, "missing signature")
        }

        // Header and payload are decoded into one temporary buffer (on the stack when it fits) and parsed
        // from there: the hot path allocates only what the result keeps.
        let headerRange = 0..<firstDot
        let payloadRange = (firstDot + 1)..<secondDot
        let headerCount = Base64URL.decodedCount(headerRange.count) ?? 0
        let payloadCount = Base64URL.decodedCount(payloadRange.count) ?? 0
        let parsed = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(1, headerCount + payloadCount)) { buffer in
            Result { () throws(JOSEError) -> (JOSEHeader, [String: JSONValue], [UInt8]) in
                let headerBytes = UnsafeMutableBufferPointer(rebasing: buffer[0..<headerCount])
                let payloadBytes = UnsafeMutableBufferPointer(rebasing: buffer[headerCount..<(headerCount + payloadCount)])
                try decodeSegment(token, headerRange, name: "header", into: headerBytes)
                try decodeSegment(token, payloadRange, name: "payload", into: payloadBytes)
                let signature = try decodeSegment(token, (secondDot + 1)..<token.count, name: "signature")
                guard headerCount <= limits.maxHeaderBytes else {
                    throw JOSEError(.tokenTooLarge, "header is \(headerCount) bytes, limit \(limits.maxHeaderBytes)")
                }
                guard payloadCount <= limits.maxPayloadBytes else {
                    throw JOSEError(.tokenTooLarge, "payload is \(payloadCount) bytes, limit \(limits.maxPayloadBytes)")
                }
                let header = try parseHeader(UnsafeRawBufferPointer(headerBytes), maxDepth: limits.maxDepth)
                let claims = try parseJSONObject(UnsafeRawBufferPointer(payloadBytes), maxDepth: limits.maxDepth, name: "payload")
                return (header, claims, signature)
            }
        }
        let (header, claims, signature) = try parsed.get()

        return CompactJWS(
            header: header,
            claims: claims,
            signingInput: Array(UnsafeRawBufferPointer(rebasing: token[0..<secondDot])),
            signature: signature
        )
    }

    /// The number of dots in `token` and the offsets of the first two (-1 when absent), found with the C
    /// library's vectorised `memchr`.
    private static func findDots(_ token: UnsafeRawBufferPointer) -> (count: Int, first: Int, second: Int) {
        guard let base = token.baseAddress else { return (0, -1, -1) }
        var count = 0
        var first = -1
        var second = -1
        var offset = 0
        while offset < token.count, let hit = memchr(base + offset, Int32(UInt8(ascii: ".")), token.count - offset) {
            let index = base.distance(to: UnsafeRawPointer(hit))
            count += 1
            if count == 1 { first = index } else if count == 2 { second = index }
            offset = index + 1
        }
        return (count, first, second)
    }

    private static func tooLarge(_ count: Int, _ limits: JWSParseLimits) -> JOSEError {
        JOSEError(.tokenTooLarge, "token is \(count) bytes, limit \(limits.maxTokenBytes)")
    }

    private static func decodeSegment(
        _ token: UnsafeRawBufferPointer,
        _ range: Range<Int>,
        name: String
    ) throws(JOSEError) -> [UInt8] {
        do {
            return try Base64URL.decode(UnsafeRawBufferPointer(rebasing: token[range]))
        } catch {
            throw JOSEError(error.code, "\(name): \(error.reason)")
        }
    }

    /// Decodes a segment into `output` (exactly its decoded size), naming the segment in errors.
    private static func decodeSegment(
        _ token: UnsafeRawBufferPointer, _ range: Range<Int>, name: String, into output: UnsafeMutableBufferPointer<UInt8>
    ) throws(JOSEError) {
        do {
            try Base64URL.decode(UnsafeRawBufferPointer(rebasing: token[range]), into: output)
        } catch {
            throw JOSEError(error.code, "\(name): \(error.reason)")
        }
    }

    private static func parseJSONObject(
        _ bytes: UnsafeRawBufferPointer,
        maxDepth: Int,
        name: String
    ) throws(JOSEError) -> [String: JSONValue] {
        do {
            return try JSONParser.parseObject(bytes, maxDepth: maxDepth)
        } catch {
            throw JOSEError(error.code, "\(name): \(error.reason)")
        }
    }

    private static func parseHeader(_ bytes: [UInt8], maxDepth: Int) throws(JOSEError) -> JOSEHeader {
        try bytes.withUnsafeBytes { raw in
            Result { () throws(JOSEError) in try parseHeader(raw, maxDepth: maxDepth) }
        }.get()
    }

    private static func parseHeader(_ bytes: UnsafeRawBufferPointer, maxDepth: Int) throws(JOSEError) -> JOSEHeader {
        let fields = try parseJSONObject(bytes, maxDepth: maxDepth, name: "header")

        // One pass over the (few) members instead of a hash lookup per member of interest.
        var alg: JSONValue?
        var keyID: JSONValue?
        var type: JSONValue?
        var critical: JSONValue?
        var embeddedKey: String?
        for (name, value) in fields {
            switch name {
            case "alg": alg = value
            case "kid": keyID = value
            case "typ": type = value
            case "crit": critical = value
            case "jwk", "jku", "x5u", "x5c":
                // The smallest name, so that the reason does not depend on hash order.
                if embeddedKey.map({ name < $0 }) ?? true { embeddedKey = name }
            default: break
            }
        }

        // The algorithm: exactly one of ours, compared case-sensitively. There is no `none`.
        let algorithm: JWSAlgorithm
        switch alg {
        case nil:
            throw JOSEError(.algNotAllowed, "header has no alg")
        case .string(let name)?:
            if let known = JWSAlgorithm(rawValue: name) {
                algorithm = known
            } else if name.lowercased() == "none" {
                throw JOSEError(.algNotAllowed, "unsigned tokens (alg none) are not allowed")
            } else {
                throw JOSEError(.algNotAllowed, "alg is not a supported algorithm")
            }
        case .some:
            throw JOSEError(.algNotAllowed, "alg is not a string")
        }

        // Keys come from configuration only; a header that offers one is an attack or a misconfigured issuer.
        if let embeddedKey {
            throw JOSEError(.embeddedKey, "header carries a key or key URL (\(embeddedKey))")
        }

        if let critical {
            // RFC 7515 section 4.1.11: a non-empty array of names. We understand no extensions at all.
            guard let names = critical.arrayValue, !names.isEmpty, names.allSatisfy({ $0.stringValue != nil }) else {
                throw JOSEError(.malformedToken, "crit is not a non-empty array of strings")
            }
            throw JOSEError(.unknownCrit, "crit names extensions this library does not understand")
        }

        switch keyID {
        case nil, .string?: break
        case .some: throw JOSEError(.malformedToken, "kid is not a string")
        }
        switch type {
        case nil, .string?: break
        case .some: throw JOSEError(.malformedToken, "typ is not a string")
        }

        return JOSEHeader(
            algorithm: algorithm, keyID: keyID?.stringValue, type: type?.stringValue, fields: fields
        )
    }
}
