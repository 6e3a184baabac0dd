import ArgumentParser
import Foundation
import JOSE

/// `keytool token ...`.
struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Mint, inspect, verify and forge JWTs.",
        discussion: """
            Example:
              TOKEN=$(keytool token mint --key keys/private.pem --alg RS256 --sub alice --scope "read:data")
              keytool token inspect "$TOKEN"
              keytool token verify --key keys/jwks.json "$TOKEN"
            """,
        subcommands: [TokenMint.self, TokenInspect.self, TokenVerify.self, TokenForge.self]
    )
}

/// The claim options shared by `mint` and `forge`.
struct ClaimOptions: ParsableArguments {
    @Option(name: .long, help: "Issuer (iss).")
    var iss: String?

    @Option(name: .long, help: "Audience (aud); repeat for several.")
    var aud: [String] = []

    @Option(name: .long, help: "Subject (sub).")
    var sub: String?

    @Option(name: .long, help: "Space-separated scopes (scope), e.g. \"read:data write:data\".")
    var scope: String?

    @Option(name: .long, help: "Role (roles array); repeat for several.")
    var role: [String] = []

    @Option(name: .long, help: "Any claim as NAME=JSON, e.g. department=\"finance\" or level=3; text that is not JSON is taken as a string.")
    var claim: [String] = []

    @Option(name: .long, help: "Lifetime: exp = iat + TTL, with a unit as in the configuration (90s, 15m, 2h, 1d). (default: 15m)")
    var ttl: Duration?

    @Option(name: .long, help: "Issue time in seconds since 1970 (default: now).")
    var iat: Double?

    /// The claims the dedicated options set when given, by claim name: a `--claim` for one of them conflicts.
    private var explicit: [String: String] {
        var options: [String: String] = [:]
        if iss != nil { options["iss"] = "--iss" }
        if !aud.isEmpty { options["aud"] = "--aud" }
        if sub != nil { options["sub"] = "--sub" }
        if scope != nil { options["scope"] = "--scope" }
        if !role.isEmpty { options["roles"] = "--role" }
        if iat != nil { options["iat"] = "--iat" }
        if ttl != nil { options["exp"] = "--ttl" }
        return options
    }

    /// The claims set; `--claim` may set any claim that no dedicated option sets (`iat` and `exp` included,
    /// whose defaults are now and 15 minutes on).
    func claims(now: Double) throws -> [String: JSONValue] {
        let issuedAt = (iat ?? now).rounded(.down)
        let lifetime = ttl?.seconds ?? 900
        var claims: [String: JSONValue] = ["iat": .int(Int64(issuedAt)), "exp": .int(Int64(issuedAt + lifetime))]
        if let iss { claims["iss"] = .string(iss) }
        if aud.count == 1 { claims["aud"] = .string(aud[0]) }
        if aud.count > 1 { claims["aud"] = .array(aud.map(JSONValue.string)) }
        if let sub { claims["sub"] = .string(sub) }
        if let scope { claims["scope"] = .string(scope) }
        if !role.isEmpty { claims["roles"] = .array(role.map(JSONValue.string)) }
        for item in claim {
            guard let equals = item.firstIndex(of: "="), equals != item.startIndex else {
                throw UsageError("--claim \(item): expected NAME=JSON, e.g. --claim 'department=\"finance\"'")
            }
            let name = String(item[..<equals])
            if let option = explicit[name] {
                throw UsageError("--claim \(name)=... conflicts with \(option): give the \(name) claim one way")
            }
            let text = String(item[item.index(after: equals)...])
            claims[name] = (try? JSONParser.parse(text)) ?? .string(text)
        }
        return claims
    }
}

/// The current time in seconds since 1970.
func currentTime() -> Double {
    Date().timeIntervalSince1970
}

struct TokenMint: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mint",
        abstract: "Mint a signed test token; prints the compact JWT on stdout.",
        discussion: """
            Example:
              keytool token mint --key keys/private.pem --alg RS256 --iss https://idp.example \\
                --aud api --sub alice --scope "read:data" --role analyst --claim department=finance --ttl 15m
              keytool token mint --key keys/secret.jwk.json --sub bob --ttl 5m
            """
    )

    @OptionGroup var key: KeyOptions
    @OptionGroup var claims: ClaimOptions

    func run() throws {
        let signingKey = try key.signingKey()
        print(try JWTSigner.sign(claims: try claims.claims(now: currentTime()), key: signingKey))
    }
}
