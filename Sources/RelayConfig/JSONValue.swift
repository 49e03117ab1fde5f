/// A parsed JSON value, used to walk a config document key by key so that every unknown key and every
/// type mismatch can be reported with its path. Internal to RelayConfig.
enum JSONValue: Sendable, Equatable, Decodable {
    case null
    case bool(Bool)
    case integer(Int)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let i = try? c.decode(Int.self) {
            self = .integer(i)
        } else if let d = try? c.decode(Double.self) {
            self = .number(d)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([JSONValue].self) {
            self = .array(a)
        } else {
            self = .object(try c.decode([String: JSONValue].self))
        }
    }

    /// "a string", "an integer", … for error messages, with a short rendering of the value.
    var kindDescription: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return "boolean \(b)"
        case .integer(let i): return "number \(i)"
        case .number(let d): return "number \(d)"
        case .string(let s): return "string '\(s.count > 40 ? String(s.prefix(40)) + "…" : s)'"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}
