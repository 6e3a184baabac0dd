import Foundation
import JOSE

// Verifications per second per algorithm for a short token, beside `openssl speed` for the same
// primitive, measured in the same run. Run it pinned to one core: `scripts/bench-jose`.

let seconds = Double(ProcessInfo.processInfo.environment["BENCH_SECONDS"] ?? "") ?? 2.0
let rounds = Int(ProcessInfo.processInfo.environment["BENCH_ROUNDS"] ?? "") ?? 3
let now = Date().timeIntervalSince1970

/// Verifications per second for one algorithm over `seconds` of wall time.
func measure(_ verifier: JWTVerifier, token: String) -> Double {
    var count = 0
    let start = DispatchTime.now().uptimeNanoseconds
    let deadline = start + UInt64(seconds * 1e9)
    var current = start
    while current < deadline {
        for _ in 0..<64 {
            guard (try? verifier.verify(token, now: now)) != nil else { fatalError("benchmark token did not verify") }
        }
        count += 64
        current = DispatchTime.now().uptimeNanoseconds
    }
    return Double(count) / (Double(current - start) / 1e9)
}

/// `openssl speed -mr` for the primitive behind `algorithm`, in operations per second.
func opensslSpeed(_ algorithm: JWSAlgorithm, messageBytes: Int) -> (String, Double)? {
    let (arguments, label): ([String], String)
    switch algorithm.family {
    case .hmac:
        let digest = "sha\(algorithm.hashLength * 8)"
        (arguments, label) = (["-bytes", "\(messageBytes)", "-hmac", digest], "hmac(\(digest)) \(messageBytes)B")
    case .rsa, .rsaPSS: (arguments, label) = (["rsa2048"], "rsa2048 verify")
    case .ecdsa:
        let curve = algorithm == .ES256 ? "ecdsap256" : "ecdsap384"
        (arguments, label) = ([curve], "\(curve) verify")
    case .eddsa: (arguments, label) = (["ed25519"], "ed25519 verify")
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
    process.arguments = ["speed", "-mr", "-seconds", "\(Int(seconds.rounded(.up)))"] + arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    guard (try? process.run()) != nil else { return nil }
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    for line in output.split(separator: "\n") where line.hasPrefix("+F") {
        let fields = line.split(separator: ":")
        if algorithm.family == .hmac, let bytesPerSecond = fields.last.flatMap({ Double($0) }) {
            return (label, bytesPerSecond / Double(messageBytes))
        }
        if let verifies = fields.last.flatMap({ Double($0) }) { return (label, verifies) }
    }
    return nil
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted[sorted.count / 2]
}

print("JOSE verification benchmark: short tokens, \(rounds) rounds of \(seconds)s, medians")
print("alg     JOSE verify/s   openssl primitive          openssl ops/s   ratio")
for algorithm in JWSAlgorithm.allCases {
    let key = try JWSKey.generate(algorithm: algorithm)
    let token = try JWTSigner.sign(claims: ["sub": "bench", "iat": .int(Int64(now)), "exp": .int(Int64(now) + 3600)], key: key)
    let verifier = JWTVerifier(keys: JWKSet([try key.publicKey()]))
    let signingInputBytes = token.utf8.count - (token.split(separator: ".").last?.utf8.count ?? 0) - 1
    var ours: [Double] = []
    var theirs: [Double] = []
    var label = "?"
    for _ in 0..<rounds {
        ours.append(measure(verifier, token: token))
        if let (name, speed) = opensslSpeed(algorithm, messageBytes: signingInputBytes) {
            label = name
            theirs.append(speed)
        }
    }
    let reference = theirs.isEmpty ? Double.nan : median(theirs)
    let line = String(
        format: "%-7@ %13.0f   %-24@ %13.0f   %5.1f%%",
        algorithm.rawValue, median(ours), label, reference, 100 * median(ours) / reference
    )
    print(line)
}
