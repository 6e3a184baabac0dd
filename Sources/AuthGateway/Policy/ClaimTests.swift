import JOSE

/// The leaf tests of a requirement: scopes, roles and claim conditions. Allocation-free apart from
/// what `JSONValue` comparison needs.
package enum ClaimTests {
    /// Scopes come from `scope` (a space-separated string) and `scp` (an array of strings or a
    /// space-separated string); either may be absent. Any other type is undetermined.
    package static func scopes(
        _ claims: [String: JSONValue], _ quantifier: Requirement.Quantifier, _ required: [String]
    ) -> ClauseOutcome {
        let scope = claims["scope"]
        let scp = claims["scp"]
        if let scope, scope.stringValue == nil { return .undetermined }
        if let scp {
            switch scp {
            case .string: break
            case .array(let items): if !items.allSatisfy({ $0.stringValue != nil }) { return .undetermined }
            default: return .undetermined
            }
        }
        func granted(_ wanted: String) -> Bool {
            if let list = scope?.stringValue, containsToken(list, wanted) { return true }
            switch scp {
            case .string(let list)?: return containsToken(list, wanted)
            case .array(let items)?: return items.contains(.string(wanted))
            default: return false
            }
        }
        return decide(quantifier, required, granted)
    }

    /// Roles: the claim at `path` must be an array of strings; absent is a plain failure.
    package static func roles(
        _ claims: [String: JSONValue], path: ClaimPath, _ quantifier: Requirement.Quantifier, _ required: [String]
    ) -> ClauseOutcome {
        guard let value = path.value(in: claims) else { return .failed }
        guard case .array(let items) = value, items.allSatisfy({ $0.stringValue != nil }) else {
            return .undetermined
        }
        return decide(quantifier, required) { items.contains(.string($0)) }
    }

    /// A claim condition; `null` counts as absent.
    package static func condition(_ value: JSONValue?, _ condition: Requirement.Condition) -> ClauseOutcome {
        switch condition {
        case .exists(let wanted):
            let present = value != nil && value != .null
            return present == wanted ? .held : .failed
        case .equals(let expected):
            return compare(value) { $0 == expected }
        case .oneOf(let candidates):
            return compare(value) { candidates.contains($0) }
        }
    }

    private static func compare(_ value: JSONValue?, _ matches: (JSONValue) -> Bool) -> ClauseOutcome {
        switch value {
        case nil, .null?: return .failed
        case .string?, .int?, .bool?: return matches(value ?? .null) ? .held : .failed
        default: return .undetermined
        }
    }

    private static func decide(
        _ quantifier: Requirement.Quantifier, _ required: [String], _ granted: (String) -> Bool
    ) -> ClauseOutcome {
        switch quantifier {
        case .all: return required.allSatisfy(granted) ? .held : .failed
        case .any: return required.contains(where: granted) ? .held : .failed
        }
    }

    /// True if `token` is one of the space-separated tokens of `list` (RFC 6749 §3.3). Byte-level.
    static func containsToken(_ list: String, _ token: String) -> Bool {
        Policy.withBytes(list) { list in
            Policy.withBytes(token) { token in
                var start = 0
                while start < list.count {
                    var end = start
                    while end < list.count, list[end] != UInt8(ascii: " ") { end += 1 }
                    if end - start == token.count {
                        var offset = 0
                        while offset < token.count, list[start + offset] == token[offset] { offset += 1 }
                        if offset == token.count { return true }
                    }
                    start = end + 1
                }
                return false
            }
        }
    }
}
