import ArgumentParser
import GatewayPolicy
import GatewayTooling
import Foundation
import JOSE

extension PolicyCommand {
    /// `keytool policy explain DIR --method M --path P [--host H] [--claims JSON]`.
    struct Explain: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show how the policy decides one request.",
            discussion: """
                Prints the canonical path, the route that matched (or why none did), each requirement \
                clause with whether it held and what the claims contained, the identity headers, and the \
                decision with its WWW-Authenticate challenge. Without --claims the request carries no token.

                Example:
                  keytool policy explain policies/ --method GET --path /admin/users \\
                      --claims '{"sub":"alice","roles":["analyst"]}'
                  keytool policy explain policies/ --method GET --path /public/../admin/x
                  keytool policy explain policies/ --method POST --path /api/data --claims @claims.json

                Exit codes: 0 explained (whatever the decision), 1 invalid policy, 2 usage errors.
                """
        )

        @Argument(help: "The policy directory.")
        var directory: String

        @Option(help: "The request method, e.g. GET.")
        var method: String

        @Option(help: "The request target as the client sends it (path and optional query).")
        var path: String

        @Option(help: "The Host header.")
        var host: String?

        @Option(help: ArgumentHelp(
            "The verified claims as a JSON object, or @FILE to read them from a file. Omit for no token.",
            valueName: "json"))
        var claims: String?

        @Option(help: "The realm named in WWW-Authenticate.")
        var realm = "auth-gateway"

        func run() throws {
            let parsedClaims = try claims.map(Self.parseClaims)
            let policy = try PolicyCommand.loadPolicy(directory: directory, environment: .unchecked)
            let explanation = PolicyExplainer.explain(
                policy, method: method, host: host, target: path, claims: parsedClaims, realm: realm)
            print(explanation)
        }

        static func parseClaims(_ argument: String) throws -> [String: JSONValue] {
            var text = argument
            if argument.hasPrefix("@") {
                let file = String(argument.dropFirst())
                guard let data = FileManager.default.contents(atPath: file) else {
                    throw ValidationError("cannot read claims file \(file): no such file or not readable")
                }
                text = String(decoding: data, as: UTF8.self)
            }
            do {
                return try JSONParser.parseObject(text)
            } catch {
                throw ValidationError("--claims is not a JSON object: \(error.reason); write it as '{\"sub\":\"alice\"}'")
            }
        }
    }
}
