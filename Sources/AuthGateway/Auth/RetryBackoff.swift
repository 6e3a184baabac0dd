/// How long to wait before the next attempt after consecutive failures: exponential from `base`, capped, with
/// jitter, so that replicas that lost their provider together do not return to it in step.
///
/// The delay after the n-th failure in a row is `min(cap, base * 2^(n-1))`, scaled by a factor between 0.5 and
/// 1 drawn from `random` (injected, so tests pick it). A success starts over.
struct RetryBackoff: Sendable, Equatable {
    let base: Duration
    let cap: Duration
    private(set) var failures = 0

    init(base: Duration, cap: Duration) {
        self.base = base
        self.cap = max(base, cap)
    }

    /// Counts a failure; returns the delay before the next attempt. `random` is in `0..<1`.
    mutating func failed(random: Double) -> Duration {
        failures += 1
        let doubling = min(failures - 1, 30)
        let exponential = base * (1 << doubling)
        let ceiling = min(cap, exponential)
        return ceiling * (0.5 + 0.5 * min(max(random, 0), 1))
    }

    mutating func succeeded() {
        failures = 0
    }
}
