/// Reads sizes as operators write them: `16KiB`, `10MiB`, `1MB`, `512B`, or plain digits for bytes.
///
/// Binary units (`KiB`, `MiB`, `GiB`) are powers of 1024, decimal units (`KB`, `MB`, `GB`) powers of 1000,
/// as in IEC 80000-13. Whole numbers only; unit spelling is case-sensitive (`kB` is accepted for `KB`).
enum ByteSizeParser {
    static let units: [(name: String, bytes: Int)] = [
        ("B", 1), ("KB", 1000), ("kB", 1000), ("MB", 1_000_000), ("GB", 1_000_000_000),
        ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30),
    ]

    /// The unit names to suggest (without the `kB` alias).
    static let unitNames = ["B", "KB", "MB", "GB", "KiB", "MiB", "GiB"]

    enum Outcome: Equatable {
        case bytes(Int)
        /// Digits followed by something that is not a unit, such as `16kb` or `10M`.
        case unknownUnit(String)
        case tooLarge
        case invalid
    }

    static func parse(_ text: String) -> Outcome {
        let digits = text.prefix(while: { $0.isASCII && $0.isNumber })
        let unit = String(text[digits.endIndex...])
        guard !digits.isEmpty, digits.count == 1 || digits.first != "0" else { return .invalid }
        let scale: Int
        if unit.isEmpty {
            scale = 1
        } else if let known = units.first(where: { $0.name == unit }) {
            scale = known.bytes
        } else {
            return unit.first?.isNumber == false && !unit.contains(".") ? .unknownUnit(unit) : .invalid
        }
        guard let value = Int(digits) else { return .tooLarge }
        let (bytes, overflow) = value.multipliedReportingOverflow(by: scale)
        return overflow ? .tooLarge : .bytes(bytes)
    }
}
