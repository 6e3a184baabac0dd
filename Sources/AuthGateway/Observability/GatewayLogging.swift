import Logging

/// The application log (separate from the access log): structured, to standard error.
public enum GatewayLogging {
    public static func logger(label: String = "auth-gateway", level: Logger.Level = .info) -> Logger {
        var logger = Logger(label: label) { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = level
        return logger
    }
}
