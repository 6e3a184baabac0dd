/// A configuration that cannot become active: every problem found, one per line.
public struct GatewayConfigurationError: Error, CustomStringConvertible, Sendable {
    public let problems: [String]

    public init(problems: [String]) {
        self.problems = problems
    }

    public var description: String {
        problems.joined(separator: "\n") + "\n\(problems.count) problem\(problems.count == 1 ? "" : "s"); nothing was loaded"
    }
}
