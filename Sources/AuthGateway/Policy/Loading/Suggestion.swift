/// "Did you mean ...?" for misspelt keys and names: the closest candidate by edit distance
/// (Levenshtein with adjacent transpositions), if it is close enough to be a likely typo.
package enum Suggestion {
    static func closest(to word: String, among candidates: [String]) -> String? {
        let lowered = word.lowercased()
        var best: (candidate: String, distance: Int)?
        for candidate in candidates {
            let distance = editDistance(lowered, candidate.lowercased())
            if distance < (best?.distance ?? Int.max) { best = (candidate, distance) }
        }
        guard let best else { return nil }
        let limit = word.count >= 12 ? 3 : word.count >= 5 ? 2 : 1
        return best.distance <= limit ? best.candidate : nil
    }

    /// `did you mean `x`?` or, without a close candidate, the list of valid values.
    package static func hint(for word: String, among candidates: [String], listing: Bool = true) -> String? {
        if let match = closest(to: word, among: candidates) { return "did you mean `\(match)`?" }
        guard listing, !candidates.isEmpty else { return nil }
        return "expected one of " + candidates.map { "`\($0)`" }.joined(separator: ", ")
    }

    static func editDistance(_ lhs: String, _ rhs: String) -> Int {
        let a = Array(lhs.unicodeScalars)
        let b = Array(rhs.unicodeScalars)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous2 = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    current[j] = min(current[j], previous2[j - 2] + 1)
                }
            }
            (previous2, previous, current) = (previous, current, previous2)
        }
        return previous[b.count]
    }
}
