import Foundation
import PackagePlugin

/// Generates `sourceCommitID` for the `SourceCommit` target by running `scripts/source-commit`.
///
/// A build command, not a prebuild command: SwiftPM keeps the build plan between builds and does not run a
/// prebuild command again until the package graph is reloaded, so a commit made since the last build would
/// be missed. A build command runs whenever one of its input files changes, and every move of HEAD (a commit,
/// a checkout, a pull, a reset) changes `HEAD` or its reflog `logs/HEAD`, or the branch's ref file.
@main
struct SourceCommitPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let root = context.package.directoryURL
        let script = root.appendingPathComponent("scripts/source-commit")
        let output = context.pluginWorkDirectoryURL.appendingPathComponent("SourceCommit+Generated.swift")
        var inputs = [script]
        let archived = root.appendingPathComponent(".source-commit")
        if FileManager.default.fileExists(atPath: archived.path) { inputs.append(archived) }
        inputs += Self.headFiles(of: root)
        return [
            .buildCommand(
                displayName: "Naming the source commit of \(target.name)",
                executable: URL(fileURLWithPath: "/bin/sh"),
                arguments: [script.path, root.path, output.path],
                inputFiles: inputs,
                outputFiles: [output]
            )
        ]
    }

    /// The files that change when HEAD moves: `HEAD`, its reflog, the branch's loose ref and `packed-refs`
    /// (those that exist). `.git` is a directory in a clone and a `gitdir:` file in a worktree.
    static func headFiles(of root: URL) -> [URL] {
        let manager = FileManager.default
        let dotGit = root.appendingPathComponent(".git")
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: dotGit.path, isDirectory: &isDirectory) else { return [] }
        var gitDirectory = dotGit
        if !isDirectory.boolValue {
            guard let text = try? String(contentsOf: dotGit, encoding: .utf8), text.hasPrefix("gitdir:") else {
                return []
            }
            let path = text.dropFirst("gitdir:".count).trimmingCharacters(in: .whitespacesAndNewlines)
            gitDirectory = URL(fileURLWithPath: path, relativeTo: root).standardizedFileURL
        }
        // A worktree's refs live in the common directory of the repository it belongs to.
        var commonDirectory = gitDirectory
        if let common = try? String(contentsOf: gitDirectory.appendingPathComponent("commondir"), encoding: .utf8) {
            let path = common.trimmingCharacters(in: .whitespacesAndNewlines)
            let base = gitDirectory.appendingPathComponent("")
            commonDirectory = URL(fileURLWithPath: path, relativeTo: base).standardizedFileURL
        }
        var files = [gitDirectory.appendingPathComponent("HEAD"), gitDirectory.appendingPathComponent("logs/HEAD")]
        if let head = try? String(contentsOf: files[0], encoding: .utf8), head.hasPrefix("ref:") {
            let reference = head.dropFirst("ref:".count).trimmingCharacters(in: .whitespacesAndNewlines)
            files.append(commonDirectory.appendingPathComponent(reference))
        }
        files.append(commonDirectory.appendingPathComponent("packed-refs"))
        return files.filter { manager.fileExists(atPath: $0.path) }
    }
}
