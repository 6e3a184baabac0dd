import JOSE
import Yams

/// Typed, strict reads from a YAML node tree, collecting every problem as a diagnostic with its position.
///
/// Strings are strict: a plain scalar that YAML resolves to another type (`no`, `on`, `yes`, `12`, `1.0`,
/// `~`, `2024-01-01`) is an error where a string is expected, never silently converted; quoting makes it a
/// string. Anchors, aliases and merge keys are refused so a reviewer sees every value where it applies.
package struct YAMLReader {
    /// One `key: value` pair of a mapping, with a string key.
    package struct Entry {
        package let key: String
        package let keyNode: Node
        package let value: Node
    }

    package let file: String
    package private(set) var diagnostics: [PolicyDiagnostic] = []

    package init(file: String) {
        self.file = file
    }

    package var errorCount: Int { diagnostics.count(where: { $0.severity == .error }) }

    package func location(_ node: Node) -> SourceLocation {
        SourceLocation(file: file, line: node.mark?.line ?? 1, column: node.mark?.column ?? 1)
    }

    package mutating func error(_ message: String, at node: Node, hint: String? = nil) {
        diagnostics.append(PolicyDiagnostic(.error, at: location(node), message, hint: hint))
    }

    package mutating func error(_ message: String, at location: SourceLocation, hint: String? = nil) {
        diagnostics.append(PolicyDiagnostic(.error, at: location, message, hint: hint))
    }

    // MARK: - Structure

    /// The entries of a mapping; `nil` (with an error) if `node` is not one.
    package mutating func mapping(_ node: Node, _ what: String) -> [Entry]? {
        guard noAnchor(node), case .mapping(let mapping) = node else {
            if node.anchor == nil { error("\(what) must be a mapping, not \(Self.describe(node))", at: node) }
            return nil
        }
        var entries: [Entry] = []
        for (keyNode, value) in mapping {
            guard let key = string(keyNode, "a key in \(what)") else { continue }
            entries.append(Entry(key: key, keyNode: keyNode, value: value))
        }
        return entries
    }

    /// Reports every key not in `allowed`, with a spelling hint.
    package mutating func checkKeys(_ entries: [Entry], allowed: [String], in what: String) {
        for entry in entries where !allowed.contains(entry.key) {
            error(
                "unknown key `\(entry.key)` in \(what)", at: entry.keyNode,
                hint: Suggestion.hint(for: entry.key, among: allowed))
        }
    }

    /// Reports each of `required` that `entries` lacks, at the mapping's position.
    package mutating func requireKeys(_ entries: [Entry], _ required: [String], in what: String, at node: Node) {
        for key in required where !entries.contains(where: { $0.key == key }) {
            error("missing `\(key)` in \(what)", at: node)
        }
    }

    /// The items of a list; `nil` (with an error) if `node` is not one or, unless allowed, it is empty.
    package mutating func sequence(_ node: Node, _ what: String, allowEmpty: Bool = false) -> [Node]? {
        guard noAnchor(node), case .sequence(let sequence) = node else {
            if node.anchor == nil {
                error("\(what) must be a list, not \(Self.describe(node))", at: node,
                      hint: node.scalar != nil ? "write `[\(node.scalar?.string ?? "")]` for a list of one" : nil)
            }
            return nil
        }
        let items = Array(sequence)
        if items.isEmpty, !allowEmpty {
            error("\(what) is an empty list", at: node, hint: "list at least one value, or remove the key")
            return nil
        }
        return items
    }

    // MARK: - Scalars

    /// A string, strictly: quoted, `!!str`, or a plain scalar that YAML reads as a string.
    package mutating func string(_ node: Node, _ what: String) -> String? {
        guard noAnchor(node), case .scalar(let scalar) = node else {
            if node.anchor == nil { error("\(what) must be a string, not \(Self.describe(node))", at: node) }
            return nil
        }
        let tag = node.tag.rawValue
        if tag == Tag.Name.str.rawValue { return scalar.string }
        if tag == Tag.Name.null.rawValue {
            error("\(what) is empty", at: node, hint: "give it a value, or remove the key")
        } else if scalar.style == .plain {
            error(
                "`\(scalar.string)` is read by YAML as \(Self.typeName(tag)), not a string, in \(what)", at: node,
                hint: "quote it: \"\(scalar.string)\"")
        } else {
            error("\(what) must be a string, not \(Self.typeName(tag))", at: node)
        }
        return nil
    }

    /// Strings from a list (non-empty unless allowed), each strict.
    package mutating func strings(_ node: Node, _ what: String, allowEmpty: Bool = false) -> [(String, Node)]? {
        guard let items = sequence(node, what, allowEmpty: allowEmpty) else { return nil }
        var result: [(String, Node)] = []
        var failed = false
        for item in items {
            if let text = string(item, "an entry of \(what)") {
                if result.contains(where: { $0.0 == text }) {
                    error("`\(text)` is listed twice in \(what)", at: item)
                    failed = true
                }
                result.append((text, item))
            } else {
                failed = true
            }
        }
        return failed ? nil : result
    }

    /// `true` or `false`; YAML 1.1 spellings (`yes`, `on`, `True`) are refused as ambiguous.
    package mutating func bool(_ node: Node, _ what: String) -> Bool? {
        guard noAnchor(node), case .scalar(let scalar) = node,
            node.tag.rawValue == Tag.Name.bool.rawValue, scalar.string == "true" || scalar.string == "false"
        else {
            if node.anchor == nil { error("\(what) must be `true` or `false`", at: node) }
            return nil
        }
        return scalar.string == "true"
    }

    /// A decimal integer (no hex, octal, sexagesimal or `_` forms).
    package mutating func int(_ node: Node, _ what: String) -> Int? {
        guard noAnchor(node), case .scalar(let scalar) = node, node.tag.rawValue == Tag.Name.int.rawValue,
            let value = Self.decimal(scalar.string)
        else {
            if node.anchor == nil { error("\(what) must be a decimal integer", at: node) }
            return nil
        }
        return value
    }

    /// A literal a claim is compared with: a string, a decimal integer, or `true` / `false`.
    mutating func literal(_ node: Node, _ what: String) -> JSONValue? {
        guard noAnchor(node), case .scalar(let scalar) = node else {
            if node.anchor == nil {
                error("\(what) must be a string, an integer or a boolean, not \(Self.describe(node))", at: node)
            }
            return nil
        }
        let tag = node.tag.rawValue
        switch tag {
        case Tag.Name.str.rawValue:
            return .string(scalar.string)
        case Tag.Name.bool.rawValue where scalar.string == "true" || scalar.string == "false":
            return .bool(scalar.string == "true")
        case Tag.Name.int.rawValue:
            if let value = Self.decimal(scalar.string) { return .int(Int64(value)) }
        default:
            break
        }
        let hint = scalar.style == .plain ? "quote it for the string \"\(scalar.string)\"" : nil
        error("`\(scalar.string)` in \(what) is \(Self.typeName(tag)); expected a string, "
              + "a decimal integer, `true` or `false`", at: node, hint: hint)
        return nil
    }

    /// Any JSON value (test-case claims): mappings, lists, strings, decimal integers, numbers,
    /// `true` / `false`, `null`. Ambiguous YAML 1.1 scalars are refused as in ``literal(_:_:)``.
    package mutating func json(_ node: Node, _ what: String, depth: Int = 0) -> JSONValue? {
        guard depth < 32 else {
            error("\(what) is nested too deeply", at: node)
            return nil
        }
        switch node {
        case .mapping:
            guard let entries = mapping(node, what) else { return nil }
            var object: [String: JSONValue] = [:]
            for entry in entries {
                guard let value = json(entry.value, "`\(entry.key)`", depth: depth + 1) else { return nil }
                object[entry.key] = value
            }
            return .object(object)
        case .sequence:
            guard let items = sequence(node, what, allowEmpty: true) else { return nil }
            var array: [JSONValue] = []
            for item in items {
                guard let value = json(item, what, depth: depth + 1) else { return nil }
                array.append(value)
            }
            return .array(array)
        case .scalar(let scalar):
            let tag = node.tag.rawValue
            if tag == Tag.Name.null.rawValue, scalar.string == "null" || scalar.string == "~" {
                return .null
            }
            if tag == Tag.Name.float.rawValue, let value = Double(scalar.string), value.isFinite {
                return .double(value)
            }
            return literal(node, what)
        case .alias:
            error("anchors and aliases are not allowed", at: node)
            return nil
        }
    }

    /// A claim path (`sub`, `realm_access.roles`, `https://example\.com/roles`).
    mutating func claimPath(_ node: Node, _ what: String) -> ClaimPath? {
        guard let text = string(node, what) else { return nil }
        guard let path = ClaimPath(parsing: text) else {
            error(
                "`\(text)` is not a claim path", at: node,
                hint: "write member names separated by `.`, as in `realm_access.roles`; escape a `.` in a name as `\\.`")
            return nil
        }
        return path
    }

    // MARK: - Helpers

    /// False (with an error) for a node carrying an anchor or reached through an alias.
    private mutating func noAnchor(_ node: Node) -> Bool {
        guard node.anchor == nil else {
            error(
                "anchors and aliases (`&name`, `*name`) are not allowed in policy files", at: node,
                hint: "write the value out where it applies, so reviewers see it")
            return false
        }
        return true
    }

    private static func decimal(_ text: String) -> Int? {
        let digits = text.hasPrefix("-") || text.hasPrefix("+") ? text.dropFirst() : Substring(text)
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
            digits.count == 1 || digits.first != "0"
        else { return nil }
        return Int(text)
    }

    package static func describe(_ node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case .scalar: return typeName(node.tag.rawValue)
        }
    }

    static func typeName(_ tag: String) -> String {
        switch tag {
        case Tag.Name.str.rawValue: return "a string"
        case Tag.Name.bool.rawValue: return "a boolean"
        case Tag.Name.int.rawValue: return "an integer"
        case Tag.Name.float.rawValue: return "a number"
        case Tag.Name.null.rawValue: return "null"
        case Tag.Name.timestamp.rawValue: return "a timestamp"
        case Tag.Name.merge.rawValue: return "a merge key (`<<`)"
        case Tag.Name.binary.rawValue: return "binary data"
        default: return "a value tagged `\(tag)`"
        }
    }
}
