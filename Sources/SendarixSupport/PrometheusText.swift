/// Builds the Prometheus text exposition format (version 0.0.4): `# HELP` / `# TYPE` lines per
/// family, then samples with escaped label values. Pure value; any thread.
public struct PrometheusText: Sendable {
    /// The text so far.
    public private(set) var text = ""
    private var families: Set<String> = []

    /// The content type to serve it with.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Creates an empty document. Any thread.
    public init() {}

    /// Starts a metric family (once per name; repeated calls are ignored).
    public mutating func family(_ name: String, _ type: String, _ help: String) {
        guard families.insert(name).inserted else { return }
        text += "# HELP \(name) \(help.replacingBackslashesAndNewlines())\n# TYPE \(name) \(type)\n"
    }

    /// Appends one sample. Labels are written in name order.
    public mutating func sample(_ name: String, _ labels: [String: String] = [:], _ value: Double) {
        text += name
        if !labels.isEmpty {
            text += "{"
            text += labels.sorted { $0.key < $1.key }.map { "\($0.key)=\"\(Self.escape($0.value))\"" }.joined(separator: ",")
            text += "}"
        }
        text += " " + Self.format(value) + "\n"
    }

    /// Appends a gauge family with one unlabelled sample.
    public mutating func gauge(_ name: String, _ help: String, _ value: Double) {
        family(name, "gauge", help)
        sample(name, [:], value)
    }

    /// Appends a counter family with one unlabelled sample.
    public mutating func counter(_ name: String, _ help: String, _ value: Double) {
        family(name, "counter", help)
        sample(name, [:], value)
    }

    /// Appends a histogram family (`_bucket{le=…}`, `_sum`, `_count`).
    public mutating func histogram(_ name: String, _ help: String, _ h: MetricHistogram) {
        family(name, "histogram", help)
        let snap = h.snapshot()
        for (i, bound) in h.bounds.enumerated() {
            sample(name + "_bucket", ["le": Self.format(bound)], Double(snap.cumulative[i]))
        }
        sample(name + "_bucket", ["le": "+Inf"], Double(snap.count))
        sample(name + "_sum", [:], snap.sum)
        sample(name + "_count", [:], Double(snap.count))
    }

    static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out
    }

    static func format(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return String(v)
    }
}

extension String {
    fileprivate func replacingBackslashesAndNewlines() -> String {
        var out = ""
        for c in self {
            switch c {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out
    }
}
