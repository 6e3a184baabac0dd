/// Why a request target was refused before routing: the gateway answers 400 and closes the connection.
///
/// Equality compares the code only; ``offset`` says where in the target the problem was found.
package struct PathRejection: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable reason code, used in the access log and in `keytool policy test` expectations.
    package struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        package let rawValue: String
        package init(rawValue: String) { self.rawValue = rawValue }
        package var description: String { rawValue }

        /// The target does not start with `/` (absolute-form, authority-form, `*`, or empty).
        package static let notOriginForm = Code(rawValue: "not_origin_form")
        /// A raw `#`: fragments are never sent in a request target.
        package static let fragment = Code(rawValue: "fragment")
        /// A raw control byte (0x00–0x1F, 0x7F).
        package static let controlCharacter = Code(rawValue: "control_character")
        /// A raw space, non-ASCII byte, or a character that RFC 3986 does not allow in a path.
        package static let invalidCharacter = Code(rawValue: "invalid_character")
        /// A raw `\`, which some upstreams treat as `/`.
        package static let backslash = Code(rawValue: "backslash")
        /// A raw `;`: some upstreams strip path parameters (`/admin;x/y`, `/..;/`) and see another path.
        package static let pathParameter = Code(rawValue: "path_parameter")
        /// `%` not followed by two hex digits.
        package static let invalidEscape = Code(rawValue: "invalid_escape")
        /// `%2F`: an encoded `/` would make the gateway and the upstream disagree on segments.
        package static let encodedSlash = Code(rawValue: "encoded_slash")
        /// `%5C`: an encoded `\`.
        package static let encodedBackslash = Code(rawValue: "encoded_backslash")
        /// `%00`.
        package static let encodedNUL = Code(rawValue: "encoded_nul")
        /// An encoded control byte other than NUL (`%0A`, `%7F`, ...).
        package static let encodedControl = Code(rawValue: "encoded_control")
        /// Percent-encoded bytes ≥ 0x80 that are not well-formed UTF-8 (overlong forms such as `%C0%AF`,
        /// surrogates, truncated sequences).
        package static let invalidUTF8 = Code(rawValue: "invalid_utf8")
    }

    package let code: Code
    /// Byte offset in the request target where the problem starts.
    package let offset: Int

    package init(_ code: Code, at offset: Int) {
        self.code = code
        self.offset = offset
    }

    package static func == (lhs: PathRejection, rhs: PathRejection) -> Bool { lhs.code == rhs.code }
    package func hash(into hasher: inout Hasher) { hasher.combine(code) }
    package var description: String { "\(code.rawValue) at byte \(offset)" }
}
