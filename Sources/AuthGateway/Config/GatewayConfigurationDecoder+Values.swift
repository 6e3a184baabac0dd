import Yams
import GatewayPolicy

/// Typed reads of single configuration values: integers in a range, durations, sizes, booleans, choices,
/// paths and header names. Each reports its own error and returns `nil` on failure.
extension GatewayConfigurationDecoder {
    /// A decimal integer within `range`.
    mutating func integer(_ node: Node, _ what: String, in range: ClosedRange<Int>) -> Int? {
        guard let value = reader.int(node, what) else { return nil }
        guard range.contains(value) else {
            let bounds = range.upperBound == Int.max
                ? "at least \(range.lowerBound)" : "between \(range.lowerBound) and \(range.upperBound)"
            reader.error("\(what) must be \(bounds), not \(value)", at: node)
            return nil
        }
        return value
    }

    /// `true` or `false`. YAML 1.1 spellings (`yes`, `no`, `on`, `off`) get a hint: other YAML parsers read
    /// them as strings, so the file would mean different things to different tools.
    mutating func flag(_ node: Node, _ what: String) -> Bool? {
        if node.anchor == nil, case .scalar(let scalar) = node, scalar.style == .plain,
            node.tag.rawValue == Tag.Name.bool.rawValue, scalar.string != "true", scalar.string != "false"
        {
            let meant = ["yes", "on", "true", "y"].contains(scalar.string.lowercased())
            reader.error(
                "\(what) must be `true` or `false`, not `\(scalar.string)`", at: node,
                hint: "`\(scalar.string)` is a boolean only in YAML 1.1; write `\(meant)`")
            return nil
        }
        return reader.bool(node, what)
    }

    /// A duration: `500ms`, `2s`, `1.5s`, `5m`, `1h`, `1d`. Zero only where `allowZero` (written `0` or with
    /// a unit); otherwise at least a millisecond, at most a year.
    mutating func duration(_ node: Node, _ what: String, allowZero: Bool = false) -> Duration? {
        let text: String
        if node.anchor == nil, case .scalar(let scalar) = node, scalar.style == .plain,
            [Tag.Name.int.rawValue, Tag.Name.float.rawValue].contains(node.tag.rawValue)
        {
            // `30` or `1.5`: YAML reads a number, the parser asks for the unit.
            text = scalar.string
        } else {
            guard let string = reader.string(node, what) else { return nil }
            text = string
        }
        let units = DurationParser.units.map(\.name)
        let format = "write a number and a unit: `500ms`, `2s`, `5m`, `1h` or `1d`"
        switch DurationParser.parse(text) {
        case .seconds(let seconds) where seconds == 0:
            if allowZero { return .zero }
            reader.error("\(what) must be longer than 0", at: node, hint: format)
        case .seconds(let seconds) where seconds < 0.001:
            reader.error("\(what) `\(text)` is shorter than a millisecond", at: node)
        case .seconds(let seconds) where seconds > DurationParser.maximum:
            reader.error("\(what) `\(text)` is longer than a year", at: node)
        case .seconds(let seconds):
            return .nanoseconds(Int64((seconds * 1e9).rounded()))
        case .missingUnit(let number) where Double(number) == 0:
            if allowZero { return .zero }
            reader.error("\(what) must be longer than 0", at: node, hint: format)
        case .missingUnit(let number):
            reader.error(
                "\(what) `\(text)` has no unit", at: node,
                hint: "write `\(number)s` for seconds or `\(number)ms` for milliseconds")
        case .unknownUnit(let unit):
            reader.error(
                "unknown unit `\(unit)` in \(what) `\(text)`", at: node,
                hint: Suggestion.hint(for: unit, among: units))
        case .invalid:
            reader.error("\(what) must be a duration, not `\(text)`", at: node, hint: format)
        }
        return nil
    }

    /// A size in bytes: plain digits, or digits and a unit (`16KiB`, `10MiB`, `1MB`), at least `minimum`.
    mutating func size(_ node: Node, _ what: String, minimum: Int) -> Int? {
        let text: String
        if node.anchor == nil, case .scalar(let scalar) = node, scalar.style == .plain,
            node.tag.rawValue == Tag.Name.int.rawValue
        {
            text = scalar.string
        } else {
            guard let string = reader.string(node, what) else { return nil }
            text = string
        }
        let format = "write whole bytes, or a whole number and a unit: `16KiB`, `10MiB`, `1MB`"
        switch ByteSizeParser.parse(text) {
        case .bytes(let bytes) where bytes < minimum:
            reader.error("\(what) must be at least \(minimum) byte\(minimum == 1 ? "" : "s"), not \(text)", at: node)
        case .bytes(let bytes):
            return bytes
        case .unknownUnit(let unit):
            let number = text.dropLast(unit.count)
            let hint = unit.count == 1 && "kKmMgG".contains(unit.first ?? " ")
                ? "write `\(number)\(unit.uppercased())iB` (powers of 1024) or `\(number)\(unit.uppercased())B` (powers of 1000)"
                : Suggestion.hint(for: unit, among: ByteSizeParser.unitNames)
            reader.error("unknown unit `\(unit)` in \(what) `\(text)`", at: node, hint: hint)
        case .tooLarge:
            reader.error("\(what) `\(text)` is too large", at: node)
        case .invalid:
            reader.error("\(what) must be a size, not `\(text)`", at: node, hint: format)
        }
        return nil
    }

    /// One of a fixed set of spellings, with "did you mean" or the list of valid ones.
    mutating func choice<Value: RawRepresentable & CaseIterable>(_ node: Node, _ what: String, noun: String) -> Value?
    where Value.RawValue == String {
        guard let text = reader.string(node, what) else { return nil }
        if let value = Value(rawValue: text) { return value }
        reader.error(
            "unknown \(noun) `\(text)`", at: node,
            hint: Suggestion.hint(for: text, among: Value.allCases.map(\.rawValue)))
        return nil
    }

    /// A string that must not be empty.
    mutating func nonEmptyString(_ node: Node, _ what: String) -> String? {
        guard let text = reader.string(node, what) else { return nil }
        guard !text.isEmpty else {
            reader.error("\(what) is empty", at: node)
            return nil
        }
        return text
    }

    /// A non-empty list of distinct, non-empty strings.
    mutating func names(_ node: Node, _ what: String) -> [String]? {
        guard let items = reader.strings(node, what) else { return nil }
        var failed = false
        for (text, item) in items where text.isEmpty {
            reader.error("an entry of \(what) is empty", at: item)
            failed = true
        }
        return failed ? nil : items.map(\.0)
    }

    /// A file or directory path; relative paths are resolved against the configuration file's directory.
    mutating func path(_ node: Node, _ what: String) -> String? {
        guard let text = nonEmptyString(node, what) else { return nil }
        guard !text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            reader.error("\(what) contains a control character", at: node)
            return nil
        }
        let path = resolve(text)
        if pathLocations[path] == nil { pathLocations[path] = reader.location(node) }
        return path
    }

    /// A listen address: an IPv4 or IPv6 literal (IPv6 without brackets) or a host name.
    mutating func address(_ node: Node, _ what: String) -> String? {
        guard let text = nonEmptyString(node, what) else { return nil }
        if text.hasPrefix("["), text.hasSuffix("]") {
            reader.error(
                "\(what) `\(text)` has brackets", at: node,
                hint: "write an IPv6 address without brackets, as in `::1`, and the port under `port`")
            return nil
        }
        let valid = text.unicodeScalars.allSatisfy {
            $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-.:".unicodeScalars.contains($0))
        }
        guard valid, !text.hasPrefix("-"), !text.hasPrefix(".") else {
            reader.error(
                "\(what) `\(text)` is not an IP address or host name", at: node,
                hint: "write an address such as `0.0.0.0`, `127.0.0.1`, `::` or `::1`; the port goes under `port`")
            return nil
        }
        return text
    }

    /// Header names (RFC 9110 tokens); an empty list is allowed and switches the stripping off.
    mutating func headerNames(_ node: Node, _ what: String) -> [String]? {
        guard let items = reader.strings(node, what, allowEmpty: true) else { return nil }
        var failed = false
        for (name, item) in items {
            if !HTTPSyntax.isToken(name) {
                reader.error(
                    "`\(name)` is not a header name in \(what)", at: item,
                    hint: "use letters, digits and `-`, as in `X-User-`")
                failed = true
            }
        }
        return failed ? nil : items.map(\.0)
    }

    /// The realm of `WWW-Authenticate: Bearer realm="..."`: printable ASCII without `"` and `\`.
    mutating func realm(_ node: Node) -> String? {
        guard let text = nonEmptyString(node, "`realm`") else { return nil }
        guard text.unicodeScalars.allSatisfy({ (0x20...0x7E).contains($0.value) && $0 != "\"" && $0 != "\\" }) else {
            reader.error(
                "`realm` must be printable ASCII without `\"` or `\\`", at: node,
                hint: "it is sent in a quoted header parameter")
            return nil
        }
        return text
    }

    /// `path` against ``directory`` unless it is absolute.
    func resolve(_ path: String) -> String {
        var relative = Substring(path)
        guard !relative.hasPrefix("/"), !directory.isEmpty else { return path }
        while relative.hasPrefix("./") { relative = relative.dropFirst(2).drop(while: { $0 == "/" }) }
        if relative.isEmpty || relative == "." { return directory }
        return directory.hasSuffix("/") ? directory + relative : directory + "/" + relative
    }

    /// The directory part of a file path: `""` for a bare name (the current directory), `/` for the root.
    static func directory(of file: String) -> String {
        guard let slash = file.lastIndex(of: "/") else { return "" }
        let directory = file[..<slash]
        return directory.isEmpty ? "/" : String(directory)
    }
}
