import JOSE
import Yams

/// Reads a `require:` block into a ``Requirement``. The keys of one mapping are all required (an
/// implicit `all`); `all`, `any` and `not` nest further mappings.
struct RequirementDecoder {
    static let keys = ["scopes", "roles", "claims", "all", "any", "not"]
    static let scopeKeys = ["all", "any"]
    static let roleKeys = ["all", "any", "claim"]
    static let conditionKeys = ["equals", "in", "exists"]

    /// The file's roles claim, used by `roles` clauses that do not name their own.
    let rolesClaim: ClaimPath

    func decode(_ node: Node, reader: inout YAMLReader, depth: Int = 0) -> Requirement? {
        let errorsBefore = reader.errorCount
        guard depth < 16 else {
            reader.error("requirements are nested too deeply", at: node, hint: "simplify the requirement")
            return nil
        }
        guard let entries = reader.mapping(node, "a requirement") else { return nil }
        reader.checkKeys(entries, allowed: Self.keys, in: "a requirement")
        if entries.isEmpty {
            reader.error(
                "empty requirement", at: node,
                hint: "name at least one of `scopes`, `roles`, `claims`, `all`, `any` or `not`; "
                    + "to accept any valid token, remove `require`")
        }
        var clauses: [Requirement] = []
        for entry in entries {
            switch entry.key {
            case "scopes":
                clauses += scopes(entry, reader: &reader)
            case "roles":
                clauses += roles(entry, reader: &reader)
            case "claims":
                clauses += claims(entry, reader: &reader)
            case "all", "any":
                guard let items = reader.sequence(entry.value, "`\(entry.key)`") else { continue }
                let nested = items.compactMap { decode($0, reader: &reader, depth: depth + 1) }
                let location = reader.location(entry.keyNode)
                clauses.append(Requirement(entry.key == "all" ? .all(nested) : .any(nested), at: location))
            case "not":
                if let nested = decode(entry.value, reader: &reader, depth: depth + 1) {
                    clauses.append(Requirement(.not(nested), at: reader.location(entry.keyNode)))
                }
            default:
                break
            }
        }
        guard reader.errorCount == errorsBefore else { return nil }
        if clauses.count == 1, let only = clauses.first { return only }
        return Requirement(.all(clauses), at: reader.location(node))
    }

    private func scopes(_ entry: YAMLReader.Entry, reader: inout YAMLReader) -> [Requirement] {
        quantified(entry, allowed: Self.scopeKeys, reader: &reader) { quantifier, values, location, reader in
            for (scope, node) in values where !BearerChallenge.isScopeToken(scope) {
                reader.error(
                    "`\(scope)` is not a valid scope", at: node,
                    hint: "a scope is one token of printable ASCII without spaces, `\"` or `\\`")
            }
            return Requirement(.scopes(quantifier, values.map(\.0)), at: location)
        }
    }

    private func roles(_ entry: YAMLReader.Entry, reader: inout YAMLReader) -> [Requirement] {
        var claim = rolesClaim
        if let node = reader.mapping(entry.value, "`roles`")?.first(where: { $0.key == "claim" })?.value {
            claim = reader.claimPath(node, "`claim`") ?? claim
        }
        return quantified(entry, allowed: Self.roleKeys, reader: &reader) { quantifier, values, location, reader in
            for (role, node) in values where role.isEmpty {
                reader.error("a role is empty", at: node)
            }
            return Requirement(.roles(claim: claim, quantifier, values.map(\.0)), at: location)
        }
    }

    /// `{ all: [...], any: [...] }`: one clause per quantifier given; at least one is required.
    private func quantified(
        _ entry: YAMLReader.Entry, allowed: [String], reader: inout YAMLReader,
        make: (Requirement.Quantifier, [(String, Node)], SourceLocation, inout YAMLReader) -> Requirement
    ) -> [Requirement] {
        let what = "`\(entry.key)`"
        guard let entries = reader.mapping(entry.value, what) else { return [] }
        reader.checkKeys(entries, allowed: allowed, in: what)
        var clauses: [Requirement] = []
        for item in entries {
            guard let quantifier = Requirement.Quantifier(rawValue: item.key) else { continue }
            if let values = reader.strings(item.value, "`\(entry.key).\(item.key)`") {
                clauses.append(make(quantifier, values, reader.location(entry.keyNode), &reader))
            }
        }
        if !entries.contains(where: { Requirement.Quantifier(rawValue: $0.key) != nil }) {
            reader.error(
                "\(what) needs `all` or `any`", at: entry.value,
                hint: "write `\(entry.key): { all: [...] }` (every one needed) or `{ any: [...] }` (one is enough)")
        }
        return clauses
    }

    private func claims(_ entry: YAMLReader.Entry, reader: inout YAMLReader) -> [Requirement] {
        guard let entries = reader.mapping(entry.value, "`claims`") else { return [] }
        if entries.isEmpty {
            reader.error("`claims` is empty", at: entry.value, hint: "name at least one claim, or remove `claims`")
        }
        var clauses: [Requirement] = []
        for item in entries {
            guard let path = reader.claimPath(item.keyNode, "a claim name") else { continue }
            if let condition = condition(item, reader: &reader) {
                clauses.append(Requirement(.claim(path, condition), at: reader.location(item.keyNode)))
            }
        }
        return clauses
    }

    /// `{ equals: v }`, `{ in: [v, ...] }` or `{ exists: true|false }`: exactly one.
    private func condition(_ item: YAMLReader.Entry, reader: inout YAMLReader) -> Requirement.Condition? {
        let what = "the condition on claim `\(item.key)`"
        guard let entries = reader.mapping(item.value, what) else { return nil }
        reader.checkKeys(entries, allowed: Self.conditionKeys, in: what)
        let known = entries.filter { Self.conditionKeys.contains($0.key) }
        guard known.count == 1, let entry = known.first else {
            reader.error(
                "\(what) needs exactly one of `equals`, `in` or `exists`", at: item.value,
                hint: "use `any:` with several claim clauses to combine alternatives")
            return nil
        }
        switch entry.key {
        case "equals":
            return reader.literal(entry.value, "`equals`").map { .equals($0) }
        case "in":
            guard let items = reader.sequence(entry.value, "`in`") else { return nil }
            let values = items.compactMap { reader.literal($0, "`in`") }
            return values.count == items.count ? .oneOf(values) : nil
        default:
            return reader.bool(entry.value, "`exists`").map { .exists($0) }
        }
    }
}
