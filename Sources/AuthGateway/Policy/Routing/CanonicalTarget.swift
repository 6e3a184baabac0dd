/// A request target in canonical form: the path used for matching and forwarded byte for byte,
/// and the query, which is forwarded unchanged and never used for routing.
package struct CanonicalTarget: Sendable, Hashable, CustomStringConvertible {
    /// The canonical path: starts with `/`, no dot segments, no empty segments except a trailing `/`,
    /// unreserved characters decoded, every other escape in upper-case hex. Always ASCII.
    package let path: String
    /// The text after the first `?`, without the `?`; `nil` when the target has no `?`.
    package let query: String?

    package init(path: String, query: String?) {
        self.path = path
        self.query = query
    }

    /// The target to forward upstream: the canonical path, then `?` and the query if there was one.
    package var description: String {
        guard let query else { return path }
        return path + "?" + query
    }
}
