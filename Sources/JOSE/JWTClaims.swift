/// Read-only conveniences over a token's claims. Accessors return `nil` (or an empty list) when a claim is
/// absent or has the wrong type; ``ClaimsValidation`` is where types are enforced.
public struct JWTClaims: Sendable, Hashable {
    /// Every claim.
    public let fields: [String: JSONValue]

    public init(fields: [String: JSONValue]) {
        self.fields = fields
    }

    public init(_ fields: [String: JSONValue]) {
        self.fields = fields
    }

    /// The claim `name`, if present.
    public subscript(name: String) -> JSONValue? {
        fields[name]
    }

    /// `sub`, if it is a string.
    public var subject: String? { fields["sub"]?.stringValue }

    /// `iss`, if it is a string.
    public var issuer: String? { fields["iss"]?.stringValue }

    /// `aud` as a list: a string becomes one element; the strings of an array, in order.
    public var audiences: [String] {
        switch fields["aud"] {
        case .string(let audience)?: return [audience]
        case .array(let elements)?: return elements.compactMap(\.stringValue)
        default: return []
        }
    }

    /// `exp` in seconds since 1970, if it is a number.
    public var expiresAt: Double? { fields["exp"]?.numberValue }

    /// `nbf` in seconds since 1970, if it is a number.
    public var notBefore: Double? { fields["nbf"]?.numberValue }

    /// `iat` in seconds since 1970, if it is a number.
    public var issuedAt: Double? { fields["iat"]?.numberValue }

    /// The granted scopes: the space-separated `scope` string (RFC 8693 section 4.2) if present, otherwise
    /// `scp` as an array of strings or as a space-separated string (both forms are common).
    public var scopes: [String] {
        if case .string(let scope)? = fields["scope"] {
            return Self.split(scope)
        }
        switch fields["scp"] {
        case .string(let scope)?: return Self.split(scope)
        case .array(let elements)?: return elements.compactMap(\.stringValue)
        default: return []
        }
    }

    /// The value at a dotted path such as `realm_access.roles`, descending through objects.
    ///
    /// A claim whose name is the whole path (`https://example.com/roles`, common for namespaced claims) wins
    /// over the dotted reading. Empty paths and empty segments find nothing.
    public func value(at path: String) -> JSONValue? {
        if let exact = fields[path] { return exact }
        var current: [String: JSONValue] = fields
        var result: JSONValue?
        for segment in path.split(separator: ".", omittingEmptySubsequences: false) {
            guard !segment.isEmpty, let value = current[String(segment)] else { return nil }
            result = value
            guard case .object(let object) = value else {
                current = [:]
                continue
            }
            current = object
        }
        return result
    }

    private static func split(_ scopes: String) -> [String] {
        scopes.split(separator: " ").map(String.init)
    }
}
