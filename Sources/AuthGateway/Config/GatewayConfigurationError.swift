/// A configuration that cannot become active: every problem found, one per line.
package struct GatewayConfigurationError: Error, CustomStringConvertible, Sendable {
    package let problems: [String]

    package init(problems: [String]) {
        self.problems = problems
    }

    package var description: String {
        problems.joined(separator: "\n") + "\n\(problems.count) problem\(problems.count == 1 ? "" : "s"); nothing was loaded"
    }
}
