// policy-bench: route matching cost for 10, 1,000 and 10,000 routes.
//
// Every table has routes of the same shapes and depth (exact, `{param}` and `/**` patterns under
// `/api/v1/`), and every run matches the same number of distinct request paths, each aimed at a random route
// of the table, so the only thing that changes is the number of routes. Prints ns per match (best of several
// runs), the full per-request path (canonicalize + match + authorize with claims), and the 10,000 / 10 ratio.
//
//   swift run -c release --scratch-path .build-policy policy-bench

import AuthGateway
import JOSE

struct Generator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }
}

func makePolicy(routes count: Int) throws -> Policy {
    var yaml = "routes:\n"
    for index in 0..<count {
        let path: String
        switch index % 3 {
        case 0: path = "/api/v1/res\(index)/items"
        case 1: path = "/api/v1/res\(index)/{id}"
        default: path = "/api/v1/res\(index)/files/**"
        }
        yaml += "  - { name: r\(index), match: { methods: [GET, POST], path: \"\(path)\" }, upstream: u, "
            + "require: { scopes: { all: [\"read:r\(index % 7)\"] } } }\n"
    }
    return try PolicyLoader.load(sources: [PolicySource(path: "bench.yaml", text: yaml)])
}

/// Raw targets (as a client sends them) and their canonical paths, each aimed at a random route.
func makeRequests(routes count: Int, distinct: Int) -> (targets: [String], paths: [String]) {
    var generator = Generator(state: 0x5EED)
    var targets: [String] = []
    for _ in 0..<distinct {
        let index = Int(generator.next() % UInt64(count))
        switch index % 3 {
        case 0: targets.append("/api/v1/res\(index)/items")
        case 1: targets.append("/api/v1/res\(index)/\(generator.next() % 100_000)")
        default: targets.append("/api/v1/res\(index)/files/report-\(generator.next() % 1000).pdf")
        }
    }
    let paths = targets.map { target -> String in
        guard case .success(let canonical) = CanonicalPath.canonicalize(target) else { fatalError("bad target") }
        return canonical.path
    }
    return (targets, paths)
}

/// Best-of-`runs` nanoseconds per call of `body` over `iterations` calls.
func measure(runs: Int = 7, iterations: Int, _ body: (Int) -> Int) -> Double {
    var best = Double.infinity
    var sink = 0
    for _ in 0..<runs {
        let start = ContinuousClock.now
        for iteration in 0..<iterations { sink &+= body(iteration) }
        let elapsed = ContinuousClock.now - start
        let (seconds, attoseconds) = elapsed.components
        let nanoseconds = Double(seconds) * 1e9 + Double(attoseconds) / 1e9
        best = min(best, nanoseconds / Double(iterations))
    }
    if sink == 42 { print("") }  // keeps the work observable
    return best
}

let sizes = [10, 1_000, 10_000]
let distinct = 4_096
let iterations = 2_000_000
var matchTimes: [Int: Double] = [:]
var fullTimes: [Int: Double] = [:]

print("routes   match ns/request   canonicalize+match+authorize ns/request")
for size in sizes {
    let policy = try makePolicy(routes: size)
    let (targets, paths) = makeRequests(routes: size, distinct: distinct)
    for path in paths where policy.route(method: "GET", host: nil, path: path) == nil {
        fatalError("no route for \(path)")
    }
    let claims: [String: JSONValue] = ["sub": "bench", "scope": "read:r0 read:r1 read:r2 read:r3 read:r4 read:r5 read:r6"]
    matchTimes[size] = measure(iterations: iterations) { iteration in
        policy.route(method: "GET", host: "api.example.com", path: paths[iteration & (distinct - 1)]) == nil ? 0 : 1
    }
    fullTimes[size] = measure(iterations: iterations / 4) { iteration in
        guard case .success(let target) = CanonicalPath.canonicalize(targets[iteration & (distinct - 1)]) else { return 0 }
        return policy.decide(method: "GET", host: "api.example.com", path: target.path, claims: claims).status
    }
    let match = String(format3: matchTimes[size] ?? 0)
    let full = String(format3: fullTimes[size] ?? 0)
    print("\(String(size).padded(6))   \(match.padded(18))   \(full)")
}
let ratio = (matchTimes[10_000] ?? 0) / (matchTimes[10] ?? 1)
let fullRatio = (fullTimes[10_000] ?? 0) / (fullTimes[10] ?? 1)
print("ratio 10,000 / 10: match \(String(format3: ratio))x, full request \(String(format3: fullRatio))x (target: match ≤ 1.5x)")

extension String {
    init(format3 value: Double) {
        let scaled = (value * 10).rounded() / 10
        self = String(scaled)
    }

    func padded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
