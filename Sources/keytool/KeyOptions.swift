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
            throw UsageError("\(key): \(error.reason)" + (error.code == .algNotAllowed ? " (--alg RS256, for example)" : ""))
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

/// A duration such as `90s`, `15m`, `2h` or `1d`. A bare number is refused, as the gateway's configuration
/// refuses it: `--ttl 15` could mean seconds or minutes.
struct Duration: ExpressibleByArgument, CustomStringConvertible, Sendable {
    let seconds: Double

    /// In the largest unit that divides it: `60s` → `1m`, `900s` → `15m` (as help shows defaults).
    var description: String {
        for (unit, scale) in [("d", 86400.0), ("h", 3600), ("m", 60)] where seconds >= scale && seconds.truncatingRemainder(dividingBy: scale) == 0 {
            return "\(Int(seconds / scale))\(unit)"
        }
        return seconds == seconds.rounded() ? "\(Int(seconds))s" : "\(seconds)s"
    }

    init(seconds: Double) { self.seconds = seconds }

    init?(argument: String) {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        guard let last = argument.last, let scale = units[last] else { return nil }
        guard let value = Double(argument.dropLast()), value.isFinite, value >= 0 else { return nil }
        seconds = value * scale
    }

    static var defaultCompletionKind: CompletionKind { .default }
}
