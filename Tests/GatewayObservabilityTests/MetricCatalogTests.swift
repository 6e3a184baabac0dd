import Foundation
import GatewayPolicy
import TestSupport
import Testing

@testable import GatewayObservability

/// Every metric has `# HELP` text, and the build is named in `gateway_build_info`.
@Suite("Metric catalog")
struct MetricCatalogTests {
    /// The `gateway_*` names the sources create metrics with.
    static func namesInSources() throws -> Set<String> {
        let root = TestTools.repositoryRoot + "/Sources/AuthGateway"
        let files = FileManager.default.enumerator(atPath: root)?.compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") } ?? []
        let regex = try NSRegularExpression(pattern: #"(?:label: |as: |\.counter\(|\.timer\()"(gateway_[a-z0-9_]+)""#)
        var names = Set<String>()
        for file in files where !file.hasSuffix("MetricCatalog.swift") {
            let text = try String(contentsOfFile: root + "/" + file, encoding: .utf8)
            for match in regex.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                if let range = Range(match.range(at: 1), in: text) { names.insert(String(text[range])) }
            }
        }
        return names
    }

    @Test("the catalog names exactly the metrics the sources create")
    func catalogMatchesSources() throws {
        let names = try Self.namesInSources()
        #expect(names.count >= 20, "the source scan found only \(names.sorted())")
        #expect(Set(MetricCatalog.help.keys) == names, "only in the catalog: \(Set(MetricCatalog.help.keys).subtracting(names).sorted()); without help: \(names.subtracting(MetricCatalog.help.keys).sorted())")
        #expect(MetricCatalog.help.values.allSatisfy { !$0.isEmpty && !$0.contains("\n") })
    }

    @Test("every metric in the exposition has a # HELP line next to its # TYPE line; gateway_build_info is there from the start")
    func expositionHasHelp() {
        let metrics = GatewayMetrics()
        metrics.recordEventLoops(2)
        metrics.recordReload(succeeded: false)
        metrics.recordIssuerKeys([(issuer: "https://idp.example", available: true, problem: nil)])
        let text = String(decoding: metrics.exposition(), as: UTF8.self)
        let lines = text.split(separator: "\n")
        let typed = lines.filter { $0.hasPrefix("# TYPE ") }.map { $0.split(separator: " ")[2] }
        let helped = Set(lines.filter { $0.hasPrefix("# HELP ") }.map { $0.split(separator: " ")[2] })
        #expect(typed.count >= 8, "\(text)")
        for name in typed { #expect(helped.contains(name), "no # HELP for \(name)") }
        #expect(text.contains(#"gateway_build_info{version="\#(BuildInfo.version)",commit="\#(BuildInfo.commit)",swift="\#(BuildInfo.swift)",openssl="OpenSSL 3."#), "\(text)")
    }
}
