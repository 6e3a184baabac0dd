import Yams
import GatewayPolicy

/// One key of a configuration section and how its value is read into the section's value. A section is a
/// table of these: the keys it allows are exactly the keys it can decode, so the two can never disagree.
struct ConfigurationField<Value> {
    let key: String
    let decode: (inout GatewayConfigurationDecoder, Node, inout Value) -> Void

    /// The key in backquotes, as messages name it.
    var what: String { "`\(key)`" }

    static func custom(_ key: String, _ decode: @escaping (inout GatewayConfigurationDecoder, Node, inout Value) -> Void) -> Self {
        Self(key: key, decode: decode)
    }

    /// Reads with `read`; a value that cannot be read keeps the default (the error is reported).
    static func value<Field>(
        _ key: String, _ path: WritableKeyPath<Value, Field>,
        _ read: @escaping (inout GatewayConfigurationDecoder, Node, String) -> Field?
    ) -> Self {
        Self(key: key) { decoder, node, value in
            if let read = read(&decoder, node, "`\(key)`") { value[keyPath: path] = read }
        }
    }

    /// Like ``value(_:_:_:)`` for an optional field: a value that cannot be read leaves it unset.
    static func optional<Field>(
        _ key: String, _ path: WritableKeyPath<Value, Field?>,
        _ read: @escaping (inout GatewayConfigurationDecoder, Node, String) -> Field?
    ) -> Self {
        Self(key: key) { decoder, node, value in value[keyPath: path] = read(&decoder, node, "`\(key)`") }
    }

    static func duration(_ key: String, _ path: WritableKeyPath<Value, Duration>, allowZero: Bool = false) -> Self {
        value(key, path) { $0.duration($1, $2, allowZero: allowZero) }
    }

    static func size(_ key: String, _ path: WritableKeyPath<Value, Int>, minimum: Int) -> Self {
        value(key, path) { $0.size($1, $2, minimum: minimum) }
    }

    static func integer(_ key: String, _ path: WritableKeyPath<Value, Int>, in range: ClosedRange<Int>) -> Self {
        value(key, path) { $0.integer($1, $2, in: range) }
    }

    static func flag(_ key: String, _ path: WritableKeyPath<Value, Bool>) -> Self {
        value(key, path) { $0.flag($1, $2) }
    }

    static func choice<Choice: RawRepresentable & CaseIterable>(
        _ key: String, _ path: WritableKeyPath<Value, Choice>, noun: String
    ) -> Self where Choice.RawValue == String {
        value(key, path) { $0.choice($1, $2, noun: noun) }
    }
}

extension GatewayConfigurationDecoder {
    /// Reads the mapping `node` (a section named `what`) into `value`, one field per key, in the file's order.
    /// Keys no field reads and missing `required` keys are errors. Returns the entries, for checks across
    /// keys, or `nil` when `node` is not a mapping.
    @discardableResult
    mutating func decodeSection<Value>(
        _ node: Node, _ what: String, into value: inout Value, _ fields: [ConfigurationField<Value>],
        required: [String] = []
    ) -> [YAMLReader.Entry]? {
        guard let entries = reader.mapping(node, what) else { return nil }
        reader.checkKeys(entries, allowed: fields.map(\.key), in: what)
        reader.requireKeys(entries, required, in: what, at: node)
        for entry in entries {
            fields.first(where: { $0.key == entry.key })?.decode(&self, entry.value, &value)
        }
        return entries
    }
}
