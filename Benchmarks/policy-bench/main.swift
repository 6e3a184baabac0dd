// policy-bench: route matching cost for 10, 1,000 and 10,000 routes.
//
// Every table has routes of the same shapes and depth (exact, `{param}` and `/**` patterns under
// `/api/v1/`), and every run matches the same number of distinct request paths, each aimed at a random route
// of the table, so the only thing that changes is the number of routes. Prints ns per match (best of several
// runs, in thread CPU time so a busy machine does not skew it), canonicalize and authorize (with claims and
// default identity headers) alone, the whole request path, and the 10,000 / 10 ratio.
//
//   swift run -c release --scratch-path .build-policy policy-bench

import GatewayPolicy
import JOSE

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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

/// This thread's CPU time in nanoseconds: unlike wall time, it does not count time the scheduler gave to
/// other processes, so results stay comparable on a busy machine.
func threadCPUNanoseconds() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
    return Double(spec.tv_sec) * 1e9 + Double(spec.tv_nsec)
}

/// Best-of-`runs` CPU nanoseconds per call of `body` over `iterations` calls.
func measure(runs: Int = 15, iterations: Int, _ body: (Int) -> Int) -> Double {
    var best = Double.infinity
    var sink = 0
    for _ in 0..<runs {
        let start = threadCPUNanoseconds()
        for iteration in 0..<iterations { sink &+= body(iteration) }
        best = min(best, (threadCPUNanoseconds() - start) / Double(iterations))
    }
    if sink == 42 { print("") }  // keeps the work observable
    return best
}

let sizes = [10, 1_000, 10_000]
let distinct = 4_096
let iterations = 400_000
var matchTimes: [Int: Double] = [:]
var fullTimes: [Int: Double] = [:]
var canonicalTimes: [Int: Double] = [:]
var hotTimes: [Int: Double] = [:]
var authorizeTimes: [Int: Double] = [:]

print("routes   match ns (4096 paths)   match ns (64 paths)   canonicalize ns   authorize ns   full request ns")
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
    hotTimes[size] = measure(iterations: iterations) { iteration in
        policy.route(method: "GET", host: "api.example.com", path: paths[iteration & 63]) == nil ? 0 : 1
    }
    let routes = paths.map { policy.route(method: "GET", host: nil, path: $0) }
    canonicalTimes[size] = measure(iterations: iterations / 4) { iteration in
        guard case .success(let target) = CanonicalPath.canonicalize(targets[iteration & (distinct - 1)]) else { return 0 }
        return target.path.utf8.count
    }
    authorizeTimes[size] = measure(iterations: iterations / 4) { iteration in
        guard let route = routes[iteration & (distinct - 1)] else { return 0 }
        return policy.authorize(route, claims: claims).status
    }
    fullTimes[size] = measure(iterations: iterations / 4) { iteration in
        guard case .success(let target) = CanonicalPath.canonicalize(targets[iteration & (distinct - 1)]) else { return 0 }
        return policy.decide(method: "GET", host: "api.example.com", path: target.path, claims: claims).status
    }
    let match = String(format3: matchTimes[size] ?? 0)
    let full = String(format3: fullTimes[size] ?? 0)
    let canonical = String(format3: canonicalTimes[size] ?? 0)
    let authorize = String(format3: authorizeTimes[size] ?? 0)
    let hot = String(format3: hotTimes[size] ?? 0)
    print("\(String(size).padded(6))   \(match.padded(20))   \(hot.padded(18))   \(canonical.padded(15))   \(authorize.padded(12))   \(full.padded(15))")
}
let ratio = (matchTimes[10_000] ?? 0) / (matchTimes[10] ?? 1)
let hotRatio = (hotTimes[10_000] ?? 0) / (hotTimes[10] ?? 1)
let fullRatio = (fullTimes[10_000] ?? 0) / (fullTimes[10] ?? 1)
print("ratio 10,000 / 10: match \(String(format2: ratio))x (64 paths: \(String(format2: hotRatio))x), full request \(String(format2: fullRatio))x (target: match ≤ 1.5x)")

extension String {
    init(format3 value: Double) {
        let scaled = (value * 10).rounded() / 10
        self = String(scaled)
    }

    init(format2 value: Double) {
        self = String((value * 100).rounded() / 100)
    }

    func padded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
