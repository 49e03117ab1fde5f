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
        var name: String {
            switch self {
            case .debug: "debug"
            case .info: "info"
            case .warning: "warning"
            case .error: "error"
            }
        }
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
        let bytes = NodeLogger.line(level, event, fields: fields, now: NodeLogger.now())
        lock.withLock { _ in
            bytes.withUnsafeBytes { buffer in
                var off = 0
                while off < buffer.count {
                    let n = Glibc.write(fd, buffer.baseAddress! + off, buffer.count - off)
                    if n <= 0 { break }
                    off += n
                }
            }
        }
    }

    /// The wall clock, for `line`.
    static func now() -> timespec {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return ts
    }

    /// One log line (JSON object and newline) built byte by byte: every message relayed logs
    /// several lines, so this avoids String interpolation. Pure; any thread.
    static func line(_ level: Level, _ event: String, fields: [(String, String)], now: timespec) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(96 + event.utf8.count + fields.reduce(0) { $0 + $1.0.utf8.count + $1.1.utf8.count + 6 })
        out.append(contentsOf: #"{"ts":""#.utf8)
        appendTimestamp(now, to: &out)
        out.append(contentsOf: #"","level":""#.utf8)
        out.append(contentsOf: level.name.utf8)
        out.append(contentsOf: #"","event":"#.utf8)
        appendJSONString(event, to: &out)
        for (k, v) in fields {
            out.append(UInt8(ascii: ","))
            appendJSONString(k, to: &out)
            out.append(UInt8(ascii: ":"))
            appendJSONString(v, to: &out)
        }
        out.append(contentsOf: "}\n".utf8)
        return out
    }

    /// Appends `ts` as an RFC 3339 UTC timestamp with milliseconds (`2026-12-05T18:36:44.815Z`).
    static func appendTimestamp(_ ts: timespec, to out: inout [UInt8]) {
        var t = ts.tv_sec
        var tmv = tm()
        gmtime_r(&t, &tmv)
        func digits(_ value: Int, _ width: Int) {
            var v = max(0, value)
            var buffer: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0)
            var n = 0
            withUnsafeMutableBytes(of: &buffer) { b in
                repeat {
                    b[n] = UInt8(ascii: "0") + UInt8(v % 10)
                    v /= 10
                    n += 1
                } while v > 0 && n < 8
                while n < width { b[n] = UInt8(ascii: "0"); n += 1 }
                for k in stride(from: n - 1, through: 0, by: -1) { out.append(b[k]) }
            }
        }
        digits(Int(tmv.tm_year) + 1900, 4)
        out.append(UInt8(ascii: "-"))
        digits(Int(tmv.tm_mon) + 1, 2)
        out.append(UInt8(ascii: "-"))
        digits(Int(tmv.tm_mday), 2)
        out.append(UInt8(ascii: "T"))
        digits(Int(tmv.tm_hour), 2)
        out.append(UInt8(ascii: ":"))
        digits(Int(tmv.tm_min), 2)
        out.append(UInt8(ascii: ":"))
        digits(Int(tmv.tm_sec), 2)
        out.append(UInt8(ascii: "."))
        digits(Int(ts.tv_nsec / 1_000_000), 3)
        out.append(UInt8(ascii: "Z"))
    }

    /// Appends `s` as a JSON string literal: `"`, `\\`, LF, CR and tab escaped by letter, other
    /// control characters as `\u00xx`, everything else (UTF-8 included) as it is.
    static func appendJSONString(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): out.append(0x5C); out.append(b)
            case UInt8(ascii: "\\"): out.append(0x5C); out.append(b)
            case 0x0A: out.append(0x5C); out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(0x5C); out.append(UInt8(ascii: "r"))
            case 0x09: out.append(0x5C); out.append(UInt8(ascii: "t"))
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 0xF)]])
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
