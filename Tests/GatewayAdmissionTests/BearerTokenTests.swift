import NIOHTTP1
import Testing
@testable import GatewayAdmission

/// The `Authorization: Bearer` credential (RFC 6750 §2.1), value by value.
@Suite("BearerToken")
struct BearerTokenTests {
    @Test("well-formed bearer credentials yield exactly the token", arguments: [
        ("Bearer abc.def.ghi", "abc.def.ghi"),
        ("bearer abc", "abc"),
        ("BEARER abc", "abc"),
        ("BeArEr   abc  ", "abc"),
        ("  Bearer a-b_c~d+e/f==", "a-b_c~d+e/f=="),
        ("Bearer ===", "==="),
    ])
    func accepted(value: String, token: String) {
        #expect(BearerToken.parse(Substring(value)) == .token(Substring(token)))
    }

    @Test("other schemes carry no bearer token", arguments: [
        "Basic YWxhZGRpbjpvcGVuc2VzYW1l", "Bearerx abc", "Bear abc", "Digest username=x", "", "   ", "Token abc",
        "Bearer-x abc", "Bearer.x",
    ])
    func absent(value: String) {
        #expect(BearerToken.parse(Substring(value)) == .absent)
    }

    @Test("a credential that is not a well-formed token is a malformed token (401 invalid_token)", arguments: [
        "Bearer", "Bearer ", "bearer     ", "Bearer abc def", "Bearer abc=def", "Bearer a\"b",
        "Bearer abc;", "Bearer ab\u{e9}c", "Bearer abc\u{0}", "Bearer =abc", "Bearer abc==.def",
        // The Bearer scheme followed by neither SP nor a scheme-name byte: a malformed credential, not another
        // scheme (issue 11, class 7).
        "Bearer\tabc", "bearer\tabc def", "Bearer:abc", "Bearer,abc", "Bearer\u{0}abc",
    ])
    func malformed(value: String) {
        guard case .malformed = BearerToken.parse(Substring(value)) else {
            Issue.record("\(value.debugDescription) must be a malformed token, got \(BearerToken.parse(Substring(value)))")
            return
        }
    }

    @Test("two credentials in one Authorization value are an invalid request (400)", arguments: [
        "Bearer a, Bearer b", "Bearer a,b", "Bearer a , Basic Zm9v", "Bearer abc,",
    ])
    func twoCredentials(value: String) {
        #expect(BearerToken.parse(Substring(value)) == .invalidRequest("more than one credential"))
    }

    @Test("two Authorization headers, or a token in the query as well, are refused")
    func duplicates() {
        var two = HTTPHeaders()
        two.add(name: "Authorization", value: "Bearer a")
        two.add(name: "authorization", value: "Bearer b")
        #expect(BearerToken.extract(from: two, query: nil) == .invalidRequest("more than one Authorization header"))
        var one = HTTPHeaders()
        one.add(name: "Authorization", value: "Bearer a")
        guard case .invalidRequest = BearerToken.extract(from: one, query: "x=1&access_token=b") else {
            Issue.record("a token in the query must be refused")
            return
        }
        #expect(BearerToken.extract(from: one, query: "x=1") == .token("a"))
        #expect(BearerToken.extract(from: HTTPHeaders(), query: nil) == .absent)
    }
}
