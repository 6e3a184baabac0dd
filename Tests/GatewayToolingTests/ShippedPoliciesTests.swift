import Foundation
import Testing
import GatewayPolicy
import GatewayTooling
import TestSupport

/// The policies in `policies/` are shipped with the demo: every file must load and every case must pass,
/// so a broken shipped policy fails the suite.
@Suite("Shipped policies")
struct ShippedPoliciesTests {
    static var directory: String { TestTools.repositoryRoot + "/policies" }

    @Test func everyPolicyFileLoads() throws {
        let files = try PolicyLoader.policyFiles(in: Self.directory)
        #expect(files.count >= 3)
        let policy = try PolicyLoader.load(
            directory: Self.directory,
            environment: PolicyEnvironment(upstreams: ["service-a", "service-b"]))
        // Every file contributes: each one is loaded, none is skipped.
        #expect(Set(policy.routes.map(\.location.file)) == Set(files))
        #expect(Set(policy.routes.map(\.name)) == ["data-read", "info-read", "admin", "health"])
    }

    @Test func everyTestCasePasses() throws {
        let policy = try PolicyLoader.load(directory: Self.directory)
        let files = try PolicyTestCaseLoader.defaultFiles(forPolicyDirectory: Self.directory)
        #expect(files.count >= 3)
        let cases = try PolicyTestCaseLoader.load(files: files, now: 1_700_000_000)
        let report = PolicyTestRunner.run(cases, policy: policy)
        for result in report.results where !result.passed {
            Issue.record("\(result.line)")
        }
        #expect(report.failed == 0)
        #expect(report.passed >= 40)
    }

    @Test func demoRoutesAsSpecified() throws {
        let policy = try PolicyLoader.load(directory: Self.directory)
        let expectations: [(String, String, String?, String)] = [
            ("GET", "/api/data", "data-read", "service-a"),
            ("GET", "/api/info", "info-read", "service-b"),
            ("POST", "/admin/users", "admin", "service-a"),
            ("GET", "/healthz", "health", "service-a"),
        ]
        for (method, path, name, upstream) in expectations {
            let route = try #require(policy.route(method: method, host: nil, path: path))
            #expect(route.name == name)
            #expect(route.upstream == upstream)
        }
        let publicRoutes = policy.routes.filter(\.isPublic).map(\.name)
        #expect(publicRoutes == ["health"])
        // The one public route says why it is public and has an allowlist: lint --strict passes the shipped policies.
        #expect(PolicyLinter.lint(policy).isEmpty, "\(PolicyLinter.lint(policy).map(\.description))")
        #expect(policy.routes.first { $0.name == "health" }?.publicReason != nil)
    }
}
