import Foundation

/// Writing files with the right permissions, and messages to standard error.
enum FileOutput {
    static func standardError(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }

    /// Writes `text` to `path`; private material gets mode 0600 before any byte is written.
    static func write(_ text: String, to path: String, isPrivate: Bool) throws {
        let manager = FileManager.default
        let permissions = isPrivate ? 0o600 : 0o644
        if manager.fileExists(atPath: path) { try manager.removeItem(atPath: path) }
        guard manager.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: permissions]) else {
            throw UsageError("cannot create \(path): check that the directory exists and is writable")
        }
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw UsageError("cannot open \(path) for writing")
        }
        defer { try? handle.close() }
        try handle.write(contentsOf: Data(text.utf8))
    }

    /// Reads a whole file, naming it in the error.
    static func read(_ path: String, what: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw UsageError("cannot read \(what) \(path): no such file or not readable")
        }
        return [UInt8](data)
    }

    /// A token argument, or standard input for `-`, trimmed of surrounding whitespace.
    static func token(_ argument: String) throws -> String {
        var text = argument
        if argument == "-" {
            let data = FileHandle.standardInput.readDataToEndOfFile()
            text = String(decoding: data, as: UTF8.self)
        }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw UsageError("no token given: pass it as an argument or on stdin with -") }
        return trimmed
    }
}
