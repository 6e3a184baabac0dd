/// Why a request target was refused before routing: the gateway answers 400 and closes the connection.
///
/// Equality compares the code only; ``offset`` says where in the target the problem was found.
public struct PathRejection: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable reason code, used in the access log and in `keytool policy test` expectations.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The target does not start with `/` (absolute-form, authority-form, `*`, or empty).
        public static let notOriginForm = Code(rawValue: "not_origin_form")
        /// A raw `#`: fragments are never sent in a request target.
        public static let fragment = Code(rawValue: "fragment")
        /// A raw control byte (0x00–0x1F, 0x7F).
        public static let controlCharacter = Code(rawValue: "control_character")
        /// A raw space, non-ASCII byte, or a character that RFC 3986 does not allow in a path.
        public static let invalidCharacter = Code(rawValue: "invalid_character")
        /// A raw `\`, which some upstreams treat as `/`.
        public static let backslash = Code(rawValue: "backslash")
        /// A raw `;`: some upstreams strip path parameters (`/admin;x/y`, `/..;/`) and see another path.
        public static let pathParameter = Code(rawValue: "path_parameter")
        /// `%` not followed by two hex digits.
        public static let invalidEscape = Code(rawValue: "invalid_escape")
        /// `%2F`: an encoded `/` would make the gateway and the upstream disagree on segments.
        public static let encodedSlash = Code(rawValue: "encoded_slash")
        /// `%5C`: an encoded `\`.
        public static let encodedBackslash = Code(rawValue: "encoded_backslash")
        /// `%00`.
        public static let encodedNUL = Code(rawValue: "encoded_nul")
        /// An encoded control byte other than NUL (`%0A`, `%7F`, ...).
        public static let encodedControl = Code(rawValue: "encoded_control")
        /// Percent-encoded bytes ≥ 0x80 that are not well-formed UTF-8 (overlong forms such as `%C0%AF`,
        /// surrogates, truncated sequences).
        public static let invalidUTF8 = Code(rawValue: "invalid_utf8")
    }

    public let code: Code
    /// Byte offset in the request target where the problem starts.
    public let offset: Int

    public init(_ code: Code, at offset: Int) {
        self.code = code
        self.offset = offset
    }

    public static func == (lhs: PathRejection, rhs: PathRejection) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }
    public var description: String { "\(code.rawValue) at byte \(offset)" }
}
