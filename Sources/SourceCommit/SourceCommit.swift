/// The commit this build was made from, for `--version` and `gateway_build_info`.
///
/// Generated at build time by `Plugins/SourceCommitPlugin` (which runs `scripts/source-commit`): HEAD of the
/// checkout, or the hash `git archive` wrote into `.source-commit` for a tarball without `.git`, else `unknown`.
/// Only this small module sees the generated value, so a new commit recompiles this module and the one file
/// that imports it, not the gateway.
package enum SourceCommit {
    /// The first 12 hex digits of the commit, or `unknown`.
    package static var id: String { sourceCommitID }
}
