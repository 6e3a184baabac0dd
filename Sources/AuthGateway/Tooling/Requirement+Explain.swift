import JOSE
import GatewayPolicy

extension Requirement {
    /// Evaluates every clause (no short-circuit) and writes one line per clause, indented by depth:
    /// the outcome, the clause, where it is written, and what the claims held.
    func explain(_ claims: [String: JSONValue], depth: Int, into lines: inout [String]) -> ClauseOutcome {
        let indent = String(repeating: "  ", count: depth)
        let index = lines.count
        lines.append("")
        let outcome: ClauseOutcome
        var detail = ""
        switch kind {
        case .scopes(let quantifier, let scopes):
            outcome = ClaimTests.scopes(claims, quantifier, scopes)
            let scope = claims["scope"].map { JSONSerializer.serialize($0) } ?? "absent"
            let scp = claims["scp"].map { JSONSerializer.serialize($0) } ?? "absent"
            detail = "scope: \(scope), scp: \(scp)"
        case .roles(let path, let quantifier, let roles):
            outcome = ClaimTests.roles(claims, path: path, quantifier, roles)
            detail = "\(path): " + (path.value(in: claims).map { JSONSerializer.serialize($0) } ?? "absent")
        case .claim(let path, let condition):
            outcome = ClaimTests.condition(path.value(in: claims), condition)
            detail = "\(path): " + (path.value(in: claims).map { JSONSerializer.serialize($0) } ?? "absent")
        case .all(let clauses):
            let outcomes = clauses.map { $0.explain(claims, depth: depth + 1, into: &lines) }
            outcome = outcomes.contains(.failed) ? .failed : outcomes.contains(.undetermined) ? .undetermined : .held
        case .any(let clauses):
            let outcomes = clauses.map { $0.explain(claims, depth: depth + 1, into: &lines) }
            outcome = outcomes.contains(.held) ? .held : outcomes.contains(.undetermined) ? .undetermined : .failed
        case .not(let clause):
            switch clause.explain(claims, depth: depth + 1, into: &lines) {
            case .held: outcome = .failed
            case .failed: outcome = .held
            case .undetermined: outcome = .undetermined
            }
        }
        let label = outcome.rawValue.padding(to: 12)
        lines[index] = "  \(label)\(indent)\(description)  [\(location)]" + (detail.isEmpty ? "" : " — \(detail)")
        return outcome
    }
}

extension String {
    /// The string padded with spaces to at least `width` characters.
    func padding(to width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
