import Foundation
import NIOCore

/// How many event loops to run: one per CPU this process may use. `System.coreCount` counts the CPUs of
/// the machine or cgroup, not the affinity mask, so under `taskset` it would put several loops on one core.
enum EventLoopCount {
    static var automatic: Int {
        guard let allowed = allowedCPUs(), allowed > 0 else { return System.coreCount }
        return min(allowed, System.coreCount)
    }

    /// The CPUs in this process's affinity mask (`Cpus_allowed` in /proc/self/status, hex words).
    static func allowedCPUs() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed:") })
        else { return nil }
        let mask = line.dropFirst("Cpus_allowed:".count).filter { !$0.isWhitespace && $0 != "," }
        var count = 0
        for digit in mask {
            guard let value = digit.hexDigitValue else { return nil }
            count += value.nonzeroBitCount
        }
        return count
    }
}
