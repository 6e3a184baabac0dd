import ArgumentParser
import JOSE

extension JWSAlgorithm: ExpressibleByArgument {}

/// `--key FILE [--alg ALG] [--kid KID]`: a PEM file, a JWK or a JWKS, as everywhere in keytool.
struct KeyOptions: ParsableArguments {
    @Option(name: .long, help: "Key file: PEM (private, public, certificate), a JWK or a JWKS.")
    var key: String

    @Option(name: .long, help: "Algorithm the key is bound to (required for PEM files): \(JWSAlgorithm.allCases.map(\.rawValue).joined(separator: ", ")).")
    var alg: JWSAlgorithm?

    @Option(name: .long, help: "Key id: selects a key in a JWKS, or names a PEM key (default: RFC 7638 thumbprint).")
    var kid: String?

    /// Every key the file holds, after the `--alg`/`--kid` filters.
    func loadKeys() throws -> [JWSKey] {
        let bytes = try FileOutput.read(key, what: "key file")
        do {
            return try KeyFile.keys(from: bytes, algorithm: alg, keyID: kid)
        } catch {
            throw UsageError("\(key): \(error.reason)")
        }
    }

    /// The one key that can sign.
    func signingKey() throws -> JWSKey {
        let keys = try loadKeys().filter(\.canSign)
        guard let first = keys.first else {
            throw UsageError("\(key): holds no private key or secret to sign with")
        }
        guard keys.count == 1 else {
            throw UsageError("\(key): holds \(keys.count) signing keys; choose one with --kid")
        }
        return first
    }
}

/// A duration such as `90s`, `15m`, `2h` or `1d` (seconds without a unit).
struct Duration: ExpressibleByArgument, Sendable {
    let seconds: Double

    init(seconds: Double) { self.seconds = seconds }

    init?(argument: String) {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        var text = Substring(argument)
        var scale: Double = 1
        if let last = text.last, let unit = units[last] {
            scale = unit
            text = text.dropLast()
        }
        guard let value = Double(text), value.isFinite, value >= 0 else { return nil }
        seconds = value * scale
    }

    static var defaultCompletionKind: CompletionKind { .default }
}
