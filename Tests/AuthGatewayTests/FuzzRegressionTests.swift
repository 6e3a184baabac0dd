import Foundation
import Testing
import GatewayPolicy
import GatewayConfig
import TestSupport
import NIOCore
@testable import AuthGateway

/// Inputs the libFuzzer targets (Fuzz/README.md) found, replayed with the outcome they must have.
@Suite("Fuzz regressions (AuthGateway)")
struct FuzzRegressionTests {
    /// The checked-in crash input `Fuzz/Regressions/<name>`.
    static func regression(_ name: String) throws -> String {
        let path = TestTools.repositoryRoot + "/Fuzz/Regressions/" + name
        let data = try #require(FileManager.default.contents(atPath: path), "missing \(path)")
        return try #require(String(data: data, encoding: .utf8))
    }

    /// Mapping keys that are themselves a list, next to a repeated plain key.
    static let duplicateComplexKey = """
        listeners: []
        ? [a]
        : 1
        ? [a]
        : 2
        b: 1
        b: 2

        """

    static func configurationDiagnostics(_ text: String) -> [PolicyDiagnostic] {
        do {
            _ = try GatewayConfigurationLoader.load(text: text, path: "/etc/auth-gateway/gateway.yaml")
            Issue.record("the configuration loaded")
            return []
        } catch {
            return error.diagnostics
        }
    }

    /// fuzz target `config`, "loading reports different diagnostics each time": Yams reports duplicate keys in
    /// hash order and at a location its partial `Node` ordering picks, so a list or mapping used as a key made
    /// the message and the line change between two loads of the same file.
    @Test("config: duplicate complex keys give the same diagnostic every time (fuzz config-duplicate-complex-key)")
    func duplicateComplexKeysAreDeterministic() throws {
        for text in [Self.duplicateComplexKey, try Self.regression("config-duplicate-complex-key")] {
            let first = Self.configurationDiagnostics(text)
            #expect(!first.isEmpty)
            for _ in 0..<50 {
                #expect(Self.configurationDiagnostics(text) == first)
            }
        }
        let diagnostics = Self.configurationDiagnostics(Self.duplicateComplexKey)
        #expect(
            diagnostics.map(\.description) == [
                "/etc/auth-gateway/gateway.yaml:1:1: error: duplicate key `b`, a mapping or list in a mapping; "
                    + "hint: a key may appear once per mapping; YAML would otherwise keep only one of the values"
            ])
    }

    @Test("policy: duplicate complex keys give the same diagnostic every time (fuzz config-duplicate-complex-key)")
    func duplicateComplexKeysInPoliciesAreDeterministic() {
        let text = "routes: []\n? { a: 1 }\n: x\n? { a: 1 }\n: y\nversion: 1\nversion: 1\n"
        let first = PolicyFixtures.errors(text)
        #expect(first.map(\.location.line) == [1])
        for _ in 0..<50 {
            #expect(PolicyFixtures.errors(text) == first)
        }
    }

    /// Plain duplicate keys keep their precise location (the first duplicate, as before).
    @Test("config: duplicate plain keys are still reported where they are")
    func duplicatePlainKeysKeepTheirLocation() {
        let diagnostics = Self.configurationDiagnostics("listeners: []\nb: 1\nb: 2\na: 1\na: 2\n")
        #expect(
            diagnostics.map(\.description) == [
                "/etc/auth-gateway/gateway.yaml:4:1: error: duplicate key `a`, `b` in a mapping; "
                    + "hint: a key may appear once per mapping; YAML would otherwise keep only one of the values"
            ])
    }
}

/// Inputs the `upstream` fuzz target found, replayed through the upstream response parser.
@Suite("Fuzz regressions (upstream responses)")
struct UpstreamFuzzRegressionTests {
    /// `upstream-head-both-lengths`: byte 0 picks HEAD; the response holds both Content-Length (garbage) and
    /// Transfer-Encoding. It must be an error, not a bodiless response.
    @Test("a HEAD response with both length headers is a protocol error")
    func headBothLengths() throws {
        let path = TestTools.repositoryRoot + "/Fuzz/Regressions/upstream-head-both-lengths"
        let bytes = try #require(FileManager.default.contents(atPath: path))
        #expect(bytes.first.map { $0 & 1 } == 1, "the input no longer asks for HEAD")
        var parser = HTTP1ResponseParser()
        parser.requestSent(method: .HEAD)
        var buffer = ByteBuffer(bytes: bytes.dropFirst(2))
        #expect(throws: HTTP1ParseError.self) {
            while try parser.next(from: &buffer) != nil {}
        }
    }
}
