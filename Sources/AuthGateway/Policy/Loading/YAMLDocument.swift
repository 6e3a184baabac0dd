import Foundation
import Yams

/// One parsed YAML file, kept together with its parser so anchors stay visible (policies reject them).
///
/// Syntax errors and duplicate keys (Yams rejects those while composing) become diagnostics.
package struct YAMLDocument {
    let file: String
    let root: Node?
    /// Holds the anchors that `Node.anchor` refers to weakly.
    private let parser: Parser?

    /// Parses `text`; on failure `root` is nil and the problem is appended to `diagnostics`.
    package init(file: String, text: String, diagnostics: inout [PolicyDiagnostic]) {
        self.file = file
        var parser: Parser?
        var root: Node?
        do {
            parser = try Parser(yaml: text)
            root = try parser?.singleRoot()
        } catch let error as YamlError {
            root = nil
            diagnostics.append(Self.diagnostic(for: error, file: file))
        } catch {
            root = nil
            diagnostics.append(PolicyDiagnostic(
                .error, at: SourceLocation(file: file, line: 1, column: 1), "cannot parse YAML: \(error)"))
        }
        self.parser = parser
        self.root = root
    }

    /// Runs `body` while the parser (and so every anchor) is alive.
    package func withRoot<Result>(_ body: (Node?) -> Result) -> Result {
        withExtendedLifetime(parser) { body(root) }
    }

    private static func diagnostic(for error: YamlError, file: String) -> PolicyDiagnostic {
        func at(_ mark: Mark) -> SourceLocation { SourceLocation(file: file, line: mark.line, column: mark.column) }
        let start = SourceLocation(file: file, line: 1, column: 1)
        switch error {
        case .duplicatedKeysInMapping(let duplicates, let context):
            // Yams lists the duplicates in hash order and places the error at the first one its `Node` ordering
            // sorts first. That ordering is total only over scalars with distinct text: with a mapping or list
            // as a key (shown as `<uncovertable>`), or `1` next to `!!str 1`, the order and so the location
            // change from run to run. Names are sorted here; an ambiguous location falls back to the file's start.
            let names = duplicates.map { $0 == "<uncovertable>" ? "a mapping or list" : "`\($0)`" }.sorted()
            let unambiguous = !duplicates.contains("<uncovertable>") && Set(duplicates).count == duplicates.count
            return PolicyDiagnostic(
                .error, at: unambiguous ? at(context.mark) : start,
                "duplicate key \(names.joined(separator: ", ")) in a mapping",
                hint: "a key may appear once per mapping; YAML would otherwise keep only one of the values")
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let while_ = context.map { " (\($0.text) at line \($0.mark.line), column \($0.mark.column))" } ?? ""
            // `match: { path: /items/{id} }`: the braces of `{id}` end the flow mapping.
            let flow = context?.text.contains("flow mapping") == true || context?.text.contains("flow sequence") == true
            let hint = flow
                ? "inside `{ ... }` or `[ ... ]`, quote a value that holds `{`, `}`, `[`, `]` or `,`, as in `path: \"/items/{id}\"`"
                : nil
            return PolicyDiagnostic(.error, at: at(mark), "YAML syntax error: \(problem)\(while_)", hint: hint)
        case .reader(let problem, _, _, _):
            return PolicyDiagnostic(.error, at: start, "cannot read the file as UTF-8 YAML: \(problem)")
        default:
            return PolicyDiagnostic(.error, at: start, "cannot parse YAML: \(error)")
        }
    }
}
