import Foundation
import JOSE

// Verifications per second per algorithm for a short token, beside `openssl speed` for the same
// primitive, measured in the same run. Run it pinned to one core: `scripts/bench-jose`.

let seconds = Double(ProcessInfo.processInfo.environment["BENCH_SECONDS"] ?? "") ?? 2.0
let rounds = Int(ProcessInfo.processInfo.environment["BENCH_ROUNDS"] ?? "") ?? 3
let now = Date().timeIntervalSince1970

/// CPU seconds used by this thread: the basis `openssl speed` reports too (user time), so that other
/// processes on a busy machine do not skew the comparison.
func threadCPUSeconds() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
}

/// Verifications per CPU-second for one algorithm, over `seconds` of this thread's CPU time.
func measure(_ verifier: JWTVerifier, token: String) -> Double {
    var count = 0
    let start = threadCPUSeconds()
    var current = start
    while current - start < seconds {
        for _ in 0..<64 {
            guard (try? verifier.verify(token, now: now)) != nil else { fatalError("benchmark token did not verify") }
        }
        count += 64
        current = threadCPUSeconds()
    }
    return Double(count) / (current - start)
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

if ProcessInfo.processInfo.environment["BENCH_STAGES"] != nil {
    // Where the time goes for a short HS256 token: parsing, claims, the whole verification.
    let key = try JWSKey.generate(algorithm: .HS256)
    let token = try JWTSigner.sign(claims: ["sub": "bench", "iat": .int(Int64(now)), "exp": .int(Int64(now) + 3600)], key: key)
    let validation = ClaimsValidation()
    let parsed = try CompactJWS.parse(token)
    func rate(_ body: () -> Void) -> Double {
        let start = threadCPUSeconds()
        var count = 0
        while threadCPUSeconds() - start < seconds {
            for _ in 0..<256 { body() }
            count += 256
        }
        return Double(count) / (threadCPUSeconds() - start)
    }
    print(String(format: "parse      %10.0f/s", rate { _ = try? CompactJWS.parse(token) }))
    print(String(format: "claims     %10.0f/s", rate { _ = try? validation.validate(parsed.claims, now: now) }))
    print(String(format: "signature  %10.0f/s", rate { _ = key.verify(signature: parsed.signature, message: parsed.signingInput) }))
    print(String(format: "fingerprint%10.0f/s", rate { _ = TokenFingerprint(token) }))
    let rsa = try JWSKey.generate(algorithm: .RS256)
    let rsaToken = try CompactJWS.parse(try JWTSigner.sign(claims: ["sub": "bench", "exp": .int(Int64(now) + 3600)], key: rsa))
    let rsaPublic = try rsa.publicKey()
    print(String(format: "rs256 sig  %10.0f/s", rate { _ = rsaPublic.verify(signature: rsaToken.signature, message: rsaToken.signingInput) }))
    exit(0)
}

print("JOSE verification benchmark: short tokens, \(rounds) rounds of \(seconds) CPU-s, medians; per CPU-second as openssl speed")
print("alg     JOSE verify/s   openssl primitive          openssl ops/s   ratio")
let only = ProcessInfo.processInfo.environment["BENCH_ALG"].flatMap(JWSAlgorithm.init(rawValue:))
let skipOpenSSL = ProcessInfo.processInfo.environment["BENCH_NO_OPENSSL"] != nil
for algorithm in JWSAlgorithm.allCases where only == nil || only == algorithm {
    let key = try JWSKey.generate(algorithm: algorithm)
    let token = try JWTSigner.sign(claims: ["sub": "bench", "iat": .int(Int64(now)), "exp": .int(Int64(now) + 3600)], key: key)
    let verifier = JWTVerifier(keys: JWKSet([try key.publicKey()]))
    let signingInputBytes = token.utf8.count - (token.split(separator: ".").last?.utf8.count ?? 0) - 1
    var ours: [Double] = []
    var theirs: [Double] = []
    var label = "?"
    for _ in 0..<rounds {
        ours.append(measure(verifier, token: token))
        if !skipOpenSSL, let (name, speed) = opensslSpeed(algorithm, messageBytes: signingInputBytes) {
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
