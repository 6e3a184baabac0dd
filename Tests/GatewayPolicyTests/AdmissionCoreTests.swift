import GatewayPolicy
import JOSE
import TestSupport
import Testing

/// The one order of checks the gateway, the fuzz target and keytool share: when the credentials are looked
/// at, and what each token check becomes.
@Suite("Admission core")
struct AdmissionCoreTests {
    static let yaml = """
        routes:
          - name: read
            match: { methods: [GET], path: /api/** }
            upstream: a
            require: { scopes: { all: [read] } }
          - name: open
            match: { methods: [GET], path: /open/** }
            upstream: a
            auth: public
          - name: open-post
            match: { methods: [POST], path: /mixed }
            upstream: a
            auth: public
          - name: protected-put
            match: { methods: [PUT], path: /mixed }
            upstream: a
        """

    let policy: Policy

    init() throws {
        policy = try PolicyFixtures.policy(Self.yaml)
    }

    /// Decides with a token check that counts how often it is asked.
    func decide(_ method: String, _ path: String, _ check: TokenCheck<Int>) -> (AdmissionCore.Outcome<Int>, asked: Int) {
        var asked = 0
        let outcome = AdmissionCore.decide(policy, method: method, host: nil, path: path) { () -> TokenCheck<Int> in
            asked += 1
            return check
        }
        return (outcome, asked)
    }

    func decision(_ outcome: AdmissionCore.Outcome<Int>) -> Decision? {
        if case .decided(let decision, _, _) = outcome { return decision }
        return nil
    }

    @Test("a public route never looks at the credentials, whatever they are")
    func publicRoute() {
        for check: TokenCheck<Int> in [.anonymous, .rejected(JOSEError(.badSignature, "x")), .needsKeys(1), .keysUnavailable] {
            let (outcome, asked) = decide("GET", "/open/x", check)
            #expect(asked == 0)
            #expect(decision(outcome)?.status == 200)
        }
    }

    @Test("a protected route asks once and words each answer as the gateway answers it")
    func protectedRoute() {
        let verified = decide("GET", "/api/x", .verified(VerifiedClaims(["sub": "u", "scope": "read"])))
        #expect(verified.asked == 1)
        #expect(decision(verified.0)?.status == 200)
        if case .decided(_, let claims, let error) = verified.0 {
            #expect(claims?["sub"] == .string("u"))
            #expect(error == nil)
        } else {
            Issue.record("\(verified.0)")
        }

        let rejected = decide("GET", "/api/x", .rejected(JOSEError(.tokenExpired, "expired")))
        if case .decided(.deny(let denial), let claims, let error?) = rejected.0 {
            #expect(claims == nil)
            #expect(denial.status == 401)
            #expect(denial.reason == .tokenInvalid)
            #expect(error.code == .tokenExpired)
        } else {
            Issue.record("\(rejected.0)")
        }
        #expect(decision(decide("GET", "/api/x", .anonymous).0)?.status == 401)
        #expect(decision(decide("GET", "/api/x", .verified(VerifiedClaims(["sub": "u", "scope": "write"]))).0)?.status == 403)

        guard case .needsKeys(7) = decide("GET", "/api/x", .needsKeys(7)).0 else { Issue.record("needsKeys"); return }
        guard case .keysUnavailable(let route) = decide("GET", "/api/x", .keysUnavailable).0 else { Issue.record("503"); return }
        #expect(route.name == "read")
        guard case .invalidRequest(let other) = decide("GET", "/api/x", .invalidRequest("two")).0 else { Issue.record("400"); return }
        #expect(other.name == "read")
    }

    @Test("an unrouted request looks at the credentials only when a protected route takes the path for another method")
    func unrouted() {
        // Nothing takes /nowhere: 404 without a look at the token.
        let nowhere = decide("GET", "/nowhere", .needsKeys(1))
        #expect(nowhere.asked == 0)
        #expect(decision(nowhere.0)?.status == 404)
        // Only a public route takes /open/x (GET): 405 naming it, without a look at the token.
        let open = decide("DELETE", "/open/x", .needsKeys(1))
        #expect(open.asked == 0)
        #expect(decision(open.0)?.status == 405)
        // /mixed has a protected PUT: the token is checked, and only a valid one learns of PUT.
        guard case .deny(let anonymous)? = decision(decide("DELETE", "/mixed", .anonymous).0) else { Issue.record("405"); return }
        #expect(anonymous.allow?.methodNames == ["POST"])
        guard case .deny(let valid)? = decision(decide("DELETE", "/mixed", .verified(VerifiedClaims(["sub": "u"]))).0) else { Issue.record("405"); return }
        #expect(valid.allow?.methodNames == ["POST", "PUT"])
        guard case .needsKeys(3) = decide("DELETE", "/mixed", .needsKeys(3)).0 else { Issue.record("needsKeys"); return }
    }
}
