import JOSE

extension Requirement {
    /// Tests the clause against verified claims; when it does not hold, also names the clause to blame:
    /// the failing leaf under `all`, or the `any` / `not` clause itself.
    ///
    /// `all` stops at its first sub-clause that does not hold; `any` at its first that does.
    func evaluate(_ claims: [String: JSONValue]) -> (outcome: ClauseOutcome, blame: Requirement?) {
        switch kind {
        case .scopes(let quantifier, let scopes):
            return blame(ClaimTests.scopes(claims, quantifier, scopes))
        case .roles(let path, let quantifier, let roles):
            return blame(ClaimTests.roles(claims, path: path, quantifier, roles))
        case .claim(let path, let condition):
            return blame(ClaimTests.condition(path.value(in: claims), condition))
        case .all(let clauses):
            for clause in clauses {
                let result = clause.evaluate(claims)
                if result.outcome != .held { return result }
            }
            return (.held, nil)
        case .any(let clauses):
            var outcome = ClauseOutcome.failed
            for clause in clauses {
                switch clause.evaluate(claims).outcome {
                case .held: return (.held, nil)
                case .undetermined: outcome = .undetermined
                case .failed: break
                }
            }
            return (outcome, self)
        case .not(let clause):
            switch clause.evaluate(claims).outcome {
            case .held: return (.failed, self)
            case .failed: return (.held, nil)
            case .undetermined: return (.undetermined, self)
            }
        }
    }

    @inline(__always)
    private func blame(_ outcome: ClauseOutcome) -> (outcome: ClauseOutcome, blame: Requirement?) {
        (outcome, outcome == .held ? nil : self)
    }
}
