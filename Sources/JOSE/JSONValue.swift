/// A JSON value as the strict parser produces it and the serializer writes it.
///
/// Integers that fit `Int64` (no fraction, no exponent) are ``int``; every other number is a finite
/// ``double``. Objects never hold duplicate member names: the parser rejects them.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// The value as a string, if it is one.
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The value as a number, if it is one.
    public var numberValue: Double? {
        switch self {
        case .int(let value): return Double(value)
        case .double(let value): return value
        default: return nil
        }
    }

    /// The value as an array, if it is one.
    public var arrayValue: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    /// The value as an object, if it is one.
    public var objectValue: [String: JSONValue]? {
        if case .object(let value) = self { return value }
        return nil
    }

    /// The member `name` of an object, or `nil`.
    public subscript(name: String) -> JSONValue? {
        objectValue?[name]
    }
}
