import Foundation
import JOSE
import Yams
import GatewayPolicy

/// Reads test files (`cases:` lists, see docs/POLICY.md) with the same strictness as policy files.
package enum PolicyTestCaseLoader {
    static let fileKeys = ["cases"]
    static let caseKeys = ["name", "description", "request", "claims", "token", "key", "alg", "now", "expect"]
    static let requestKeys = ["method", "path", "host"]
    static let expectKeys = ["status", "route", "reason", "headers"]

    /// The test files of a policy directory: `DIR/tests/*.yaml` and `*.yml`, sorted by name.
    package static func defaultFiles(forPolicyDirectory directory: String) throws(PolicyLoadError) -> [String] {
        let base = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        return try PolicyLoader.yamlFiles(in: base + "/tests", what: "tests")
    }

    /// Loads test files; `now` is the verification time for token cases that do not set their own.
    package static func load(files: [String], now: Double) throws(PolicyLoadError) -> [PolicyTestCase] {
        try load(sources: PolicyLoader.readSources(files), now: now)
    }

    package static func load(sources: [PolicySource], now: Double = 0) throws(PolicyLoadError) -> [PolicyTestCase] {
        var diagnostics: [PolicyDiagnostic] = []
        var cases: [PolicyTestCase] = []
        var names: [String: SourceLocation] = [:]
        for source in sources {
            let document = YAMLDocument(file: source.path, text: source.text, diagnostics: &diagnostics)
            var reader = YAMLReader(file: source.path)
            let parsed = document.withRoot { root -> [PolicyTestCase] in
                guard let root else {
                    if diagnostics.allSatisfy({ $0.location.file != source.path }) {
                        reader.error("the file is empty", at: SourceLocation(file: source.path, line: 1, column: 1),
                                     hint: "a test file needs a `cases:` list")
                    }
                    return []
                }
                return decodeFile(root, reader: &reader, now: now)
            }
            for testCase in parsed {
                if let first = names[testCase.name] {
                    reader.error("test case name `\(testCase.name)` is already used at \(first)",
                                 at: testCase.location, hint: "give every case its own name")
                } else {
                    names[testCase.name] = testCase.location
                }
            }
            cases += parsed
            diagnostics += reader.diagnostics
        }
        guard diagnostics.isEmpty else { throw PolicyLoadError(diagnostics: diagnostics) }
        return cases
    }

    private static func decodeFile(_ root: Node, reader: inout YAMLReader, now: Double) -> [PolicyTestCase] {
        guard let entries = reader.mapping(root, "a test file") else { return [] }
        reader.checkKeys(entries, allowed: fileKeys, in: "a test file")
        reader.requireKeys(entries, ["cases"], in: "a test file", at: root)
        guard let node = entries.first(where: { $0.key == "cases" })?.value,
            let items = reader.sequence(node, "`cases`")
        else { return [] }
        return items.compactMap { decodeCase($0, reader: &reader, now: now) }
    }

    private static func decodeCase(_ node: Node, reader: inout YAMLReader, now: Double) -> PolicyTestCase? {
        let errorsBefore = reader.errorCount
        guard let entries = reader.mapping(node, "a test case") else { return nil }
        reader.checkKeys(entries, allowed: caseKeys, in: "a test case")
        reader.requireKeys(entries, ["name", "request", "expect"], in: "a test case", at: node)
        func value(_ key: String) -> Node? { entries.first(where: { $0.key == key })?.value }
        let name = value("name").flatMap { reader.string($0, "`name`") }
        if let text = value("description") { _ = reader.string(text, "`description`") }
        let request = value("request").flatMap { decodeRequest($0, reader: &reader) }
        var credential = PolicyTestCase.Credential.none
        if let claimsNode = value("claims") {
            guard case .object(let object)? = reader.json(claimsNode, "`claims`") else {
                if reader.errorCount == errorsBefore { reader.error("`claims` must be a mapping", at: claimsNode) }
                return nil
            }
            credential = .claims(object)
        }
        if let tokenNode = value("token") {
            if value("claims") != nil {
                reader.error("a case has `claims` or `token`, not both", at: tokenNode)
            }
            credential = decodeToken(tokenNode, entries, reader: &reader, now: now) ?? .none
        } else {
            for key in ["key", "alg", "now"] {
                if let keyNode = entries.first(where: { $0.key == key })?.keyNode {
                    reader.error("`\(key)` only applies to a case with a `token`", at: keyNode)
                }
            }
        }
        let expect = value("expect").flatMap { decodeExpectation($0, reader: &reader) }
        guard reader.errorCount == errorsBefore, let name, let request, let expect else { return nil }
        return PolicyTestCase(
            name: name, location: reader.location(node), method: request.method, target: request.path,
            host: request.host, credential: credential, expect: expect)
    }

    /// `token` with `key` (a PEM file, JWK or JWKS, relative to the test file), `alg` (for PEM keys) and
    /// `now` (seconds since 1970; default: the time the tests run).
    private static func decodeToken(
        _ tokenNode: Node, _ entries: [YAMLReader.Entry], reader: inout YAMLReader, now: Double
    ) -> PolicyTestCase.Credential? {
        func value(_ key: String) -> Node? { entries.first(where: { $0.key == key })?.value }
        guard let token = reader.string(tokenNode, "`token`") else { return nil }
        guard let keyNode = value("key") else {
            reader.error("a case with a `token` needs the `key` that verifies it", at: tokenNode,
                         hint: "add `key: path/to/jwks.json` (relative to this test file)")
            return nil
        }
        guard let keyPath = reader.string(keyNode, "`key`") else { return nil }
        var algorithm: JWSAlgorithm?
        if let algNode = value("alg"), let name = reader.string(algNode, "`alg`") {
            algorithm = JWSAlgorithm(rawValue: name)
            if algorithm == nil {
                reader.error("unknown algorithm `\(name)`", at: algNode,
                             hint: Suggestion.hint(for: name, among: JWSAlgorithm.allCases.map(\.rawValue)))
                return nil
            }
        }
        var time = now
        if let nowNode = value("now") {
            guard let seconds = reader.int(nowNode, "`now`") else { return nil }
            time = Double(seconds)
        }
        let base = (reader.file as NSString).deletingLastPathComponent
        let path = keyPath.hasPrefix("/") || base.isEmpty ? keyPath : base + "/" + keyPath
        guard let data = FileManager.default.contents(atPath: path) else {
            reader.error("cannot read key file \(path)", at: keyNode, hint: "paths are relative to the test file")
            return nil
        }
        do {
            let keys = try KeyFile.keys(from: [UInt8](data), algorithm: algorithm)
            return .token(token, verifier: JWTVerifier(keys: JWKSet(keys)), now: time)
        } catch {
            reader.error("cannot use key file \(path): \(error.reason)", at: keyNode)
            return nil
        }
    }

    private static func decodeRequest(
        _ node: Node, reader: inout YAMLReader
    ) -> (method: String, path: String, host: String?)? {
        guard let entries = reader.mapping(node, "`request`") else { return nil }
        reader.checkKeys(entries, allowed: requestKeys, in: "`request`")
        reader.requireKeys(entries, ["method", "path"], in: "`request`", at: node)
        func value(_ key: String) -> Node? { entries.first(where: { $0.key == key })?.value }
        let method = value("method").flatMap { reader.string($0, "`method`") }
        let path = value("path").flatMap { reader.string($0, "`path`") }
        let host = value("host").flatMap { reader.string($0, "`host`") }
        guard let method, let path else { return nil }
        return (method, path, host)
    }

    private static func decodeExpectation(_ node: Node, reader: inout YAMLReader) -> PolicyTestCase.Expectation? {
        guard let entries = reader.mapping(node, "`expect`") else { return nil }
        reader.checkKeys(entries, allowed: expectKeys, in: "`expect`")
        reader.requireKeys(entries, ["status"], in: "`expect`", at: node)
        func value(_ key: String) -> Node? { entries.first(where: { $0.key == key })?.value }
        guard let statusNode = value("status"), let status = reader.int(statusNode, "`status`") else { return nil }
        if ![200, 400, 401, 403, 404, 405].contains(status) {
            reader.error("the policy never answers \(status)", at: statusNode,
                         hint: "expect 200 (allowed), 400, 401, 403, 404 or 405")
        }
        var expectation = PolicyTestCase.Expectation(status: status)
        expectation.route = value("route").flatMap { reader.string($0, "`route`") }
        expectation.reason = value("reason").flatMap { reader.string($0, "`reason`") }
        if let headersNode = value("headers"), let headerEntries = reader.mapping(headersNode, "`headers`") {
            var headers: [String: String] = [:]
            for entry in headerEntries {
                if let text = reader.string(entry.value, "the value of header `\(entry.key)`") {
                    headers[entry.key.lowercased()] = text
                }
            }
            expectation.headers = headers
        }
        return expectation
    }
}
