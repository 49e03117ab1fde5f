/// An ordered list of HTTP header fields with case-insensitive lookup.
///
/// Pure value; any thread. Names keep the case they were written with; lookups ignore ASCII case.
public struct HTTPHeaders: Sendable, Equatable, Sequence, ExpressibleByDictionaryLiteral {
    /// The fields in wire order.
    public private(set) var fields: [(name: String, value: String)] = []

    /// An empty header list.
    public init() {}

    /// Headers from literal pairs, in the given order.
    public init(dictionaryLiteral elements: (String, String)...) {
        for (n, v) in elements { add(n, v) }
    }

    /// Appends a field (duplicates allowed).
    public mutating func add(_ name: String, _ value: String) { fields.append((name, value)) }

    /// Replaces every field named `name` with a single one (appended at the end).
    public mutating func set(_ name: String, _ value: String) {
        remove(name)
        add(name, value)
    }

    /// Removes every field named `name`.
    public mutating func remove(_ name: String) {
        fields.removeAll { HTTPHeaders.equalsIgnoringCase($0.name, name) }
    }

    /// The first value of `name`, or nil.
    public subscript(_ name: String) -> String? {
        fields.first { HTTPHeaders.equalsIgnoringCase($0.name, name) }?.value
    }

    /// Every value of `name`, in order.
    public func values(_ name: String) -> [String] {
        fields.filter { HTTPHeaders.equalsIgnoringCase($0.name, name) }.map(\.value)
    }

    /// True if `name` has a comma-separated element equal to `token` (ASCII case-insensitive),
    /// e.g. `contains("Connection", token: "close")`.
    public func contains(_ name: String, token: String) -> Bool {
        values(name).contains { v in
            v.split(separator: ",").contains { HTTPHeaders.equalsIgnoringCase(trimOWS($0), token) }
        }
    }

    /// Number of fields.
    public var count: Int { fields.count }

    /// Iterates `(name, value)` in wire order.
    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> { fields.makeIterator() }

    /// Equal when the same fields appear in the same order with identical names and values.
    public static func == (a: HTTPHeaders, b: HTTPHeaders) -> Bool {
        a.fields.count == b.fields.count && zip(a.fields, b.fields).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }

    /// ASCII case-insensitive comparison without allocating.
    public static func equalsIgnoringCase(_ a: some StringProtocol, _ b: some StringProtocol) -> Bool {
        var i = a.utf8.makeIterator(), j = b.utf8.makeIterator()
        while true {
            switch (i.next(), j.next()) {
            case (nil, nil): return true
            case (let x?, let y?):
                if x == y { continue }
                if (x | 0x20) != (y | 0x20) || !((x | 0x20) >= 0x61 && (x | 0x20) <= 0x7A) { return false }
            default: return false
            }
        }
    }

    /// Appends `Name: value\r\n` for every field to `out`.
    func write(to out: inout [UInt8]) {
        for f in fields {
            out.append(contentsOf: f.name.utf8)
            out.append(0x3A)
            out.append(0x20)
            out.append(contentsOf: f.value.utf8)
            out.append(0x0D)
            out.append(0x0A)
        }
    }
}

/// Strips spaces and tabs from both ends.
func trimOWS(_ s: Substring) -> Substring {
    var t = s
    while let f = t.first, f == " " || f == "\t" { t = t.dropFirst() }
    while let l = t.last, l == " " || l == "\t" { t = t.dropLast() }
    return t
}
