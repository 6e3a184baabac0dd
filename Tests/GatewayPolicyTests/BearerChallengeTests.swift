import Testing
import GatewayPolicy

@Suite("WWW-Authenticate")
struct BearerChallengeTests {
    @Test func rfc6750Forms() {
        #expect(BearerChallenge.tokenRequired.headerValue(realm: "api") == "Bearer realm=\"api\"")
        #expect(BearerChallenge.invalidToken.headerValue(realm: "api")
            == "Bearer realm=\"api\", error=\"invalid_token\"")
        #expect(BearerChallenge.invalidRequest.headerValue(realm: "api")
            == "Bearer realm=\"api\", error=\"invalid_request\"")
        #expect(BearerChallenge.insufficientScope(scopes: ["a", "b"]).headerValue(realm: "api")
            == "Bearer realm=\"api\", error=\"insufficient_scope\", scope=\"a b\"")
        #expect(BearerChallenge.insufficientScope(scopes: []).headerValue(realm: "api")
            == "Bearer realm=\"api\", error=\"insufficient_scope\"")
    }

    @Test func realmIsQuotedAndEscaped() {
        #expect(BearerChallenge.tokenRequired.headerValue(realm: "a \"b\" \\c")
            == "Bearer realm=\"a \\\"b\\\" \\\\c\"")
        #expect(BearerChallenge.tokenRequired.headerValue(realm: "x\r\nSet-Cookie: y\u{0}é")
            == "Bearer realm=\"xSet-Cookie: y\"")
    }

    @Test func scopesThatCannotBeTokensAreLeftOut() {
        #expect(BearerChallenge.insufficientScope(scopes: ["ok", "a b", "q\"", "b\\s", "", "ok", "é", "x\n"])
            .headerValue(realm: "r") == "Bearer realm=\"r\", error=\"insufficient_scope\", scope=\"ok\"")
    }
}
