import Foundation
import JOSE
import Testing
import GatewayPolicy
import GatewayTooling
import TestSupport

/// Test cases that carry a real token: verified with the case's key at the case's time, as the gateway would.
@Suite("Policy test cases with tokens")
struct PolicyTokenCaseTests {
    @Test func tokensAreVerifiedBeforeTheirClaimsCount() throws {
        let directory = URL(fileURLWithPath: try TestTools.temporaryDirectory(prefix: "token-cases"))
        defer { try? FileManager.default.removeItem(at: directory) }

        let key = try JWSKey.generate(algorithm: .HS256, keyID: "test")
        let other = try JWSKey.generate(algorithm: .HS256, keyID: "test")
        try JSONSerializer.serialize(try key.jwk(includePrivate: true))
            .write(to: directory.appendingPathComponent("secret.jwk.json"), atomically: true, encoding: .utf8)
        let claims: [String: JSONValue] = ["sub": "alice", "scope": "read", "iat": 1000, "exp": 2000]
        let good = try JWTSigner.sign(claims: claims, key: key)
        let forged = try JWTSigner.sign(claims: claims, key: other)
        let cases = """
            cases:
              - name: valid token
                request: { method: GET, path: /data }
                token: \(good)
                key: secret.jwk.json
                now: 1500
                expect: { status: 200, route: data, headers: { X-User-Id: alice, X-User-Scopes: read } }
              - name: expired token
                request: { method: GET, path: /data }
                token: \(good)
                key: secret.jwk.json
                now: 5000
                expect: { status: 401, reason: token_invalid }
              - name: token signed by another key
                request: { method: GET, path: /data }
                token: \(forged)
                key: secret.jwk.json
                now: 1500
                expect: { status: 401, reason: token_invalid }
              - name: a public route never looks at the token
                request: { method: GET, path: /open }
                token: not-a-token
                key: secret.jwk.json
                expect: { status: 200, route: open, headers: {} }
            """
        let casesFile = directory.appendingPathComponent("cases.yaml")
        try cases.write(to: casesFile, atomically: true, encoding: .utf8)

        let policy = try PolicyFixtures.policy("""
            routes:
              - { name: data, match: { methods: [GET], path: /data }, upstream: a, require: { scopes: { all: [read] } } }
              - { name: open, match: { methods: [GET], path: /open }, upstream: a, auth: public }
            """)
        let loaded = try PolicyTestCaseLoader.load(files: [casesFile.path], now: 1500)
        let report = PolicyTestRunner.run(loaded, policy: policy)
        #expect(report.lines == ["ok valid token", "ok expired token", "ok token signed by another key",
                                 "ok a public route never looks at the token", "4 passed, 0 failed"])
    }

    @Test func tokenCaseErrors() {
        do {
            _ = try PolicyTestCaseLoader.load(sources: [PolicySource(path: "/nonexistent/t.yaml", text: """
                cases:
                  - name: no key
                    request: { method: GET, path: /x }
                    token: abc
                    expect: { status: 401 }
                  - name: missing key file
                    request: { method: GET, path: /x }
                    token: abc
                    key: keys/jwks.json
                    alg: RS255
                    expect: { status: 401 }
                  - name: key without token
                    request: { method: GET, path: /x }
                    key: keys/jwks.json
                    expect: { status: 401 }
                """)])
            Issue.record("loaded")
        } catch {
            let text = error.diagnostics.map(\.description)
            #expect(text.contains { $0.hasPrefix("/nonexistent/t.yaml:4:12: error: a case with a `token` needs the `key`") }, "\(text)")
            #expect(text.contains("/nonexistent/t.yaml:10:10: error: unknown algorithm `RS255`; hint: did you mean `RS256`?"), "\(text)")
            #expect(text.contains("/nonexistent/t.yaml:14:5: error: `key` only applies to a case with a `token`"), "\(text)")
        }
    }
}
