import GatewayPolicy
import TestSupport
import Testing

@Suite("Canonical path")
struct CanonicalPathTests {
    /// the attack catalogue "Paths and routing" and RFC 3986 §5.2.4: inputs that canonicalize, and their one form.
    @Test(arguments: [
        ("/", "/"),
        ("/admin/x", "/admin/x"),
        ("//admin/x", "/admin/x"),
        ("/admin//x", "/admin/x"),
        ("/admin/", "/admin/"),
        ("/admin", "/admin"),
        ("/ADMIN/x", "/ADMIN/x"),
        ("/%61dmin/x", "/admin/x"),
        ("/public/../admin/x", "/admin/x"),
        ("/public/%2e%2e/admin/x", "/admin/x"),
        ("/public/%2E./admin/x", "/admin/x"),
        ("/./admin/x", "/admin/x"),
        ("/../../../admin", "/admin"),
        ("/%2e%2e/%2e%2e/admin", "/admin"),
        ("/a/b/..", "/a/"),
        ("/a/b/.", "/a/b/"),
        ("/a/..", "/"),
        ("/..", "/"),
        ("/.", "/"),
        ("//", "/"),
        ("///a///b///", "/a/b/"),
        ("/a/./b/../c", "/a/c"),
        ("/a/.../b", "/a/.../b"),
        ("/a/..b/c", "/a/..b/c"),
        ("/%7e%41%5a%30%2D%5F", "/~AZ0-_"),
        ("/a%20b", "/a%20b"),
        ("/a%2ab", "/a%2Ab"),
        ("/a%3fb%3Fc", "/a%3Fb%3Fc"),
        ("/caf%c3%a9", "/caf%C3%A9"),
        ("/%F0%9F%98%80", "/%F0%9F%98%80"),
        ("/%25", "/%25"),
        ("/%252e%252e/admin", "/%252e%252e/admin"),
        ("/a:b@c!$&'()*+,=", "/a:b@c!$&'()*+,="),
        ("/publicadmin", "/publicadmin"),
    ])
    func canonicalizes(_ input: String, _ expected: String) throws {
        let target = try CanonicalPath.canonicalize(input).get()
        #expect(target.path == expected)
        #expect(target.query == nil)
    }

    /// Every rejection case from the attack catalogue plus neighbours: 400 before routing.
    @Test(arguments: [
        ("/admin%2fx", "encoded_slash"),
        ("/admin%2Fx", "encoded_slash"),
        ("/public/..%2fadmin", "encoded_slash"),
        ("/admin%5cx", "encoded_backslash"),
        ("/public\\..\\admin", "backslash"),
        ("/admin%00", "encoded_nul"),
        ("/admin%0a", "encoded_control"),
        ("/admin%0D%0AX-User-Id:%20root", "encoded_control"),
        ("/admin%7f", "encoded_control"),
        ("/admin#x", "fragment"),
        ("/admin?x#y", "fragment"),
        ("/admin x", "invalid_character"),
        ("/admin\u{0}", "control_character"),
        ("/admin\tx", "control_character"),
        ("/admin\r\nx", "control_character"),
        ("/admin\u{7f}", "control_character"),
        ("/admin%zz", "invalid_escape"),
        ("/admin%4", "invalid_escape"),
        ("/admin%", "invalid_escape"),
        ("/admin%%41", "invalid_escape"),
        ("/%c0%af", "invalid_utf8"),
        ("/public%c0%af..%c0%afadmin", "invalid_utf8"),
        ("/%c1%9c", "invalid_utf8"),
        ("/%e0%80%af", "invalid_utf8"),
        ("/%ed%a0%80", "invalid_utf8"),
        ("/%f4%90%80%80", "invalid_utf8"),
        ("/%c3", "invalid_utf8"),
        ("/%c3/x", "invalid_utf8"),
        ("/%c3a", "invalid_utf8"),
        ("/%c3%41", "invalid_utf8"),
        ("/%80", "invalid_utf8"),
        ("/%ff", "invalid_utf8"),
        ("/caf\u{e9}", "invalid_character"),
        ("/a<b>", "invalid_character"),
        ("/a\"b", "invalid_character"),
        ("/a{b}", "invalid_character"),
        ("/a|b", "invalid_character"),
        ("/a[b]", "invalid_character"),
        ("/a^b", "invalid_character"),
        ("/a`b", "invalid_character"),
        ("/public/..;/admin", "path_parameter"),
        ("/admin;jsessionid=1/x", "path_parameter"),
        ("", "not_origin_form"),
        ("*", "not_origin_form"),
        ("admin", "not_origin_form"),
        ("http://evil.example/admin", "not_origin_form"),
        ("/a?b c", "invalid_character"),
        ("/a?b\nc", "control_character"),
        ("/a?%zz", "invalid_escape"),
        ("/a?caf\u{e9}", "invalid_character"),
    ])
    func rejects(_ input: String, _ code: String) {
        switch CanonicalPath.canonicalize(input) {
        case .success(let target):
            Issue.record("\(input.debugDescription) was accepted as \(target)")
        case .failure(let rejection):
            #expect(rejection.code.rawValue == code, "\(input.debugDescription): \(rejection)")
        }
    }

    @Test func rejectionNamesTheOffset() throws {
        let rejection = try #require(CanonicalPath.canonicalize("/ok/%2f").failure)
        #expect(rejection.offset == 4)
        #expect(rejection.description == "encoded_slash at byte 4")
    }

    @Test func queryIsKeptVerbatimAndNeverNormalized() throws {
        let target = try CanonicalPath.canonicalize("/a/../b?x=/../admin&y=%2f%2e%41&z=?").get()
        #expect(target.path == "/b")
        #expect(target.query == "x=/../admin&y=%2f%2e%41&z=?")
        #expect(target.description == "/b?x=/../admin&y=%2f%2e%41&z=?")
        #expect(try CanonicalPath.canonicalize("/b?").get().query == "")
        #expect(try CanonicalPath.canonicalize("/b").get().query == nil)
    }

    @Test func bytesAndStringAgree() throws {
        let bytes = Array("/x/%2e%2E/y%7E?q".utf8)
        #expect(try CanonicalPath.canonicalize(bytes).get() == CanonicalPath.canonicalize("/x/%2e%2E/y%7E?q").get())
    }

    /// canonical(canonical(x)) == canonical(x), over hand-picked and generated inputs.
    @Test func isIdempotent() throws {
        var inputs = [
            "/a/%2e%2e/b/./c//d/", "/%61%62%63/%2E/", "/x/%25%32%65/", "/..%2e/", "/.%2e/a", "/a/b/%2e%2e",
            "/%7E/%7e/~", "/a%20/%2a/%3A",
        ]
        let pieces = ["a", "..", ".", "", "%2e", "%2E%2e", "%41", "%20", "%25", "b~", "%c3%a9", ":", "@"]
        var generator = SplitMix64(seed: 42)
        for _ in 0..<2000 {
            let count = Int(generator.next() % 6) + 1
            inputs.append("/" + (0..<count).map { _ in pieces[Int(generator.next() % UInt64(pieces.count))] }
                .joined(separator: "/"))
        }
        for input in inputs {
            let once = try CanonicalPath.canonicalize(input).get()
            let twice = try CanonicalPath.canonicalize(once.path).get()
            #expect(once.path == twice.path, "\(input)")
            #expect(!once.path.contains("//") && !once.path.contains("/./") && !once.path.contains("/../"))
            #expect(!once.path.hasSuffix("/.") && !once.path.hasSuffix("/.."))
        }
    }

    /// Arbitrary bytes never trap; the output, when there is one, is canonical and ASCII.
    @Test func randomBytesNeverTrap() throws {
        var generator = SplitMix64(seed: 7)
        let alphabet = Array("/.%2eEfF0aA;?#\\ \u{0}\u{7f}".utf8) + [0x80, 0xC3, 0xFF]
        for _ in 0..<5000 {
            let count = Int(generator.next() % 24)
            let bytes = [UInt8(ascii: "/")] + (0..<count).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }
            if case .success(let target) = CanonicalPath.canonicalize(bytes) {
                #expect(target.path.utf8.allSatisfy { $0 < 0x80 })
                #expect(try CanonicalPath.canonicalize(target.path).get().path == target.path)
            }
        }
    }
}

/// A small deterministic generator for reproducible test inputs.

extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
