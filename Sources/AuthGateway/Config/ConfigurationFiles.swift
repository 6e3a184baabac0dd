import Foundation

/// Every file a configuration reads (the config itself, policies, keys, TLS), and a fingerprint of
/// them, so that a change on disk triggers the same validated reload as SIGHUP.
package struct ConfigurationFiles: Equatable {
    /// Path → modification time and size; a missing file is recorded as missing.
    let stamps: [String: String]

    package init(configurationFile: String?, configuration: GatewayConfiguration) {
        var paths: [String] = []
        if let configurationFile { paths.append(configurationFile) }
        paths += configuration.listeners.flatMap { [$0.tls.certificateChainFile, $0.tls.privateKeyFile] }
        paths += configuration.issuers.flatMap { $0.keys.map(\.file) }
        paths += Self.policyFiles(in: configuration.policyDirectory)
        var stamps: [String: String] = [:]
        for path in paths {
            stamps[path] = Self.stamp(path)
        }
        self.stamps = stamps
    }

    /// The directory itself too, so an added or removed policy file counts as a change.
    private static func policyFiles(in directory: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return [directory] + names.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.map { directory + "/" + $0 }
    }

    private static func stamp(_ path: String) -> String {
        var info = stat()
        guard stat(path, &info) == 0 else { return "missing" }
        return "\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec):\(info.st_size):\(info.st_ino)"
    }
}
