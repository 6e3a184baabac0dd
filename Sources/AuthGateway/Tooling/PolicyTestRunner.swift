import JOSE
import GatewayPolicy

/// Runs policy test cases the way the gateway would decide the requests, and reports like a test runner.
package enum PolicyTestRunner {
    /// The decision the gateway would make: canonicalize the target (400 if rejected), then decide through
    /// the gateway's own ``AdmissionCore``, with the case's token verified (or its claims taken as verified).
    package static func decision(for testCase: PolicyTestCase, policy: Policy) -> Decision {
        switch CanonicalPath.canonicalize(testCase.target) {
        case .failure(let rejection):
            return .badPath(rejection)
        case .success(let target):
            return AdmissionCore.decide(policy, method: testCase.method, host: testCase.host, path: target.path) {
                testCase.credential.check()
            }
        }
    }

    package static func run(_ cases: [PolicyTestCase], policy: Policy) -> PolicyTestReport {
        PolicyTestReport(results: cases.map { testCase in
            let decision = decision(for: testCase, policy: policy)
            return PolicyTestResult(
                name: testCase.name, location: testCase.location, decision: decision,
                mismatches: mismatches(testCase.expect, decision))
        })
    }

    /// Every way the decision differs from the expectation, worded "expected ..., got ...".
    static func mismatches(_ expect: PolicyTestCase.Expectation, _ decision: Decision) -> [String] {
        var problems: [String] = []
        if expect.status != decision.status {
            problems.append("expected status \(expect.status), got \(decision.status) (\(decision))")
        }
        if let route = expect.route, route != decision.route?.name {
            problems.append("expected route `\(route)`, got \(decision.route.map { "`\($0.name)`" } ?? "no route")")
        }
        if let reason = expect.reason, reason != decision.reason?.rawValue {
            problems.append("expected reason \(reason), got \(decision.reason?.rawValue ?? "none (allowed)")")
        }
        if let expected = expect.headers {
            var actual: [String: IdentityHeader] = [:]
            if case .allow(_, let headers) = decision {
                for header in headers { actual[header.name.lowercased()] = header }
            }
            for (name, value) in expected.sorted(by: { $0.key < $1.key }) {
                switch actual[name] {
                case nil:
                    problems.append("expected header \(name): \(value), got no such header")
                case let header? where header.value != value:
                    problems.append("expected header \(header.name): \(value), got \(header.value)")
                default:
                    break
                }
            }
            for (name, header) in actual.sorted(by: { $0.key < $1.key }) where expected[name] == nil {
                problems.append("expected no header \(header.name), got \(header.value)")
            }
        }
        return problems
    }
}

/// The outcome of one test case.
package struct PolicyTestResult: Sendable {
    package let name: String
    package let location: SourceLocation
    package let decision: Decision
    /// Empty when the case passed.
    package let mismatches: [String]

    package var passed: Bool { mismatches.isEmpty }

    /// `ok NAME` or `FAIL NAME: expected ..., got ...`.
    package var line: String {
        passed ? "ok \(name)" : "FAIL \(name): " + mismatches.joined(separator: "; ") + " (\(location))"
    }
}

/// All results, and the summary line `N passed, N failed`.
package struct PolicyTestReport: Sendable {
    package let results: [PolicyTestResult]

    package var passed: Int { results.count(where: \.passed) }
    package var failed: Int { results.count - passed }
    package var summary: String { "\(passed) passed, \(failed) failed" }
    package var lines: [String] { results.map(\.line) + [summary] }
}
