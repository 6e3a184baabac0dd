import Foundation
import GatewayPolicy

/// Loads and validates a gateway configuration file (see docs/CONFIGURATION.md).
///
/// Strict: unknown keys, wrong types, missing or invalid values are errors with `file:line:column` and,
/// where there is something specific to say, a hint. Every problem is reported, not just the first, and a
/// configuration is returned only if there are none. Relative paths in the file are resolved against the
/// file's directory. Files the configuration names (certificates, keys, policies) are not read here; the
/// gateway reads them when it builds its snapshot.
package enum GatewayConfigurationLoader {
    /// Reads and validates the configuration file at `file`.
    package static func load(file: String) throws(GatewayConfigurationLoadError) -> GatewayConfiguration {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw GatewayConfigurationLoadError(diagnostics: [PolicyDiagnostic(
                .error, at: SourceLocation(file: file, line: 0, column: 0), "cannot read the configuration file",
                hint: "check that it exists and is readable")])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw GatewayConfigurationLoadError(diagnostics: [PolicyDiagnostic(
                .error, at: SourceLocation(file: file, line: 1, column: 1), "the file is not valid UTF-8")])
        }
        return try load(text: text, path: file)
    }

    /// Validates configuration text as if read from `path`: diagnostics name `path`, and relative paths in
    /// the text are resolved against its directory.
    package static func load(text: String, path: String) throws(GatewayConfigurationLoadError) -> GatewayConfiguration {
        var diagnostics: [PolicyDiagnostic] = []
        let document = YAMLDocument(file: path, text: text, diagnostics: &diagnostics)
        // A syntax error or a duplicate key leaves no tree to check further.
        guard diagnostics.isEmpty else { throw GatewayConfigurationLoadError(diagnostics: diagnostics) }
        var decoder = GatewayConfigurationDecoder(file: path)
        let configuration = document.withRoot { decoder.decode($0) }
        diagnostics += decoder.reader.diagnostics
        guard diagnostics.isEmpty, let configuration else { throw GatewayConfigurationLoadError(diagnostics: diagnostics) }
        return configuration
    }
}
