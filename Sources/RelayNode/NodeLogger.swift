import Foundation
import Glibc
import Synchronization

/// Structured logs: one JSON object per line on stderr (`ts`, `level`, `event`, then fields).
///
/// Thread-safe; each line is written with a single `write(2)` so lines never interleave.
/// Never pass passwords or message bodies as fields.
public final class NodeLogger: Sendable {
    /// Severity.
    public enum Level: Int, Sendable, Comparable {
        case debug, info, warning, error
        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }
        var name: String { ["debug", "info", "warning", "error"][rawValue] }
        /// Parses `debug|info|warning|error` (default info).
        public init(name: String) {
            switch name.lowercased() {
            case "debug": self = .debug
            case "warning", "warn": self = .warning
            case "error": self = .error
            default: self = .info
            }
        }
    }

    private let minimum: Level
    private let fd: Int32
    private let lock = Mutex<Void>(())

    /// Creates a logger writing to `fd` (stderr by default) at or above `level`.
    public init(level: Level = .info, fd: Int32 = 2) {
        self.minimum = level
        self.fd = fd
    }

    /// True when `level` would be written.
    public func enabled(_ level: Level) -> Bool { level >= minimum }

    /// Writes one line. Non-blocking in practice (stderr); safe from any thread.
    public func log(_ level: Level, _ event: String, _ fields: KeyValuePairs<String, String> = [:]) {
        log(level, event, fields: Array(fields))
    }

    /// Writes one line with fields given as an array.
    public func log(_ level: Level, _ event: String, fields: [(String, String)]) {
        guard level >= minimum else { return }
        var line = "{\"ts\":\"\(NodeLogger.timestamp())\",\"level\":\"\(level.name)\",\"event\":"
        NodeLogger.appendJSONString(event, to: &line)
        for (k, v) in fields {
            line += ","
            NodeLogger.appendJSONString(k, to: &line)
            line += ":"
            NodeLogger.appendJSONString(v, to: &line)
        }
        line += "}\n"
        var bytes = Array(line.utf8)
        lock.withLock { _ in
            var off = 0
            while off < bytes.count {
                let n = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress! + off, $0.count - off) }
                if n <= 0 { break }
                off += n
            }
        }
    }

    /// RFC 3339 UTC timestamp with milliseconds.
    static func timestamp() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var t = ts.tv_sec
        var tmv = tm()
        gmtime_r(&t, &tmv)
        let ms = Int(ts.tv_nsec / 1_000_000)
        func p(_ v: Int32, _ w: Int) -> String { let s = String(v); return String(repeating: "0", count: max(0, w - s.count)) + s }
        return "\(p(tmv.tm_year + 1900, 4))-\(p(tmv.tm_mon + 1, 2))-\(p(tmv.tm_mday, 2))T\(p(tmv.tm_hour, 2)):\(p(tmv.tm_min, 2)):\(p(tmv.tm_sec, 2)).\(p(Int32(ms), 3))Z"
    }

    /// Appends `s` as a JSON string literal.
    static func appendJSONString(_ s: String, to out: inout String) {
        out += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let h = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        out += "\""
    }
}
