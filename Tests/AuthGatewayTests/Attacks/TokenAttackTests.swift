import Foundation
import TestSupport
import JOSE
import Testing
import AuthGateway

/// the attack catalogue "Tokens", end to end: every hostile token goes through the real TLS listener to a protected
/// route (`GET /api/data/**`, scope `read:data`); the gateway answers it, the upstream receives nothing, the
/// canary is never contacted (no key is ever fetched from a token), and a plain denial keeps the connection.
@Suite("Attacks: tokens", .serialized, .attackGateway({ tokenAttackOptions() }))
struct TokenAttackTests {
    typealias Challenge = AttackGateway.Challenge

    /// One token attack: the request's header lines (built with the suite's keys), and the answer.
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let origin: AttackOrigin
        var target = "/api/data/token"
        let headers: @Sendable (TokenForge, Canary) throws -> [String]
        /// 200: forwarded with `subject` as the identity.
        let status: Int
        var challenge: Challenge?
        var closes = false
        var subject: String?

        var testDescription: String { name }

        static func rejected(_ name: String, _ origin: AttackOrigin = .attacksMD, token: @escaping @Sendable (TokenForge, Canary) throws -> String) -> Case {
            Case(name: name, origin: origin, headers: { ["Authorization: Bearer " + (try token($0, $1))] }, status: 401, challenge: .invalidToken)
        }

        static func accepted(_ name: String, _ origin: AttackOrigin, subject: String = "mallory", headers: @escaping @Sendable (TokenForge, Canary) throws -> [String]) -> Case {
            Case(name: name, origin: origin, headers: headers, status: 200, subject: subject)
        }
    }

    // MARK: the attack catalogue

    /// `alg` none in every spelling, empty, missing, null, a number; unsigned and with the real key's signature.
    static let algNone: [Case] = {
        let values: [(String, JSONValue?)] = [
            ("none", "none"), ("None", "None"), ("NONE", "NONE"), ("nOnE", "nOnE"), ("empty", ""),
            ("missing", nil), ("null", .null), ("123", 123),
        ]
        return values.flatMap { label, value in
            [false, true].map { signed in
                Case.rejected("alg \(label), \(signed ? "with a valid RS256 signature" : "no signature")") { forge, _ in
                    let key = forge.fixtures.rsaKey
                    return try forge.raw(
                        header: forge.header(for: key, ["alg": value]), payload: TokenForge.text(.object(forge.claims())),
                        key: signed ? key : nil)
                }
            }
        }
    }()

    /// The RS256 public key, in six encodings, as an HS256 secret; with the RSA key's kid and without a kid.
    static let algorithmConfusion: [Case] = {
        let forms = ["SPKI PEM", "SPKI PEM without final newline", "SPKI DER", "PKCS#1 DER", "PKCS#1 PEM", "JWK JSON text"]
        var cases = forms.flatMap { form in
            [true, false].map { withKid in
                Case.rejected("alg confusion: RS256 public key (\(form)) as HS256 secret, \(withKid ? "kid rsa-1" : "no kid")") { forge, _ in
                    let attacker = try TokenForge.hmacKey(secret: try forge.publicKeyForms()[form] ?? [])
                    let header: [String: JSONValue?] = ["alg": "HS256", "kid": withKid ? "rsa-1" : nil]
                    return try forge.raw(
                        header: forge.header(for: forge.fixtures.rsaKey, header), payload: TokenForge.text(.object(forge.claims())),
                        key: attacker)
                }
            }
        }
        cases.append(Case.rejected("alg confusion: alg RS256 with the kid of the HMAC key") { forge, _ in
            let attacker = try JWSKey.generate(algorithm: .RS256, keyID: "hs-1")
            return try forge.signed(key: attacker)
        })
        cases.append(Case.rejected("alg confusion: HS256 under the HMAC key's kid, keyed with the RSA public PEM") { forge, _ in
            let attacker = try TokenForge.hmacKey(secret: try forge.publicKeyForms()["SPKI PEM"] ?? [])
            return try forge.raw(
                header: forge.header(for: forge.fixtures.hmacKey, ["alg": "HS256"]), payload: TokenForge.text(.object(forge.claims())),
                key: attacker)
        })
        return cases
    }()

    static let signatures: [Case] = [
        .rejected("empty signature") { forge, _ in
            let token = try forge.signed()
            return String(token[...token.lastIndex(of: ".")!])
        },
        .rejected("truncated signature") { forge, _ in String(try forge.signed().dropLast(12)) },
        .rejected("tampered signature (one byte flipped)") { forge, _ in
            var parts = try forge.signed().split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            var signature = try Base64URL.decode(parts[2])
            signature[100] ^= 0x01
            parts[2] = Base64URL.encode(signature)
            return parts.joined(separator: ".")
        },
        .rejected("signature by a foreign key with the same kid") { forge, _ in try forge.signed(key: forge.fixtures.foreignRSAKey) },
        .rejected("valid signature over a tampered payload (sub and scope swapped in)") { forge, _ in
            var parts = try forge.signed().split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            var claims = forge.claims(sub: "admin")
            claims["roles"] = ["admin"]
            parts[1] = Base64URL.encode(Array(TokenForge.text(.object(claims)).utf8))
            return parts.joined(separator: ".")
        },
    ]

    static let embeddedKeys: [Case] = [
        .rejected("jwk: the attacker's own public key in the header") { forge, _ in
            let attacker = try JWSKey.generate(algorithm: .RS256, keyID: "attacker")
            return try forge.signed(header: ["kid": nil, "jwk": try attacker.publicKey().jwk()], key: attacker)
        },
        .rejected("jku: a key set URL on the canary") { forge, canary in
            let attacker = try JWSKey.generate(algorithm: .RS256, keyID: "rsa-1")
            return try forge.signed(header: ["jku": .string("http://\(canary.hostPort)/jwks.json")], key: attacker)
        },
        .rejected("x5u: a certificate URL on the canary") { forge, canary in
            let attacker = try JWSKey.generate(algorithm: .RS256, keyID: "rsa-1")
            return try forge.signed(header: ["x5u": .string("http://\(canary.hostPort)/cert.pem")], key: attacker)
        },
        .rejected("x5c: a certificate chain in the header") { forge, _ in
            let attacker = try JWSKey.generate(algorithm: .RS256, keyID: "rsa-1")
            let der = Data(try Array(attacker.publicKeyPEM().utf8)).base64EncodedString()
            return try forge.signed(header: ["x5c": .array([.string(der)])], key: attacker)
        },
    ]

    static let keyIDs: [Case] = [
        ("kid with ../", "../../../../etc/passwd"), ("kid with quotes", #"rsa-1" OR "1"="1"#),
        ("kid with NUL", "rsa-1\u{0}"), ("kid of 10 KiB", String(repeating: "k", count: 10 * 1024)),
    ].map { name, kid in
        Case.rejected(name) { forge, _ in try forge.signed(header: ["kid": .string(kid)]) }
    }

    static let critical: [Case] = [
        .rejected("crit naming an unknown extension") { forge, _ in
            try forge.signed(header: ["crit": ["urn:example:must-understand"], "urn:example:must-understand": true])
        }
    ]

    static let claims: [Case] = {
        return [
            .rejected("exp exactly at the leeway (60 s ago + 60 s)") { forge, _ in try forge.signed(claims: ["iat": .int(unixNow() - 120), "exp": .int(unixNow() - 60)]) },
            .accepted("exp 50 s ago: just inside the 60 s leeway", .attacksMD) { forge, _ in
                ["Authorization: Bearer " + (try forge.signed(claims: ["iat": .int(unixNow() - 120), "exp": .int(unixNow() - 50)]))]
            },
            .rejected("exp 70 s ago: just outside the leeway") { forge, _ in try forge.signed(claims: ["iat": .int(unixNow() - 120), "exp": .int(unixNow() - 70)]) },
            .rejected("nbf 5 minutes in the future") { forge, _ in try forge.signed(claims: ["nbf": .int(unixNow() + 300)]) },
            .rejected("iat 5 minutes in the future") { forge, _ in try forge.signed(claims: ["iat": .int(unixNow() + 300), "exp": .int(unixNow() + 900)]) },
            .rejected("no exp") { forge, _ in try forge.signed(claims: ["exp": nil]) },
            .rejected("wrong iss (correctly signed)") { forge, _ in try forge.signed(claims: ["iss": "https://evil.example"]) },
            .rejected("wrong aud") { forge, _ in try forge.signed(claims: ["aud": "another-api"]) },
            .accepted("aud array containing the audience", .attacksMD) { forge, _ in
                ["Authorization: Bearer " + (try forge.signed(claims: ["aud": ["another-api", .string(E2EFixtures.audience)]]))]
            },
            .rejected("aud array without the audience") { forge, _ in try forge.signed(claims: ["aud": ["another-api", "gateway"]]) },
        ]
    }()

    static let encodings: [Case] = [
        // RFC 6750 §2.1: b64token allows "=" only at the end, so padded inner segments are no credential at all.
        Case(name: "base64url with padding on every segment", origin: .attacksMD, headers: { forge, _ in
            let parts = try forge.signed().split(separator: ".").map(String.init)
            let padded = parts.map { $0 + String(repeating: "=", count: (4 - $0.count % 4) % 4) }.joined(separator: ".")
            return ["Authorization: Bearer " + padded]
        }, status: 401, challenge: .invalidToken),
        .rejected("base64url with padding on the signature only") { forge, _ in
            try forge.signed() + "=="
        },
        .rejected("base64 (not url) alphabet: + and /") { forge, _ in
            var token = ""
            for _ in 0..<20 {
                token = try forge.signed()
                if token.contains("-") || token.contains("_") { break }
            }
            return token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        },
        .rejected("non-canonical trailing bits in the signature") { forge, _ in
            // 256 signature bytes end in a character whose low 4 bits must be zero; set one.
            let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
            var token = Array(try forge.signed())
            let value = alphabet.firstIndex(of: token[token.count - 1]) ?? 0
            token[token.count - 1] = alphabet[value | 1]
            return String(token)
        },
        Case(name: "whitespace inside the token", origin: .attacksMD, headers: { forge, _ in
            let token = try forge.signed()
            let dot = token.firstIndex(of: ".")!
            return ["Authorization: Bearer " + token[...dot] + " " + token[token.index(after: dot)...]]
        }, status: 401, challenge: .invalidToken),
        .rejected("two segments") { forge, _ in try forge.signed().split(separator: ".").prefix(2).joined(separator: ".") },
        .rejected("four segments") { forge, _ in try forge.signed() + ".AAAA" },
    ]

    static let sizes: [Case] = [
        Case(name: "token of 100 KiB", origin: .attacksMD, headers: { forge, _ in
            ["Authorization: Bearer " + (try forge.signed(claims: ["pad": .string(String(repeating: "x", count: 75 * 1024))]))]
        }, status: 431, closes: true),
        Case(name: "token of 1 MiB", origin: .attacksMD, headers: { forge, _ in
            ["Authorization: Bearer " + (try forge.signed(claims: ["pad": .string(String(repeating: "x", count: 768 * 1024))]))]
        }, status: 431, closes: true),
        .rejected("JSON nested 10,000 deep") { forge, _ in
            let header = forge.header(for: forge.fixtures.rsaKey)
            let payload = #"{"sub":"mallory","x":"# + String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000) + "}"
            return try forge.raw(header: header, payload: payload, key: forge.fixtures.rsaKey)
        },
        .rejected("payload is an array") { forge, _ in
            try forge.raw(header: forge.header(for: forge.fixtures.rsaKey), payload: #"["sub","admin"]"#, key: forge.fixtures.rsaKey)
        },
        .rejected("payload is a string") { forge, _ in
            try forge.raw(header: forge.header(for: forge.fixtures.rsaKey), payload: #""admin""#, key: forge.fixtures.rsaKey)
        },
        .rejected("payload is a number") { forge, _ in
            try forge.raw(header: forge.header(for: forge.fixtures.rsaKey), payload: "1e300", key: forge.fixtures.rsaKey)
        },
    ]

    static let fromAttacksMD = algNone + algorithmConfusion + signatures + embeddedKeys + keyIDs + critical + claims + encodings + sizes

    // MARK: Our own (RFC 6750, RFC 7235, RFC 7519, RFC 8725, advisories)

    static let own: [Case] = {
        return [
            // RFC 8725 §3.11 (cross-JWT confusion): a validly signed JWT of another kind is no access token, even
            // from a trusted issuer and without `token_types` configured.
            .rejected("a DPoP proof (typ dpop+jwt) as an access token", .own("RFC 9449 §4.2, RFC 8725 §3.11")) { forge, _ in
                try forge.signed(claims: ["htm": "GET", "htu": "https://localhost/api/data"], header: ["typ": "dpop+jwt"])
            },
            .rejected("a security event token (typ secevent+jwt)", .own("RFC 8417 §2.3")) { forge, _ in
                try forge.signed(claims: ["events": ["urn:example:event": [:]]], header: ["typ": "secevent+jwt"])
            },
            .rejected("a back-channel logout token (events claim, typ JWT)", .own("OpenID Back-Channel Logout §2.4")) { forge, _ in
                try forge.signed(claims: ["events": ["http://schemas.openid.net/event/backchannel-logout": [:]], "sid": "s"])
            },
            .rejected("a Keycloak ID token (payload typ ID)", .own("RFC 8725 §3.11; Keycloak token typ claim")) { forge, _ in
                try forge.signed(claims: ["typ": "ID", "nonce": "n"])
            },
            .rejected("a JAR request object (typ oauth-authz-req+jwt)", .own("RFC 9101 §10.8")) { forge, _ in
                try forge.signed(header: ["typ": "oauth-authz-req+jwt"])
            },
            // Issue 11 audit: other spellings of the same kinds, and ID tokens that carry no typ of their own.
            .rejected("typ application/Logout+JWT (media-type prefix, mixed case)", .own("RFC 7515 §4.1.9; OpenID Back-Channel Logout §2.4")) { forge, _ in
                try forge.signed(header: ["typ": "application/Logout+JWT"])
            },
            .rejected("typ DPoP+jwt without the DPoP claims", .own("RFC 9449 §4.2; RFC 8725 §3.11")) { forge, _ in
                try forge.signed(header: ["typ": "DPoP+jwt"])
            },
            .rejected("an OpenID ID token recognisable by at_hash (typ JWT)", .own("OpenID Connect Core §3.1.3.6; RFC 8725 §3.11")) { forge, _ in
                try forge.signed(claims: ["at_hash": "77QmUPtjPfzWtF2AnpK9RQ", "nonce": "n-0S6_WzA2Mj", "azp": "spa"], header: ["typ": "JWT"])
            },
            .rejected("an OpenID ID token of the hybrid flow (c_hash, no typ)", .own("OpenID Connect Core §3.3.2.11")) { forge, _ in
                try forge.signed(claims: ["c_hash": "LDktKdoQak3Pk0cnXxCltA"])
            },
            .rejected("an Amazon Cognito ID token (token_use id)", .own("Amazon Cognito token_use; RFC 8725 §3.11")) { forge, _ in
                try forge.signed(claims: ["token_use": "id", "cognito:username": "mallory"])
            },
            .accepted("an Amazon Cognito access token (token_use access)", .own("Amazon Cognito token_use")) { forge, _ in
                ["Authorization: Bearer " + (try forge.signed(claims: ["token_use": "access"]))]
            },
            .accepted("an access token with a nonce (Keycloak writes one): not an ID token by that alone", .own("RFC 9068 §2.2.1")) { forge, _ in
                ["Authorization: Bearer " + (try forge.signed(claims: ["nonce": "n", "auth_time": .int(unixNow() - 60)]))]
            },
            .accepted("an RFC 9068 access token (typ at+jwt)", .own("RFC 9068 §2.1")) { forge, _ in
                ["Authorization: Bearer " + (try forge.signed(header: ["typ": "at+jwt"]))]
            },
            // RFC 9110 §11.1: the auth scheme is case-insensitive; `bearer` is Bearer.
            .accepted("scheme in lower case: bearer", .own("RFC 9110 §11.1")) { forge, _ in ["Authorization: bearer " + (try forge.signed())] },
            // RFC 6750 §2.1: "Bearer" 1*SP b64token — several spaces are one separator.
            .accepted("several spaces after Bearer", .own("RFC 6750 §2.1")) { forge, _ in ["Authorization: Bearer    " + (try forge.signed())] },
            // RFC 6750 §2.1: another scheme carries no bearer token: the route sees no token at all.
            Case(name: "Basic credentials on a protected route", origin: .own("RFC 6750 §2.1, RFC 7617"), headers: { _, _ in
                ["Authorization: Basic YWRtaW46YWRtaW4="]
            }, status: 401, challenge: .missing),
            // RFC 6750 §2.1, §3.1: b64token is one token68; anything after it makes the token malformed: invalid_token.
            Case(name: "token followed by trailing garbage", origin: .own("RFC 6750 §2.1, §3.1"), headers: { forge, _ in
                ["Authorization: Bearer " + (try forge.signed()) + " admin"]
            }, status: 401, challenge: .invalidToken),
            // RFC 6750 §3.1: a credential that is there but empty is a malformed token: invalid_token.
            Case(name: "Bearer with an empty credential", origin: .own("RFC 6750 §3.1"), headers: { _, _ in
                ["Authorization: Bearer "]
            }, status: 401, challenge: .invalidToken),
            // RFC 9110 §11.4: the scheme is followed by 1*SP; a tab there leaves a credential that is malformed.
            Case(name: "Bearer, a tab, then a valid token", origin: .own("RFC 9110 §11.4, RFC 6750 §3.1"), headers: { forge, _ in
                ["Authorization: Bearer\t" + (try forge.signed())]
            }, status: 401, challenge: .invalidToken),
            Case(name: "a credential with characters outside token68", origin: .own("RFC 6750 §2.1, §3.1"), headers: { _, _ in
                ["Authorization: Bearer eyJ{\"alg\":\"none\"}.e30."]
            }, status: 401, challenge: .invalidToken),
            // RFC 6750 §3.1: two credentials in one list-valued Authorization line.
            Case(name: "two bearer tokens in one Authorization line", origin: .own("RFC 6750 §3.1"), headers: { forge, _ in
                let token = try forge.signed()
                return ["Authorization: Bearer \(token), Bearer \(token)"]
            }, status: 400, challenge: .invalidRequest, closes: true),
            // RFC 6750 §3.1 / docs/POLICY.md "Decisions": two Authorization lines, one valid and one forged.
            Case(name: "two Authorization lines, valid first", origin: .own("RFC 6750 §3.1"), headers: { forge, _ in
                ["Authorization: Bearer " + (try forge.signed(sub: "alice")), "Authorization: Bearer " + (try forge.signed(sub: "admin", key: forge.fixtures.foreignRSAKey))]
            }, status: 400, challenge: .invalidRequest, closes: true),
            // RFC 6750 §2.3 / §5.3: tokens in the query leak into logs; refused rather than ignored beside a header.
            Case(name: "token in the query string", origin: .own("RFC 6750 §2.3, §5.3"), target: "/api/data/token?access_token=x", headers: { forge, _ in
                ["Authorization: Bearer " + (try forge.signed())]
            }, status: 400, challenge: .invalidRequest, closes: true),
            // RFC 6750 §2.3: a query token alone is not accepted either (only the Authorization header counts).
            Case(name: "token only in the query string", origin: .own("RFC 6750 §2.3"), target: "/api/data/token?access_token=eyJhbGciOiJIUzI1NiJ9.e30.x", headers: { _, _ in [] },
                 status: 400, challenge: .invalidRequest, closes: true),
            // RFC 6750 §2: the gateway reads one place only; a token in a cookie is no token (CSRF-prone).
            Case(name: "token in a cookie is ignored", origin: .own("RFC 6750 §2, OWASP JWT cheat sheet"), headers: { forge, _ in
                ["Cookie: access_token=" + (try forge.signed()) + "; token=" + (try forge.signed())]
            }, status: 401, challenge: .missing),
            // RFC 6750 §2.2: form-encoded body tokens are not read (and the body is never read for a denial).
            Case(name: "token in a form body is ignored", origin: .own("RFC 6750 §2.2"), target: "/api/data/token", headers: { forge, _ in
                let body = "access_token=" + (try forge.signed())
                return ["Content-Type: application/x-www-form-urlencoded", "Content-Length: \(body.utf8.count)", "", body]
            }, status: 401, challenge: .missing, closes: true),
            // RFC 8725 §3.1: the key fixes the algorithm; the RS256 key's real signature under alg PS256 is refused.
            .rejected("alg PS256 on the RS256 key's kid (real RSA signature)", .own("RFC 8725 §3.1")) { forge, _ in
                try forge.raw(header: forge.header(for: forge.fixtures.rsaKey, ["alg": "PS256"]), payload: TokenForge.text(.object(forge.claims())), key: forge.fixtures.rsaKey)
            },
            // RFC 8725 §3.1 / CVE-2015-9235 (node-jsonwebtoken): HS256 under the RSA key's kid, keyed with the real HMAC secret.
            .rejected("HS256 signed with the configured HMAC secret under the RSA key's kid", .own("RFC 8725 §3.1, CVE-2015-9235")) { forge, _ in
                try forge.raw(header: forge.header(for: forge.fixtures.rsaKey, ["alg": "HS256"]), payload: TokenForge.text(.object(forge.claims())), key: forge.fixtures.hmacKey)
            },
            // RFC 8725 §3.8 / §3.10: a kid that names another issuer's key does not cross issuers.
            .rejected("kid of the other issuer's key, iss of this issuer", .own("RFC 8725 §3.8")) { forge, _ in
                try forge.signed(key: OtherIssuer.key)
            },
            // RFC 8725 §3.8 (issuer mix-up): a token the other issuer really signed, claiming this issuer.
            .rejected("iss of this issuer, signed by the other issuer (its kid)", .own("RFC 8725 §3.8, RFC 9207 mix-up")) { forge, _ in
                try forge.signed(claims: ["iss": .string(E2EFixtures.issuer)], key: OtherIssuer.key)
            },
            // RFC 8725 §3.8: and the reverse: iss of the other issuer, signed with this issuer's key.
            .rejected("iss of the other issuer, signed by this issuer's key", .own("RFC 8725 §3.8")) { forge, _ in
                try forge.signed(claims: ["iss": .string(OtherIssuer.issuer)])
            },
            // Control for the two above: the other issuer's own tokens do work, with its identity.
            .accepted("the other issuer's own token (control)", .own("RFC 8725 §3.8"), subject: "olivia") { forge, _ in
                ["Authorization: Bearer " + (try forge.signed(sub: "olivia", claims: ["iss": .string(OtherIssuer.issuer)], key: OtherIssuer.key))]
            },
            // RFC 7519 §5.2 / RFC 8725 §2.8: a nested JWT (cty JWT) is never unwrapped: its payload is no claims object.
            .rejected("nested JWT (cty: JWT) around a valid inner token", .own("RFC 7519 §5.2, RFC 8725 §2.8")) { forge, _ in
                let inner = try forge.signed(sub: "admin")
                return try forge.raw(header: forge.header(for: forge.fixtures.hmacKey, ["cty": "JWT"]), payload: inner, key: forge.fixtures.hmacKey)
            },
            // RFC 7519 §4.1.4 NumericDate: 1e300 must not overflow into "never expires".
            .rejected("exp = 1e300", .own("RFC 7519 §4.1.4")) { forge, _ in try forge.signed(claims: ["exp": .double(1e300)]) },
            // RFC 7519 §2 NumericDate is a number; a string must not be coerced.
            .rejected("exp as a string", .own("RFC 7519 §2")) { forge, _ in try forge.signed(claims: ["exp": .string(String(unixNow() + 600))]) },
            // RFC 7519 §2: a non-integer NumericDate is valid and honoured.
            .accepted("exp as a fraction (valid)", .own("RFC 7519 §2")) { forge, _ in ["Authorization: Bearer " + (try forge.signed(claims: ["exp": .double(Double(unixNow()) + 600.5)]))] },
            .rejected("exp negative", .own("RFC 7519 §2")) { forge, _ in try forge.signed(claims: ["exp": -1]) },
            // 2^63 does not fit Int64: no trap, no wrap-around (numbers are range-checked before use).
            .rejected("exp = 2^63", .own("RFC 7519 §2, strict parsing")) { forge, _ in
                let header = forge.header(for: forge.fixtures.rsaKey)
                let payload = TokenForge.text(.object(forge.claims(["exp": nil]))).dropLast() + #","exp":9223372036854775808}"#
                return try forge.raw(header: header, payload: String(payload), key: forge.fixtures.rsaKey)
            },
            .rejected("exp = true", .own("RFC 7519 §2")) { forge, _ in try forge.signed(claims: ["exp": true]) },
            // RFC 7519 §4 / RFC 8259 §4: duplicate members are ambiguous (the last or the first wins elsewhere).
            .rejected("duplicate sub in the payload", .own("RFC 7519 §4, CVE-2017-12973 (Nimbus JOSE duplicate names)")) { forge, _ in
                let header = forge.header(for: forge.fixtures.rsaKey)
                let payload = TokenForge.text(.object(forge.claims(sub: "alice"))).dropLast() + #","sub":"admin"}"#
                return try forge.raw(header: header, payload: String(payload), key: forge.fixtures.rsaKey)
            },
            .rejected("duplicate alg in the header", .own("RFC 7515 §4, RFC 8259 §4")) { forge, _ in
                let header = forge.header(for: forge.fixtures.rsaKey).dropLast() + #","alg":"none"}"#
                return try forge.raw(header: String(header), payload: TokenForge.text(.object(forge.claims())), key: forge.fixtures.rsaKey)
            },
            // RFC 8725 §3.11: explicit typing: a token typed as something other than a JWT (a security event
            // token) is no access token; with a foreign audience it is refused in any case (§3.9).
            .rejected("typ secevent+jwt with another audience", .own("RFC 8725 §3.9, §3.11; RFC 8417")) { forge, _ in
                try forge.signed(claims: ["aud": "https://events.example"], header: ["typ": "secevent+jwt"])
            },
            // RFC 7519 §4.1.3: aud null is not an audience.
            .rejected("aud null", .own("RFC 7519 §4.1.3")) { forge, _ in try forge.signed(claims: ["aud": .null]) },
            // RFC 8725 §2.1 / CVE-2022-21449 ("psychic signatures"), the RSA analogue: an all-zero signature.
            .rejected("all-zero RS256 signature", .own("CVE-2022-21449 (analogue)")) { forge, _ in
                let token = try forge.signed()
                return String(token[...token.lastIndex(of: ".")!]) + Base64URL.encode([UInt8](repeating: 0, count: 256))
            },
            // RFC 8017 §8.2.2 step 1: a signature one byte longer than the modulus (leading zero) is refused.
            .rejected("signature with a leading zero byte (257 bytes)", .own("RFC 8017 §8.2.2")) { forge, _ in
                var parts = try forge.signed().split(separator: ".", omittingEmptySubsequences: false).map(String.init)
                parts[2] = Base64URL.encode([0] + (try Base64URL.decode(parts[2])))
                return parts.joined(separator: ".")
            },
            // RFC 8259 §7 / RFC 7515 §4.1.1: "none" spelled with a JSON escape is still none (no raw-byte compare).
            .rejected("alg \\u006eone (none through a JSON escape)", .own("RFC 8259 §7, RFC 7515 §4.1.1")) { forge, _ in
                try forge.raw(header: #"{"alg":"\u006eone","typ":"JWT"}"#, payload: TokenForge.text(.object(forge.claims())), key: nil)
            },
            // RFC 7515 §4.1.1: alg is case-sensitive and exact; "RS256 " is no algorithm.
            .rejected("alg with a trailing space", .own("RFC 7515 §4.1.1")) { forge, _ in
                try forge.signed(header: ["alg": "RS256 "])
            },
            .rejected("alg rs256 in lower case", .own("RFC 7515 §4.1.1, RFC 7518 §3.1")) { forge, _ in
                try forge.signed(header: ["alg": "rs256"])
            },
            // RFC 7515 §4.1.4: kid is a string; a number must not select "key 1".
            .rejected("kid as a number", .own("RFC 7515 §4.1.4")) { forge, _ in try forge.signed(header: ["kid": 1]) },
            // RFC 7515 §4: the header is a JSON object.
            .rejected("header is a JSON array", .own("RFC 7515 §4")) { forge, _ in
                try forge.raw(header: #"["RS256"]"#, payload: TokenForge.text(.object(forge.claims())), key: forge.fixtures.rsaKey)
            },
            // RFC 8259 §8.1: JSON text is UTF-8; invalid bytes in the payload are malformed, not skipped.
            .rejected("payload with invalid UTF-8", .own("RFC 8259 §8.1")) { forge, _ in
                let header = Array(forge.header(for: forge.fixtures.rsaKey).utf8)
                let payload = Array(#"{"sub":"adm"#.utf8) + [0xC0, 0xAF] + Array(#"in","exp":9999999999}"#.utf8)
                return try JWTSigner.signRaw(header: header, payload: payload, key: forge.fixtures.rsaKey)
            },
            // RFC 8259 §2: no trailing commas or comments (lenient parsers disagree).
            .rejected("payload with a trailing comma", .own("RFC 8259 §4")) { forge, _ in
                let payload = TokenForge.text(.object(forge.claims())).dropLast() + ",}"
                return try forge.raw(header: forge.header(for: forge.fixtures.rsaKey), payload: String(payload), key: forge.fixtures.rsaKey)
            },
            .rejected("empty header segment", .own("RFC 7515 §7.1")) { forge, _ in
                "." + (try forge.signed()).split(separator: ".", omittingEmptySubsequences: false).dropFirst().joined(separator: ".")
            },
            .rejected("nbf as a string", .own("RFC 7519 §4.1.5")) { forge, _ in try forge.signed(claims: ["nbf": "0"]) },
            .rejected("iat = 1e20", .own("RFC 7519 §4.1.6, numbers range-checked")) { forge, _ in try forge.signed(claims: ["iat": .double(1e20)]) },
            .rejected("aud as a number", .own("RFC 7519 §4.1.3")) { forge, _ in try forge.signed(claims: ["aud": 42]) },
            // RFC 8725 §3.8: the HMAC key belongs to its issuer; its valid MAC does not vouch for another iss.
            .rejected("HS256 with the configured secret, iss of the other issuer", .own("RFC 8725 §3.8")) { forge, _ in
                try forge.signed(claims: ["iss": .string(OtherIssuer.issuer)], key: forge.fixtures.hmacKey)
            },
            // Control: the configured HMAC key's own tokens work (so the rejections above are about the attack).
            .accepted("HS256 with the configured secret (control)", .own("RFC 7518 §3.2")) { forge, _ in
                ["Authorization: Bearer " + (try forge.signed(key: forge.fixtures.hmacKey))]
            },
            // The token is never forwarded (except on routes that say so), even when valid.
            .accepted("valid token with spoofed identity headers: only the gateway's identity", .own("the attack catalogue identity x tokens")) { forge, _ in
                ["Authorization: Bearer " + (try forge.signed()), "X-User-Id: admin", "X-Token-Issuer: https://evil.example"]
            },
        ]
    }()

    static let allCases = fromAttacksMD + own

    @Test("hostile token", arguments: allCases)
    func token(_ attack: Case) async throws {
        let shared = try AttackGateway.shared()
        let marks = shared.begin()
        let forge = TokenForge(gateway: shared.gateway)
        var lines = try attack.headers(forge, shared.canary)
        // A body given as ["...", "", body] follows the head.
        var body = ""
        if let blank = lines.firstIndex(of: "") {
            body = lines[(blank + 1)...].joined()
            lines = Array(lines[..<blank])
        }
        let bytes = AttackGateway.request("GET", attack.target, headers: lines, body: body)
        let (connection, response) = try await shared.exchange(Array(bytes.utf8))
        if attack.status == 200 {
            #expect(response?.status == 200, "\(String(describing: response))")
            let requests = await shared.forwarded(1, since: marks)
            if let request = requests.first {
                shared.expectSanitized(request, target: attack.target, subject: attack.subject)
            }
            await shared.expectFate(connection, closes: false)
            return
        }
        shared.expectAnswer(response, status: attack.status, challenge: attack.challenge, closes: attack.closes)
        await shared.expectFate(connection, closes: attack.closes)
        await shared.expectUntouched(since: marks)
    }

    // MARK: Weak keys

    struct WeakKey: Sendable, CustomTestStringConvertible {
        let name: String
        let jwk: @Sendable () throws -> JSONValue
        var testDescription: String { name }
    }

    static let weakKeys: [WeakKey] = [
        WeakKey(name: "HMAC secret shorter than the hash (16 bytes for HS256)") {
            ["kty": "oct", "alg": "HS256", "kid": "weak", "k": .string(Base64URL.encode([UInt8](repeating: 7, count: 16)))]
        },
        WeakKey(name: "empty HMAC secret") { ["kty": "oct", "alg": "HS256", "kid": "weak", "k": ""] },
        WeakKey(name: "RSA public exponent e = 1") { try rsaJWK(exponent: [1]) },
        WeakKey(name: "RSA public exponent e = 3") { try rsaJWK(exponent: [3]) },
        WeakKey(name: "RSA modulus of 1024 bits") {
            guard case .object(var jwk) = try rsaJWK(exponent: [1, 0, 1]), let n = jwk["n"]?.stringValue else { throw HarnessError("no n") }
            jwk["n"] = .string(Base64URL.encode(try Base64URL.decode(n).prefix(128)))
            return .object(jwk)
        },
    ]

    static func rsaJWK(exponent: [UInt8]) throws -> JSONValue {
        guard case .object(var jwk) = try E2EFixtures.shared.rsaKey.publicKey().jwk() else { throw HarnessError("JWK is no object") }
        jwk["e"] = .string(Base64URL.encode(exponent))
        jwk["kid"] = "weak"
        jwk["alg"] = "RS256"
        return .object(jwk)
    }

    /// Keys are configuration, not attacker input, but a weak key must never become a verifier: the gateway
    /// refuses to build a snapshot (and so to start or reload) with one.
    @Test("a weak key never loads", arguments: weakKeys)
    func weakKey(_ weak: WeakKey) async throws {
        let shared = try AttackGateway.shared()
        let path = shared.gateway.directory + "/weak-\(UUID().uuidString.prefix(8)).json"
        try JSONSerializer.serialize(.object(["keys": .array([try weak.jwk()])])).write(toFile: path, atomically: true, encoding: .utf8)
        var configuration = shared.gateway.configuration
        configuration.issuers = [.init(issuer: E2EFixtures.issuer, audiences: [E2EFixtures.audience], keys: [.init(file: path)])]
        #expect(throws: (any Error).self) {
            _ = try GatewaySnapshot.load(configuration: configuration, keyGeneration: 99)
        }
    }
}

/// The token suite's gateway: room for a 30 KiB token (so that the JSON nesting case reaches the token
/// parser), and a second issuer.
func tokenAttackOptions() -> GatewayHarness.Options {
    attackOptions { configuration in
        configuration.limits.maxHeaderBytes = 64 * 1024
        configuration.issuers.append(OtherIssuer.configuration)
    }
}

/// Seconds since 1970, now (the gateway's clock is the wall clock in these tests).
func unixNow() -> Int64 { Int64(Date().timeIntervalSince1970) }
