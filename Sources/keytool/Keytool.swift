import ArgumentParser
import Foundation
import GatewayPolicy

/// The admins' tool: keys, JWKS, test tokens and offline policy checks.
struct Keytool: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keytool",
        abstract: "Keys, JWKS, test tokens and policy checks for auth-gateway.",
        discussion: """
            A typical first session:
              keytool keys generate --alg RS256 --out keys/
              keytool token mint --key keys/private.pem --alg RS256 --sub alice --scope "read:data" --ttl 15m
              keytool token verify --key keys/jwks.json <token>
              keytool policy lint policies/ && keytool policy test policies/
              keytool certs dev --out tls/                 # a development CA and server certificate

            Exit codes: 0 success, 1 a negative result (invalid token, failed policy test), 2 usage errors.
            """,
        version: "keytool " + BuildInfo.description,
        subcommands: [KeysCommand.self, JWKSCommand.self, TokenCommand.self, PolicyCommand.self, CertsCommand.self]
    )
}

/// Runs the tool with usage errors mapped to exit code 2, as the admins' scripts expect.
@main
enum KeytoolMain {
    static func main() {
        do {
            var command = try Keytool.parseAsRoot()
            try command.run()
        } catch {
            let code = Keytool.exitCode(for: error)
            let message = Keytool.fullMessage(for: error)
            if code == .success {
                print(message)
                exit(0)
            }
            if !message.isEmpty { FileOutput.standardError(message) }
            let isUsage = error is UsageError || code == .validationFailure
            exit(isUsage ? 2 : code.rawValue)
        }
    }
}

/// An error in what the user asked for (a missing file, a bad key): exit code 2.
struct UsageError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
