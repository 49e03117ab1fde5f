/// Collects problems while a config document is decoded. Internal; one per parse, single-threaded.
final class ConfigProblems {
    var list: [RelayConfig.Problem] = []

    func error(_ path: String, _ message: String) { list.append(.init(.error, path, message)) }
    func warning(_ path: String, _ message: String) { list.append(.init(.warning, path, message)) }
}

/// A view of one JSON object at a key path that hands out typed values, reports type mismatches and,
/// on `finish()`, every key that was never asked for. Internal to RelayConfig.
struct ConfigReader {
    let fields: [String: JSONValue]
    let path: String
    let problems: ConfigProblems
    private var used: Set<String> = []

    init(_ value: JSONValue, path: String, problems: ConfigProblems) {
        self.path = path
        self.problems = problems
        if case .object(let f) = value {
            fields = f
        } else {
            fields = [:]
            problems.error(path, "expected an object, got \(value.kindDescription)")
        }
    }

    static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func keyPath(_ key: String) -> String { ConfigReader.join(path, key) }

    /// The raw value of `key`, or nil when absent or JSON null.
    mutating func raw(_ key: String) -> JSONValue? {
        used.insert(key)
        guard let v = fields[key] else { return nil }
        if case .null = v { return nil }
        return v
    }

    /// True when `key` is present with an explicit `null`.
    func isExplicitNull(_ key: String) -> Bool {
        if case .null? = fields[key] { return true }
        return false
    }

    mutating func string(_ key: String) -> String? {
        guard let v = raw(key) else { return nil }
        return ConfigReader.string(v, path: keyPath(key), problems: problems)
    }

    mutating func string(_ key: String, default d: String) -> String { string(key) ?? d }

    /// A required string: reports "is required" when absent.
    mutating func requiredString(_ key: String) -> String? {
        if fields[key] == nil || isExplicitNull(key) {
            used.insert(key)
            problems.error(keyPath(key), "is required")
            return nil
        }
        return string(key)
    }

    mutating func int(_ key: String, default d: Int) -> Int {
        guard let v = raw(key) else { return d }
        switch v {
        case .integer(let i): return i
        case .number(let x) where x == x.rounded() && abs(x) < 9e15: return Int(x)
        default:
            problems.error(keyPath(key), "expected an integer, got \(v.kindDescription)")
            return d
        }
    }

    /// A number (integer or decimal); reports other types and returns `d`.
    mutating func double(_ key: String, default d: Double) -> Double {
        guard let v = raw(key) else { return d }
        switch v {
        case .integer(let i): return Double(i)
        case .number(let x): return x
        default:
            problems.error(keyPath(key), "expected a number, got \(v.kindDescription)")
            return d
        }
    }

    /// An array of integers; elements of the wrong type are reported and skipped.
    mutating func ints(_ key: String) -> [Int]? {
        guard let items = array(key) else { return nil }
        return items.compactMap { item in
            switch item.value {
            case .integer(let i): return i
            case .number(let x) where x == x.rounded() && abs(x) < 9e15: return Int(x)
            default:
                problems.error(item.path, "expected an integer, got \(item.value.kindDescription)")
                return nil
            }
        }
    }

    mutating func bool(_ key: String, default d: Bool) -> Bool {
        guard let v = raw(key) else { return d }
        if case .bool(let b) = v { return b }
        problems.error(keyPath(key), "expected true or false, got \(v.kindDescription)")
        return d
    }

    /// The elements of an array with their paths; nil when absent (or a type error, reported).
    mutating func array(_ key: String) -> [(path: String, value: JSONValue)]? {
        guard let v = raw(key) else { return nil }
        let p = keyPath(key)
        guard case .array(let items) = v else {
            problems.error(p, "expected an array, got \(v.kindDescription)")
            return nil
        }
        return items.enumerated().map { ("\(p)[\($0.offset)]", $0.element) }
    }

    /// An array of strings; elements of the wrong type are reported and skipped.
    mutating func strings(_ key: String) -> [(path: String, value: String)]? {
        guard let items = array(key) else { return nil }
        return items.compactMap { item in
            ConfigReader.string(item.value, path: item.path, problems: problems).map { (item.path, $0) }
        }
    }

    /// A nested object reader, or nil when absent.
    mutating func object(_ key: String) -> ConfigReader? {
        guard let v = raw(key) else { return nil }
        return ConfigReader(v, path: keyPath(key), problems: problems)
    }

    /// Reports every key that no accessor asked for, suggesting the closest known key.
    func finish() {
        for key in fields.keys.sorted() where !used.contains(key) {
            var message = "unknown key"
            if let s = ConfigReader.closest(to: key, among: used) { message += " (did you mean '\(s)'?)" }
            problems.error(keyPath(key), message)
        }
    }

    static func string(_ v: JSONValue, path: String, problems: ConfigProblems) -> String? {
        if case .string(let s) = v { return s }
        problems.error(path, "expected a string, got \(v.kindDescription)")
        return nil
    }

    /// The candidate with the smallest edit distance when it is close enough to be a likely typo.
    static func closest(to key: String, among candidates: Set<String>) -> String? {
        let k = Array(key.lowercased())
        var best: (String, Int)? = nil
        for c in candidates.sorted() {
            let d = editDistance(k, Array(c.lowercased()))
            if d <= max(2, k.count / 3), best == nil || d < best!.1 { best = (c, d) }
        }
        return best?.0
    }

    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var prev = Array(0...b.count)
        var cur = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            cur[0] = i
            for j in 1...b.count {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&prev, &cur)
        }
        return prev[b.count]
    }
}
