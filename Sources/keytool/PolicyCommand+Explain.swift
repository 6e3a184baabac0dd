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
                decision with its WWW-Authenticate challenge. The claims come from --claims (JSON, @FILE, or @- for \
                standard input) or from --token, verified with --key first as the gateway would (a token that does \
                not verify is what the gateway answers 401 invalid_token). Without either the request carries no token.

                Example:
                  keytool policy explain policies/ --method GET --path /admin/users \\
                      --claims '{"sub":"alice","roles":["analyst"]}'
                  keytool policy explain policies/ --method GET --path /public/../admin/x
                  keytool policy explain policies/ --method POST --path /api/data --claims @claims.json
                  keytool policy explain policies/ --method GET --path /api/data/1 --token "$TOKEN" --key keys/jwks.json

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
            "The verified claims as a JSON object, @FILE to read them from a file, or @- from standard input.",
            valueName: "json"))
        var claims: String?

        @Option(help: ArgumentHelp("A token whose verified claims to explain, or - to read it from stdin.", valueName: "token"))
        var token: String?

        @Option(help: "The key file that verifies --token: PEM (with --alg), a JWK or a JWKS.")
        var key: String?

        @Option(help: "The algorithm --key is bound to (required for PEM files).")
        var alg: JWSAlgorithm?

        func validate() throws {
            if token != nil, claims != nil { throw ValidationError("give the claims one way: --claims or --token, not both") }
            if token != nil, key == nil { throw ValidationError("--token needs --key, the key that verifies it") }
            if key != nil, token == nil { throw ValidationError("--key verifies a --token; pass the token too") }
        }

        /// The verified claims of `--token`; a token that does not verify ends the command (exit 1) with the
        /// reason, as `token verify` prints it.
        func verifiedClaims(_ token: String, key: String) throws -> [String: JSONValue] {
            let keys: [JWSKey]
            do {
                keys = try KeyFile.keys(from: FileOutput.read(key, what: "key file"), algorithm: alg, keyID: nil)
            } catch let error as JOSEError {
                throw UsageError("\(key): \(error.reason)")
            }
            let verifier = JWTVerifier(keys: JWKSet(keys), validation: ClaimsValidation(issuers: [], audiences: [], leeway: 60))
            do {
                return try verifier.verify(try FileOutput.token(token), now: currentTime()).claims.fields
            } catch let error as JOSEError {
                print("token refused: \(error.code): \(error.reason) (the gateway answers 401 invalid_token)")
                throw ExitCode(1)
            }
        }

        @Option(help: "The realm named in WWW-Authenticate.")
        var realm = "auth-gateway"

        func run() throws {
            var parsedClaims = try claims.map(Self.parseClaims)
            if let token, let key { parsedClaims = try verifiedClaims(token, key: key) }
            let policy = try PolicyCommand.loadPolicy(directory: directory, environment: .unchecked)
            let explanation = PolicyExplainer.explain(
                policy, method: method, host: host, target: path, claims: parsedClaims, realm: realm)
            print(explanation)
        }

        static func parseClaims(_ argument: String) throws -> [String: JSONValue] {
            var text = argument
            if argument == "@-" {
                text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            } else if argument.hasPrefix("@") {
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
