/// A route's path pattern: literal segments, one-segment wildcards (`*`, `{name}`), and an optional
/// trailing `/**` that matches the prefix itself and everything below it on segment boundaries.
///
/// Literal segments must already be in canonical form (see ``CanonicalPath``), so a pattern means exactly
/// the paths it shows. A trailing `/` is significant: `/api/` and `/api` are different patterns.
package struct PathPattern: Sendable, Hashable, CustomStringConvertible {
    /// One segment of a pattern.
    package enum Segment: Sendable, Hashable {
        /// Matches this exact (case-sensitive) segment; `""` is the empty segment after a trailing `/`.
        case literal(String)
        /// Matches any one non-empty segment; the name is `nil` for `*`.
        case parameter(String?)
    }

    /// The pattern as written in the policy.
    package let text: String
    /// The segments before any trailing `/**`.
    package let segments: [Segment]
    /// True when the pattern ends with `/**`.
    package let isPrefix: Bool

    /// The pattern as written.
    package var description: String { text }

    /// The pattern with parameter names erased, so `/a/{id}` and `/a/*` have the same shape.
    package var shape: String {
        var result = ""
        for segment in segments {
            switch segment {
            case .literal(let text): result += "/" + text
            case .parameter: result += "/*"
            }
        }
        if isPrefix { result += "/**" }
        return result.isEmpty ? "/" : result
    }

    /// True for `/**`: every path.
    package var isCatchAll: Bool { isPrefix && segments.isEmpty }

    /// Parses a pattern, or explains what is wrong with it.
    package static func parse(_ text: String) -> Result<PathPattern, PatternError> {
        guard text.hasPrefix("/") else {
            return .failure(PatternError(message: "a path pattern must start with `/`", hint: "write `/\(text)`"))
        }
        var parts = text.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        var isPrefix = false
        if parts.last == "**" {
            isPrefix = true
            parts.removeLast()
        }
        var segments: [Segment] = []
        for (index, part) in parts.enumerated() {
            let isLast = index == parts.count - 1
            switch segmentOf(part, isLast: isLast && !isPrefix, prefix: "/" + parts[..<index].joined(separator: "/")) {
            case .success(let segment): segments.append(segment)
            case .failure(let error): return .failure(error)
            }
        }
        return .success(PathPattern(text: text, segments: segments, isPrefix: isPrefix))
    }

    private static func segmentOf(_ part: String, isLast: Bool, prefix: String) -> Result<Segment, PatternError> {
        if part == "**" {
            return .failure(PatternError(
                message: "`**` may only be the last segment of a pattern",
                hint: "end the pattern with `/**`; it matches everything below the prefix"))
        }
        if part == "*" { return .success(.parameter(nil)) }
        if part.hasPrefix("{"), part.hasSuffix("}"), part.count > 2 {
            let name = String(part.dropFirst().dropLast())
            guard isIdentifier(name) else {
                return .failure(PatternError(
                    message: "parameter name `\(name)` is not an identifier",
                    hint: "use letters, digits and `_`, as in `{id}`"))
            }
            return .success(.parameter(name))
        }
        if part.contains("*") || part.contains("{") || part.contains("}") {
            return .failure(PatternError(
                message: "wildcards match whole segments only: `\(part)`",
                hint: "use `*` or `{name}` as a whole segment, or `/**` at the end"))
        }
        if part.isEmpty {
            guard isLast else {
                return .failure(PatternError(message: "empty path segment (`//`)", hint: "remove the extra `/`"))
            }
            return .success(.literal(""))
        }
        switch CanonicalPath.canonicalize("/" + part) {
        case .failure(let rejection):
            return .failure(PatternError(
                message: "path segment `\(part)` can never match a request: \(rejection.code) in it",
                hint: "requests with it are rejected with 400 before routing"))
        case .success(let canonical):
            guard canonical.query == nil, canonical.path == "/" + part else {
                let written = canonical.query == nil ? canonical.path : canonical.description
                return .failure(PatternError(
                    message: "path segment `\(part)` is not in canonical form",
                    hint: "requests are matched after canonicalization; `\(prefix)/\(part)` is seen as `\(written)`"))
            }
            return .success(.literal(part))
        }
    }

    private static func isIdentifier(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || (first.isASCII && first.properties.isAlphabetic)
        else { return false }
        return name.unicodeScalars.allSatisfy { $0 == "_" || ($0.isASCII && $0.properties.isAlphabetic)
            || ("0"..."9").contains($0) }
    }
}

/// What is wrong with a path pattern, and what to do about it.
package struct PatternError: Error, Sendable, Hashable {
    package let message: String
    package let hint: String
}
