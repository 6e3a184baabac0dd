import JOSE

/// A path to a claim: member names separated by `.`, descending into JSON objects
/// (`realm_access.roles`). A `.` inside a member name is written `\.` and a `\` is written `\\`
/// (`https://example\.com/roles`).
package struct ClaimPath: Sendable, Hashable, CustomStringConvertible {
    /// The member names, outermost first.
    package let components: [String]

    package init(components: [String]) {
        self.components = components
    }

    /// Parses a dotted path; `nil` if it is empty, has an empty component, or a dangling `\`.
    package init?(parsing text: String) {
        var components: [String] = []
        var current = ""
        var escaping = false
        for character in text {
            if escaping {
                guard character == "." || character == "\\" else { return nil }
                current.append(character)
                escaping = false
            } else if character == "\\" {
                escaping = true
            } else if character == "." {
                guard !current.isEmpty else { return nil }
                components.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        guard !escaping, !current.isEmpty else { return nil }
        components.append(current)
        self.components = components
    }

    /// The path as it is written in a policy.
    package var description: String {
        components.map { component in
            var escaped = ""
            for character in component {
                if character == "." || character == "\\" { escaped.append("\\") }
                escaped.append(character)
            }
            return escaped
        }.joined(separator: ".")
    }

    /// The value at this path, or `nil` if a member is missing or an intermediate value is not an object.
    package func value(in claims: [String: JSONValue]) -> JSONValue? {
        guard var value = claims[components[0]] else { return nil }
        for component in components.dropFirst() {
            guard case .object(let object) = value, let next = object[component] else { return nil }
            value = next
        }
        return value
    }
}
