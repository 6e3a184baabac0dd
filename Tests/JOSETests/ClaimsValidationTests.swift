import Testing

@testable import JOSE

@Suite("ClaimsValidation")
struct ClaimsValidationTests {
    static let now: Double = 1_700_000_000

    private static func failure(
        _ claims: [String: JSONValue],
        _ validation: ClaimsValidation = ClaimsValidation(),
        now: Double = now
    ) -> JOSEError? {
        do {
            try validation.validate(claims, now: now)
            return nil
        } catch {
            return error
        }
    }

    private static func exp(_ offset: Double) -> [String: JSONValue] {
        ["exp": .double(now + offset)]
    }

    // MARK: exp

    @Test(
        "exp with the default 60 s leeway",
        arguments: [
            (3_600.0, nil),
            (0.0, nil),
            (-59.0, nil),  // just inside the leeway
            (-59.999, nil),
            (-60.0, JOSEError.Code.tokenExpired),  // at the leeway: now == exp + leeway is expired
            (-61.0, .tokenExpired),  // just outside
            (-86_400.0, .tokenExpired),
        ]
    )
    func expiration(offset: Double, expected: JOSEError.Code?) {
        #expect(Self.failure(Self.exp(offset))?.code == expected)
    }

    @Test("exp without leeway: valid strictly before exp")
    func expirationWithoutLeeway() {
        let strict = ClaimsValidation(leeway: 0)
        #expect(Self.failure(Self.exp(1), strict) == nil)
        #expect(Self.failure(Self.exp(0.001), strict) == nil)
        #expect(Self.failure(Self.exp(0), strict)?.code == .tokenExpired)
        #expect(Self.failure(["exp": .int(Int64(Self.now))], strict)?.code == .tokenExpired)
        #expect(Self.failure(["exp": .int(Int64(Self.now) + 1)], strict) == nil)
    }

    @Test("Missing exp: rejected by default, allowed when not required")
    func missingExpiration() {
        #expect(Self.failure([:])?.code == .missingClaim)
        #expect(Self.failure(["sub": .string("a")])?.reason.contains("exp") == true)
        #expect(Self.failure([:], ClaimsValidation(requireExpiration: false)) == nil)
    }

    @Test("The expiry reason says how long ago")
    func expirationReason() throws {
        let error = try #require(Self.failure(Self.exp(-192)))
        #expect(error.reason.contains("3m12s ago"), "\(error.reason)")
        let old = try #require(Self.failure(Self.exp(-(2 * 86_400 + 3 * 3_600 + 5))))
        #expect(old.reason.contains("2d3h5s ago"), "\(old.reason)")
    }

    // MARK: nbf and iat

    @Test(
        "nbf with the default leeway",
        arguments: [
            (-3_600.0, nil), (0.0, nil), (59.0, nil), (60.0, nil), (60.5, JOSEError.Code.tokenNotYetValid),
            (61.0, .tokenNotYetValid), (86_400.0, .tokenNotYetValid),
        ]
    )
    func notBefore(offset: Double, expected: JOSEError.Code?) {
        var claims = Self.exp(7_200)
        claims["nbf"] = .double(Self.now + offset)
        #expect(Self.failure(claims)?.code == expected)
    }

    @Test(
        "iat with the default leeway",
        arguments: [
            (-3_600.0, nil), (0.0, nil), (59.0, nil), (60.0, nil), (61.0, JOSEError.Code.issuedInFuture),
            (86_400.0, .issuedInFuture),
        ]
    )
    func issuedAt(offset: Double, expected: JOSEError.Code?) {
        var claims = Self.exp(7_200)
        claims["iat"] = .double(Self.now + offset)
        #expect(Self.failure(claims)?.code == expected)
    }

    @Test("nbf and iat reasons say how far in the future")
    func futureReasons() throws {
        var claims = Self.exp(7_200)
        claims["nbf"] = .double(Self.now + 3_600)
        #expect(try #require(Self.failure(claims)).reason.contains("1h"))
        claims = Self.exp(7_200)
        claims["iat"] = .double(Self.now + 125)
        #expect(try #require(Self.failure(claims)).reason.contains("2m5s"))
    }

    // MARK: Types and ranges of time claims

    static let badTimes: [JSONValue] = [
        .string("1700000000"), .null, .bool(true), .array([.int(1)]), .object([:]), .int(-1), .double(-0.5),
        .int(253_402_300_800), .double(1e300), .int(.max), .int(.min), .double(.nan), .double(.infinity),
        .double(-.infinity),
    ]

    @Test("exp, nbf and iat must be numbers from 0 to year 9999", arguments: ["exp", "nbf", "iat"], badTimes)
    func timeTypes(name: String, value: JSONValue) {
        var claims = Self.exp(3_600)
        claims[name] = value
        #expect(Self.failure(claims, ClaimsValidation(requireExpiration: false))?.code == .invalidClaim)
    }

    @Test("Range boundaries are accepted")
    func timeRangeBoundaries() {
        let lenient = ClaimsValidation(requireExpiration: false)
        #expect(Self.failure(["nbf": .int(0), "iat": .int(0)], lenient) == nil)
        #expect(Self.failure(["exp": .int(253_402_300_799)]) == nil)
        #expect(Self.failure(["exp": .double(-0.0)], lenient)?.code == .tokenExpired)
    }

    // MARK: Lifetime

    @Test("maxLifetime uses exp - iat, or exp - now without iat")
    func lifetime() {
        let validation = ClaimsValidation(maxLifetime: 3_600)
        var claims: [String: JSONValue] = ["iat": .double(Self.now - 10), "exp": .double(Self.now + 3_590)]
        #expect(Self.failure(claims, validation) == nil)
        claims["exp"] = .double(Self.now + 3_591)
        #expect(Self.failure(claims, validation)?.code == .lifetimeTooLong)
        #expect(Self.failure(Self.exp(3_600), validation) == nil)
        #expect(Self.failure(Self.exp(3_601), validation)?.code == .lifetimeTooLong)
        #expect(Self.failure(Self.exp(30 * 86_400), ClaimsValidation()) == nil)
    }

    @Test("maxLifetime requires exp even when exp is otherwise optional")
    func lifetimeNeedsExpiration() {
        let validation = ClaimsValidation(requireExpiration: false, maxLifetime: 3_600)
        #expect(Self.failure(["iat": .double(Self.now)], validation)?.code == .missingClaim)
    }

    // MARK: iss

    @Test("iss must equal an accepted issuer exactly")
    func issuer() {
        let validation = ClaimsValidation(issuers: ["https://idp.example.com", "https://other.example.com"])
        func claims(_ issuer: JSONValue?) -> [String: JSONValue] {
            var claims = Self.exp(3_600)
            claims["iss"] = issuer
            return claims
        }
        #expect(Self.failure(claims(.string("https://idp.example.com")), validation) == nil)
        #expect(Self.failure(claims(.string("https://other.example.com")), validation) == nil)
        for wrong in ["https://evil.example.com", "https://idp.example.com/", "HTTPS://IDP.EXAMPLE.COM",
            "https://idp.example.com.evil.com", "", "https://idp.example.com\u{0}"]
        {
            #expect(Self.failure(claims(.string(wrong)), validation)?.code == .badIssuer, "\(wrong)")
        }
        #expect(Self.failure(claims(nil), validation)?.code == .missingClaim)
        #expect(Self.failure(claims(.int(1)), validation)?.code == .invalidClaim)
        #expect(Self.failure(claims(.null), validation)?.code == .invalidClaim)
        #expect(Self.failure(claims(.array([.string("https://idp.example.com")])), validation)?.code == .invalidClaim)
        // Not configured: not checked.
        #expect(Self.failure(claims(.string("anything")), ClaimsValidation()) == nil)
        #expect(Self.failure(claims(.int(1)), ClaimsValidation()) == nil)
        // The reason does not echo the token's issuer.
        #expect(Self.failure(claims(.string("https://evil.example.com")), validation)?.reason.contains("evil") == false)
    }

    // MARK: aud

    @Test(
        "aud: a string or an array containing an accepted audience",
        arguments: [
            (JSONValue.string("api"), nil),
            (.string("web"), nil),
            (.string("other"), JOSEError.Code.badAudience),
            (.string("API"), .badAudience),
            (.string(""), .badAudience),
            (.array([.string("api")]), nil),
            (.array([.string("other"), .string("web")]), nil),
            (.array([.string("other"), .string("third")]), .badAudience),
            (.array([]), .badAudience),
            (.array([.string("api"), .int(1)]), .invalidClaim),
            (.array([.null]), .invalidClaim),
            (.int(1), .invalidClaim),
            (.null, .invalidClaim),
            (.object(["api": .bool(true)]), .invalidClaim),
        ]
    )
    func audience(aud: JSONValue, expected: JOSEError.Code?) {
        var claims = Self.exp(3_600)
        claims["aud"] = aud
        #expect(Self.failure(claims, ClaimsValidation(audiences: ["api", "web"]))?.code == expected)
        // Not configured: not checked.
        #expect(Self.failure(claims) == nil)
    }

    @Test("aud missing when audiences are configured")
    func missingAudience() {
        #expect(Self.failure(Self.exp(3_600), ClaimsValidation(audiences: ["api"]))?.code == .missingClaim)
    }

    // MARK: Required claims

    @Test("Required claims must be present and not null")
    func requiredClaims() {
        let validation = ClaimsValidation(requiredClaims: ["sub", "tenant"])
        var claims = Self.exp(3_600)
        claims["sub"] = .string("alice")
        claims["tenant"] = .int(0)
        #expect(Self.failure(claims, validation) == nil)
        claims["tenant"] = .bool(false)
        #expect(Self.failure(claims, validation) == nil)
        claims["tenant"] = .null
        #expect(Self.failure(claims, validation)?.code == .missingClaim)
        claims["tenant"] = nil
        #expect(Self.failure(claims, validation)?.code == .missingClaim)
        #expect(Self.failure(claims, validation)?.reason.contains("tenant") == true)
    }

    // MARK: Order, clock and formatting

    @Test("A full, valid token passes every check")
    func fullValid() {
        let validation = ClaimsValidation(
            issuers: ["https://idp"], audiences: ["api"], leeway: 30, maxLifetime: 7_200, requiredClaims: ["sub"]
        )
        let claims: [String: JSONValue] = [
            "iss": .string("https://idp"), "aud": .array([.string("x"), .string("api")]), "sub": .string("a"),
            "exp": .int(Int64(Self.now) + 600), "nbf": .int(Int64(Self.now) - 5), "iat": .int(Int64(Self.now) - 5),
        ]
        #expect(Self.failure(claims, validation) == nil)
    }

    @Test("Time checks fail closed on a NaN clock")
    func nanClock() {
        #expect(Self.failure(Self.exp(3_600), now: .nan)?.code == .tokenExpired)
        let lenient = ClaimsValidation(requireExpiration: false)
        #expect(Self.failure(["nbf": .int(0)], lenient, now: .nan)?.code == .tokenNotYetValid)
        #expect(Self.failure(["iat": .int(0)], lenient, now: .nan)?.code == .issuedInFuture)
    }

    @Test("The injected clock is the only clock")
    func injectedClock() {
        let claims: [String: JSONValue] = ["exp": .int(1_000)]
        #expect(Self.failure(claims, now: 900) == nil)
        #expect(Self.failure(claims, now: 1_060)?.code == .tokenExpired)
    }

    @Test(
        "Durations for people",
        arguments: [
            (0.0, "0s"), (0.4, "under 1s"), (1.0, "1s"), (59.9, "59s"), (60.0, "1m"), (192.0, "3m12s"),
            (3_600.0, "1h"), (3_661.0, "1h1m1s"), (90_061.0, "1d1h1m1s"), (-5.0, "-5s"), (.nan, "an unbounded time"),
            (.infinity, "an unbounded time"), (1e300, "a very long time"), (-1e300, "a very long time"),
        ]
    )
    func describe(seconds: Double, expected: String) {
        #expect(ClaimsValidation.describe(seconds) == expected)
    }
}
