import Testing
import GatewayPolicy

@Suite("Path patterns")
struct PathPatternTests {
    @Test(arguments: [
        ("/", "/", false),
        ("/**", "/**", true),
        ("/api/**", "/api/**", true),
        ("/api/{id}/x", "/api/*/x", false),
        ("/api/*", "/api/*", false),
        ("/api/", "/api/", false),
        ("/a%20b", "/a%20b", false),
    ])
    func parses(_ text: String, _ shape: String, _ isPrefix: Bool) throws {
        let pattern = try PathPattern.parse(text).get()
        #expect(pattern.shape == shape)
        #expect(pattern.isPrefix == isPrefix)
        #expect(pattern.text == text)
    }

    @Test(arguments: [
        ("api", "must start with `/`"),
        ("/api//x", "empty path segment"),
        ("/**/x", "`**` may only be the last segment"),
        ("/api/**/", "`**` may only be the last segment"),
        ("/api/x*", "wildcards match whole segments only"),
        ("/api/{id", "wildcards match whole segments only"),
        ("/api/{1d}", "not an identifier"),
        ("/api/%61", "not in canonical form"),
        ("/api/%2a", "not in canonical form"),
        ("/api/./x", "not in canonical form"),
        ("/api/../x", "not in canonical form"),
        ("/api/%2F", "can never match a request"),
        ("/api;x", "can never match a request"),
        ("/api x", "can never match a request"),
    ])
    func refuses(_ text: String, _ message: String) throws {
        let error = try #require(PathPattern.parse(text).failure)
        #expect(error.message.contains(message), "\(text): \(error.message)")
    }
}
