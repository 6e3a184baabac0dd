import ArgumentParser
import Foundation
import JOSE

struct TokenVerify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify a token: exit 0 and the claims if valid, exit 1 and the reason if not.",
        discussion: """
            Verifies exactly as the gateway does: strict parsing, the key fixes the algorithm, then the
            claims (exp is required). An invalid token prints one line:
              invalid: <reason_code>: <explanation>
            Exit codes: 0 valid, 1 invalid, 2 usage errors (missing file, unusable key).

            Example:
              keytool token verify --key keys/jwks.json --iss https://idp.example --aud api "$TOKEN"
              keytool token mint --key keys/secret.jwk.json --sub bob | keytool token verify --key keys/secret.jwk.json -
            """
    )

    @OptionGroup var key: KeyOptions

    @Option(name: .long, help: "Accepted issuer (iss); repeat for several.")
    var iss: [String] = []

    @Option(name: .long, help: "Accepted audience (aud); repeat for several.")
    var aud: [String] = []

    @Option(name: .long, help: "Clock skew tolerated for exp, nbf and iat.")
    var leeway: Duration = Duration(seconds: 60)

    @Option(name: .long, help: "Largest accepted lifetime (exp - iat), e.g. 1h.")
    var maxLifetime: Duration?

    @Option(name: .long, help: "Verify as of this time, in seconds since 1970 (default: now).")
    var now: Double?

    @Argument(help: "The token, or - to read it from stdin.")
    var token: String

    func run() throws {
        let keys = try key.loadKeys()
        let validation = ClaimsValidation(
            issuers: iss, audiences: aud, leeway: leeway.seconds, maxLifetime: maxLifetime?.seconds
        )
        let verifier = JWTVerifier(keys: JWKSet(keys), validation: validation)
        do {
            let verified = try verifier.verify(try FileOutput.token(token), now: now ?? currentTime())
            print(JSONSerializer.serialize(.object(verified.claims.fields), pretty: true))
        } catch let error as JOSEError {
            print("invalid: \(error.code): \(error.reason)")
            throw ExitCode(1)
        }
    }
}
