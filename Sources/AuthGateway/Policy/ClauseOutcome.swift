/// The result of testing one clause against verified claims. `undetermined` means the claims had a shape
/// the clause cannot judge (a `scope` that is not a string, roles that are not strings, an object where a
/// scalar was expected): it never lets a request through, not even under `not`.
package enum ClauseOutcome: String, Sendable, Hashable {
    case held
    case failed
    case undetermined
}
