import Foundation
import GatewayPolicy
import TestSupport
import Testing

/// The commit in `--version` and `gateway_build_info`: `scripts/source-commit` (run by the build plugin) names
/// it from a clone, from a `git archive` tarball without `.git`, and says `unknown` otherwise. Each case builds
/// its own repository in a temporary directory, so the tests hold from a tarball of this project too.
@Suite("Source commit")
struct SourceCommitTests {
    static let git = "/usr/bin/git"
    static let script = TestTools.repositoryRoot + "/scripts/source-commit"

    /// Runs `git` in `directory` with an identity and no signing, whatever the machine's configuration.
    @discardableResult
    static func git(_ arguments: [String], in directory: String) async throws -> String {
        try TestTools.requireExecutable(git)
        let result = try await Command.run(
            git, ["-c", "user.name=test", "-c", "user.email=test@example.invalid", "-c", "commit.gpgsign=false",
                  "-C", directory] + arguments,
            directory: directory)
        guard result.status == 0 else { throw HarnessError("git \(arguments.joined(separator: " ")): \(result)") }
        return result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A fresh repository with one commit; returns its full hash.
    static func repository(at directory: String) async throws -> String {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try await git(["init", "-q"], in: directory)
        try "x\n".write(toFile: directory + "/file.txt", atomically: true, encoding: .utf8)
        try await git(["add", "file.txt"], in: directory)
        try await git(["commit", "-q", "-m", "one"], in: directory)
        return try await git(["rev-parse", "HEAD"], in: directory)
    }

    /// What the script generates for a package at `root`: the value of `sourceCommitID`.
    static func generatedID(root: String, scratch: String) async throws -> String {
        let output = scratch + "/out-\(UUID().uuidString.prefix(8)).swift"
        let result = try await Command.run("/bin/sh", [script, root, output], directory: scratch)
        #expect(result.status == 0, "\(result)")
        let text = try String(contentsOfFile: output, encoding: .utf8)
        let line = try #require(text.split(separator: "\n").first { $0.hasPrefix("let sourceCommitID = ") })
        return String(line.dropFirst("let sourceCommitID = ".count)).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
    }

    @Test("a clone names its HEAD in 12 hex digits, and the next commit once it is made")
    func cloneNamesHEAD() async throws {
        let scratch = try TestTools.temporaryDirectory(prefix: "source-commit-clone")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let repository = scratch + "/repo"
        let first = try await Self.repository(at: repository)
        #expect(try await Self.generatedID(root: repository, scratch: scratch) == String(first.prefix(12)))
        try "y\n".write(toFile: repository + "/file.txt", atomically: true, encoding: .utf8)
        try await Self.git(["commit", "-q", "-a", "-m", "two"], in: repository)
        let second = try await Self.git(["rev-parse", "HEAD"], in: repository)
        #expect(second != first)
        #expect(try await Self.generatedID(root: repository, scratch: scratch) == String(second.prefix(12)))
    }

    @Test("a tarball from git archive names the archived commit through .source-commit (this project's .gitattributes)")
    func archiveNamesItsCommit() async throws {
        let scratch = try TestTools.temporaryDirectory(prefix: "source-commit-archive")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let repository = scratch + "/repo"
        _ = try await Self.repository(at: repository)
        // The project's own two files, as a release would archive them.
        for name in [".gitattributes", ".source-commit"] {
            try FileManager.default.copyItem(atPath: TestTools.repositoryRoot + "/" + name, toPath: repository + "/" + name)
        }
        #expect(try String(contentsOfFile: repository + "/.source-commit", encoding: .utf8) == "$Format:%H$\n",
                "the checked-in .source-commit is the placeholder git archive fills in")
        try await Self.git(["add", ".gitattributes", ".source-commit"], in: repository)
        try await Self.git(["commit", "-q", "-m", "attributes"], in: repository)
        let commit = try await Self.git(["rev-parse", "HEAD"], in: repository)
        try await Self.git(["archive", "--format=tar", "-o", scratch + "/release.tar", "HEAD"], in: repository)
        let unpacked = scratch + "/release"
        try FileManager.default.createDirectory(atPath: unpacked, withIntermediateDirectories: true)
        let untar = try await Command.run("/usr/bin/tar", ["-xf", scratch + "/release.tar", "-C", unpacked], directory: scratch)
        #expect(untar.status == 0, "\(untar)")
        #expect(!FileManager.default.fileExists(atPath: unpacked + "/.git"))
        #expect(try String(contentsOfFile: unpacked + "/.source-commit", encoding: .utf8) == commit + "\n")
        #expect(try await Self.generatedID(root: unpacked, scratch: scratch) == String(commit.prefix(12)))
    }

    @Test("a directory inside another repository is not named by that repository's commit; a placeholder is unknown")
    func nestedDirectoryIsNotTheEnclosingRepository() async throws {
        let scratch = try TestTools.temporaryDirectory(prefix: "source-commit-nested")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let repository = scratch + "/repo"
        _ = try await Self.repository(at: repository)
        let package = repository + "/vendor/package"
        try FileManager.default.createDirectory(atPath: package, withIntermediateDirectories: true)
        #expect(try await Self.generatedID(root: package, scratch: scratch) == "unknown")
        try "$Format:%H$\n".write(toFile: package + "/.source-commit", atomically: true, encoding: .utf8)
        #expect(try await Self.generatedID(root: package, scratch: scratch) == "unknown")
        try "not a commit\n".write(toFile: package + "/.source-commit", atomically: true, encoding: .utf8)
        #expect(try await Self.generatedID(root: package, scratch: scratch) == "unknown")
        let written = "0123456789abcdef0123456789abcdef01234567"
        try (written + "\n").write(toFile: package + "/.source-commit", atomically: true, encoding: .utf8)
        #expect(try await Self.generatedID(root: package, scratch: scratch) == "0123456789ab")
    }

    @Test("the generated file is left alone when the commit did not move, so nothing recompiles")
    func unchangedCommitKeepsTheFile() async throws {
        let scratch = try TestTools.temporaryDirectory(prefix: "source-commit-keep")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let repository = scratch + "/repo"
        _ = try await Self.repository(at: repository)
        let output = scratch + "/generated.swift"
        func inode() throws -> Int? {
            (try FileManager.default.attributesOfItem(atPath: output)[.systemFileNumber] as? NSNumber)?.intValue
        }
        _ = try await Command.run("/bin/sh", [Self.script, repository, output], directory: scratch)
        let before = try inode()
        _ = try await Command.run("/bin/sh", [Self.script, repository, output], directory: scratch)
        #expect(try inode() == before, "rewritten although the commit did not move")
        try "y\n".write(toFile: repository + "/file.txt", atomically: true, encoding: .utf8)
        try await Self.git(["commit", "-q", "-a", "-m", "two"], in: repository)
        _ = try await Command.run("/bin/sh", [Self.script, repository, output], directory: scratch)
        #expect(try inode() != before, "not rewritten although the commit moved")
    }

    @Test("this build names a commit of this checkout (or, built from a tarball, the archived one)")
    func thisBuild() async throws {
        let commit = BuildInfo.commit
        #expect(BuildInfo.description.contains("(commit \(commit), Swift "))
        let root = TestTools.repositoryRoot
        if FileManager.default.fileExists(atPath: root + "/.git") {
            #expect(commit.count == 12 && commit.allSatisfy(\.isHexDigit), "\(commit)")
            // A commit that exists here: the build's HEAD, or an older one if commits were made since the build.
            let exists = try await Command.run(Self.git, ["-C", root, "cat-file", "-e", commit + "^{commit}"], directory: root)
            #expect(exists.status == 0, "\(commit) is no commit of \(root): \(exists)")
        } else {
            let scratch = try TestTools.temporaryDirectory(prefix: "source-commit-build")
            defer { try? FileManager.default.removeItem(atPath: scratch) }
            #expect(try await Self.generatedID(root: root, scratch: scratch) == commit)
        }
    }
}
