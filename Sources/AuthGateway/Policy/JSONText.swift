import JOSE

/// Compact JSON text for messages (`explain`, test failures, clause descriptions). Not a serializer for
/// anything that leaves the process.
package enum JSONText {
    package static func render(_ value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case .bool(let flag): return flag ? "true" : "false"
        case .int(let number): return String(number)
        case .double(let number): return String(number)
        case .string(let text): return quote(text)
        case .array(let values): return "[" + values.map(render).joined(separator: ",") + "]"
        case .object(let members):
            let body = members.keys.sorted().map { key in
                quote(key) + ":" + render(members[key] ?? .null)
            }
            return "{" + body.joined(separator: ",") + "}"
        }
    }

    package static func quote(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    let hex = String(scalar.value, radix: 16)
                    result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }
}
