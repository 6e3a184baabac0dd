import Foundation
import Yams

/// Loads and validates a policy: every file, every problem, and a ``Policy`` only if there are none.
///
/// A policy directory holds the policy files `*.yaml` and `*.yml` directly inside it (not in
/// sub-directories, so `tests/` is never read as policy; hidden files are skipped). They are read in name
/// order and compose into one policy.
package enum PolicyLoader {
    /// Loads every policy file in `directory`.
    package static func load(
        directory: String, environment: PolicyEnvironment = .unchecked
    ) throws(PolicyLoadError) -> Policy {
        try load(sources: readSources(try policyFiles(in: directory)), environment: environment)
    }

    /// Loads policy files given as text (tests, or a gateway that read them itself).
    package static func load(
        sources: [PolicySource], environment: PolicyEnvironment = .unchecked
    ) throws(PolicyLoadError) -> Policy {
        var diagnostics: [PolicyDiagnostic] = []
        var routes: [Route] = []
        for source in sources {
            let document = YAMLDocument(file: source.path, text: source.text, diagnostics: &diagnostics)
            var decoder = PolicyFileDecoder(file: source.path, environment: environment)
            if document.root != nil || diagnostics.allSatisfy({ $0.location.file != source.path }) {
                routes += document.withRoot { decoder.decode($0) }
            }
            diagnostics += decoder.reader.diagnostics
        }
        let compiled = PolicyCompiler.compile(routes)
        diagnostics += compiled.diagnostics
        guard diagnostics.isEmpty else { throw PolicyLoadError(diagnostics: diagnostics) }
        return compiled.policy
    }

    /// The policy files of a directory, sorted by name.
    package static func policyFiles(in directory: String) throws(PolicyLoadError) -> [String] {
        let files = try yamlFiles(in: directory, what: "policy")
        guard !files.isEmpty else {
            throw PolicyLoadError(diagnostics: [PolicyDiagnostic(
                .error, at: SourceLocation(file: directory, line: 0, column: 0), "no policy files (*.yaml, *.yml)",
                hint: "policy files sit directly in the directory; test cases go in its `tests/` sub-directory")])
        }
        return files
    }

    /// The `*.yaml` / `*.yml` files directly in `directory`, sorted by name, hidden files skipped.
    package static func yamlFiles(in directory: String, what: String) throws(PolicyLoadError) -> [String] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw PolicyLoadError(diagnostics: [PolicyDiagnostic(
                .error, at: SourceLocation(file: directory, line: 0, column: 0), "cannot list the \(what) directory",
                hint: "check that it exists and is readable")])
        }
        let base = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        return names
            .filter { !$0.hasPrefix(".") && ($0.hasSuffix(".yaml") || $0.hasSuffix(".yml")) }
            .sorted()
            .map { base + "/" + $0 }
            .filter { path in
                var isDirectory: ObjCBool = false
                return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
            }
    }

    /// Reads files as UTF-8; unreadable files become diagnostics.
    package static func readSources(_ paths: [String]) throws(PolicyLoadError) -> [PolicySource] {
        var sources: [PolicySource] = []
        var diagnostics: [PolicyDiagnostic] = []
        for path in paths {
            guard let data = FileManager.default.contents(atPath: path) else {
                diagnostics.append(PolicyDiagnostic(
                    .error, at: SourceLocation(file: path, line: 0, column: 0), "cannot read the file",
                    hint: "check that it exists and is readable"))
                continue
            }
            guard let text = String(data: data, encoding: .utf8) else {
                diagnostics.append(PolicyDiagnostic(
                    .error, at: SourceLocation(file: path, line: 1, column: 1), "the file is not valid UTF-8"))
                continue
            }
            sources.append(PolicySource(path: path, text: text))
        }
        guard diagnostics.isEmpty else { throw PolicyLoadError(diagnostics: diagnostics) }
        return sources
    }
}
