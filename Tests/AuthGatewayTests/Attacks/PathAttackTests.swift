import Foundation
import Testing
import GatewayPolicy

/// the attack catalogue "Paths and routing": `/admin/**` is protected (role `admin`), `/public/**` is public. Each
/// target goes out as raw bytes over TLS, without a token: a path that is really `/admin` must get the
/// protected route's 401, a refused one 400 (and the connection closes), an unknown one 404; what reaches
/// the upstream is byte for byte the path the policy saw, and the canary (named by `Host` or an
/// absolute-form target) is never contacted.
@Suite("Attacks: paths and routing", .serialized, .attackGateway())
struct PathAttackTests {
    typealias Challenge = AttackGateway.Challenge

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let origin: AttackOrigin
        /// The request head (built with the canary's port where the case needs it).
        let request: @Sendable (Canary) -> String
        let status: Int
        var challenge: Challenge?
        var closes = false
        /// For 200: the target the upstream must receive (and the access log's path, without the query).
        var forwardedTarget: String?

        var testDescription: String { name }

        /// A GET of `target` on a protected or refused path.
        static func get(
            _ target: String, _ status: Int, _ origin: AttackOrigin = .attacksMD, name: String? = nil
        ) -> Case {
            Case(
                name: name ?? "GET \(target.debugDescription)", origin: origin,
                request: { _ in AttackGateway.get(target) }, status: status,
                challenge: status == 401 ? .missing : nil, closes: status == 400)
        }

        /// A public GET that must be forwarded as `forwarded`.
        static func forwarded(_ target: String, as forwarded: String, _ origin: AttackOrigin = .attacksMD, name: String? = nil) -> Case {
            Case(
                name: name ?? "GET \(target.debugDescription) is forwarded as \(forwarded)", origin: origin,
                request: { _ in AttackGateway.get(target) }, status: 200, forwardedTarget: forwarded)
        }
    }

    static let fromAttacksMD: [Case] = [
        .get("//admin/x", 401),
        .get("/admin//x", 401),
        .get("/admin/", 401),
        .get("/admin", 401),
        .get("/ADMIN/x", 404, name: "GET \"/ADMIN/x\": matching is case-sensitive, no route"),
        .get("/%61dmin/x", 401),
        .get("/public/../admin/x", 401),
        .get("/public/%2e%2e/admin/x", 401),
        .get("/./admin/x", 401),
        .get("/admin%2fx", 400),
        .get("/public/..%2fadmin", 400),
        .get("/admin%5cx", 400),
        .get(#"/public\..\admin"#, 400),
        .get("/admin%00", 400),
        .get("/public/x#fragment", 400, name: "raw # in the target"),
        Case(name: "raw space inside the path", origin: .attacksMD, request: { _ in "GET /public/a b HTTP/1.1\r\nHost: localhost\r\n\r\n" }, status: 400, closes: true),
        .get("/public/a\u{01}b", 400, name: "control byte 0x01 in the path"),
        .get("/public/a\u{7F}b", 400, name: "control byte 0x7F in the path"),
        .get("/public/%zz", 400),
        .get("/public/%c0%af", 400),
        .get("/publicadmin", 404, name: "prefix on segment boundaries: /public does not match /publicadmin"),
        .forwarded("/public/a/./b/../c/%7euser/%41", as: "/public/a/c/~user/A", name: "the upstream gets exactly the canonical path the policy saw"),
        Case(name: "Host naming the canary: still the configured upstream", origin: .attacksMD, request: { canary in
            AttackGateway.get("/public/host", host: canary.hostPort)
        }, status: 200, forwardedTarget: "/public/host"),
        Case(name: "absolute-form target naming the canary", origin: .attacksMD, request: { canary in
            AttackGateway.get("http://\(canary.hostPort)/public/x", host: canary.hostPort)
        }, status: 400, closes: true),
    ]

    static let own: [Case] = [
        // CVE-2020-1957 (Apache Shiro), Tomcat/Spring path parameters: `;` segments strip to another path.
        .get("/admin;x/y", 400, .own("CVE-2020-1957, RFC 3986 §3.3")),
        .get("/public/..;/admin/x", 400, .own("CVE-2020-1957 (..;/), Tomcat path parameters")),
        // Double encoding: decoded once only; a double-decoding upstream is the upstream's bug, and the
        // gateway forwards exactly what it matched.
        .forwarded("/public/%252e%252e/admin/x", as: "/public/%252e%252e/admin/x", .own("CWE-174 double decoding, CVE-2001-0333")),
        .forwarded("/public/%252e%252e%252fadmin", as: "/public/%252e%252e%252fadmin", .own("CWE-174")),
        // Overlong UTF-8 for "." and "/" (CVE-2000-0884, IIS): refused, never decoded into dot segments.
        .get("/public/%c0%ae%c0%ae/admin/x", 400, .own("CVE-2000-0884, RFC 3629 §3")),
        .get("/public/%e0%80%ae%e0%80%ae/admin", 400, .own("RFC 3629 §3 (3-byte overlong)")),
        .get("/public/%ed%a0%80", 400, .own("RFC 3629 §3 (UTF-16 surrogate)")),
        .get("/public/%c3", 400, .own("RFC 3629 (truncated sequence)")),
        .get("/public/%2e%2e%2fadmin", 400, .own("RFC 3986 §2.2 (encoded reserved slash)")),
        .get("/public/.%2e/admin/x", 401, .own("RFC 3986 §5.2.4 (mixed dot encodings)")),
        .get("/public/%2E%2E/%2E/admin/x", 401, .own("RFC 3986 §2.1 (upper-case hex)")),
        .get("/public" + String(repeating: "/..", count: 200) + "/admin/x", 401, .own("RFC 3986 §5.2.4 (never above the root)"), name: "200 × /.. never climbs above the root"),
        .get("/public/caf\u{E9}", 400, .own("RFC 3986 §2 (raw non-ASCII)"), name: "raw non-ASCII byte in the path"),
        .forwarded("/public/%EF%BC%8F..%EF%BC%8Fadmin", as: "/public/%EF%BC%8F..%EF%BC%8Fadmin", .own("Unicode fullwidth solidus U+FF0F (best-fit mapping, Orange Tsai 2024)")),
        .forwarded("/public/x?next=/../admin&u=%2e%2e", as: "/public/x?next=/../admin&u=%2e%2e", .own("RFC 3986 §3.4: the query is never routed or rewritten")),
        .forwarded("/public/x?", as: "/public/x?", .own("RFC 3986 §3.4 (empty query kept)")),
        .get("/public/x?a=b#c", 400, .own("RFC 9112 §3.2 (no fragment in a request target)")),
        // Protocol-relative target: a proxy that reads `//host/path` as an authority goes to the canary.
        Case(name: "protocol-relative target //canary/public/x", origin: .own("CVE-2021-41773-class SSRF, RFC 3986 §4.2"), request: { canary in
            AttackGateway.get("//\(canary.hostPort)/public/x")
        }, status: 404),
        Case(name: "absolute-form with userinfo naming the canary", origin: .own("RFC 9112 §3.2.2, RFC 9110 §4.2.4"), request: { canary in
            AttackGateway.get("http://admin:pw@\(canary.hostPort)/public/x", host: canary.hostPort)
        }, status: 400, closes: true),
        Case(name: "absolute-form naming the gateway itself", origin: .own("RFC 9112 §3.2.2"), request: { _ in
            AttackGateway.get("https://localhost/admin/x")
        }, status: 400, closes: true),
        Case(name: "request-target * on GET", origin: .own("RFC 9112 §3.2.4"), request: { _ in AttackGateway.get("*") }, status: 400, closes: true),
        Case(name: "OPTIONS *", origin: .own("RFC 9112 §3.2.4"), request: { _ in AttackGateway.request("OPTIONS", "*") }, status: 400, closes: true),
        Case(name: "CONNECT to the canary (authority-form)", origin: .own("RFC 9110 §9.3.6, RFC 9112 §3.2.3"), request: { canary in
            AttackGateway.request("CONNECT", canary.hostPort, host: canary.hostPort)
        }, status: 400, closes: true),
        Case(name: "TRACE on a public path: never routed (405, Allow: GET)", origin: .own("RFC 9110 §9.3.8, §15.5.6, cross-site tracing"), request: { _ in
            AttackGateway.request("TRACE", "/public/x")
        }, status: 405),
        Case(name: "method in lower case", origin: .own("RFC 9110 §9.1 (methods are case-sensitive)"), request: { _ in
            AttackGateway.request("get", "/public/x")
        }, status: 400, closes: true),
        Case(name: "very long method (4,000 letters)", origin: .own("RFC 9112 §3 (method length), CVE-2019-9511-class resource use"), request: { _ in
            AttackGateway.request(String(repeating: "G", count: 4000), "/public/x")
        }, status: 400, closes: true),
        Case(name: "HEAD on a GET-only route", origin: .own("RFC 9110 §9.3.2; POLICY.md: GET does not imply HEAD"), request: { _ in
            AttackGateway.request("HEAD", "/admin/x")
        }, status: 404),
        Case(name: "Host with a port that is not the gateway's", origin: .own("RFC 9110 §7.2"), request: { _ in
            AttackGateway.get("/public/port", host: "localhost:1")
        }, status: 200, forwardedTarget: "/public/port"),
        Case(name: "Host with userinfo", origin: .own("RFC 9110 §4.2.4 (userinfo deprecated)"), request: { canary in
            AttackGateway.get("/public/x", host: "admin@\(canary.hostPort)")
        }, status: 400, closes: true),
        Case(name: "Host with a path", origin: .own("RFC 9112 §3.2"), request: { canary in
            AttackGateway.get("/public/x", host: "\(canary.hostPort)/admin")
        }, status: 400, closes: true),
    ]

    static let allCases = fromAttacksMD + own

    @Test("hostile request target", arguments: allCases)
    func path(_ attack: Case) async throws {
        let shared = try AttackGateway.shared()
        let marks = shared.begin()
        let (connection, response) = try await shared.exchange(Array(attack.request(shared.canary).utf8))
        if let target = attack.forwardedTarget {
            #expect(response?.status == attack.status, "\(String(describing: response))")
            let requests = await shared.forwarded(1, since: marks)
            if let request = requests.first {
                shared.expectSanitized(request, target: target, subject: String?.none)
            }
            // The policy matched the very path the upstream received.
            let records = await shared.gateway.observer.waitForRecords(marks.records + 1)
            #expect(records.dropFirst(marks.records).first?.path == String(target.prefix { $0 != "?" }))
            await shared.expectFate(connection, closes: false)
            return
        }
        shared.expectAnswer(response, status: attack.status, challenge: attack.challenge, closes: attack.closes)
        await shared.expectFate(connection, closes: attack.closes)
        await shared.expectUntouched(since: marks)
    }

    /// RFC 9110 §15.5.6: a path that routes take for other methods is 405 with `Allow`, but protected methods are
    /// named only to a client with a valid token; an anonymous client gets the 404 an unknown path gets.
    @Test("405 with Allow: public methods to anyone, protected methods only with a valid token")
    func methodNotAllowed() async throws {
        let shared = try AttackGateway.shared()
        let token = try shared.gateway.token(scope: "read:data")
        let cases: [(request: String, status: Int, allow: [String])] = [
            (AttackGateway.request("DELETE", "/public/x"), 405, ["GET"]),
            (AttackGateway.request("DELETE", "/api/data/x"), 404, []),
            (AttackGateway.request("DELETE", "/api/data/x", headers: ["Authorization: Bearer \(token)"]), 405, ["GET, HEAD, PUT"]),
            (AttackGateway.request("DELETE", "/api/data/x", headers: ["Authorization: Bearer forged.token.value"]), 404, []),
            (AttackGateway.request("DELETE", "/nowhere", headers: ["Authorization: Bearer \(token)"]), 404, []),
            (AttackGateway.request("PATCH", "/allowlisted/x"), 405, ["GET, POST"]),
        ]
        for (request, status, allow) in cases {
            let marks = shared.begin()
            let (connection, response) = try await shared.exchange(Array(request.utf8))
            shared.expectAnswer(response, status: status, closes: false, code: status == 405 ? "method_not_allowed" : "no_route")
            #expect(response?.values("Allow") ?? [] == allow, "\(request.prefix(40)): \(String(describing: response))")
            await shared.expectFate(connection, closes: false)
            await shared.expectUntouched(since: marks)
        }
    }
}
