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
    /// The line being built, reused from line to line (see `Line`); locked while a line is built
    /// and written.
    private let line = Mutex<Line>(Line())

    /// Creates a logger writing to `fd` (stderr by default) at or above `level`.
    public init(level: Level = .info, fd: Int32 = 2) {
        self.minimum = level
        self.fd = fd
    }

    /// True when `level` would be written.
    public func enabled(_ level: Level) -> Bool { level >= minimum }

    /// Writes one line. Non-blocking in practice (stderr); safe from any thread.
    public func log(_ level: Level, _ event: String, _ fields: KeyValuePairs<String, String> = [:]) {
        log(level, event) { line in
            for (k, v) in fields { line.field(k, v) }
        }
    }

    /// Writes one line with fields given as an array.
    public func log(_ level: Level, _ event: String, fields: [(String, String)]) {
        log(level, event) { line in
            for (k, v) in fields { line.field(k, v) }
        }
    }

    /// Writes one line whose fields `fill` appends in order (`line.field(key, value)`): no field
    /// array and no line-sized allocation per line. Below the logger's level nothing is built and
    /// `fill` is not called. `fill` runs under the logger's lock, so it must only append fields
    /// (it must not log). Blocks only for `write(2)` on the descriptor; safe from any thread.
    public func log(_ level: Level, _ event: String, _ fill: (inout Line) -> Void) {
        guard level >= minimum else { return }
        let fd = self.fd
        line.withLock { line in
            line.begin(level, event, now: NodeLogger.now())
            fill(&line)
            line.end()
            line.bytes.withUnsafeBytes { buffer in
                var off = 0
                while off < buffer.count {
                    let n = Glibc.write(fd, buffer.baseAddress! + off, buffer.count - off)
                    if n <= 0 { break }
                    off += n
                }
            }
            line.reset()
        }
    }

    /// The wall clock, for `line`.
    static func now() -> timespec {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return ts
    }

    /// One log line (JSON object and newline) built from a field array with a fresh `Line`.
    /// Pure; any thread.
    static func line(_ level: Level, _ event: String, fields: [(String, String)], now: timespec) -> [UInt8] {
        var line = Line()
        line.begin(level, event, now: now)
        for (k, v) in fields { line.field(k, v) }
        line.end()
        return line.bytes
    }

    /// One log line under construction: `{"ts":"…","level":"…","event":"…"`, then one
    /// `,"key":"value"` per `field`, then `}` and a newline, appended byte by byte into a buffer
    /// that the logger reuses from line to line (every message relayed logs several lines, so
    /// this avoids String interpolation, field arrays and a fresh buffer per line).
    ///
    /// The `YYYY-MM-DDTHH:MM:SS.` part of the timestamp is cached for the second it was made for:
    /// it is remade whenever a line's second differs from the cached one (a clock step either way
    /// included), so it never goes stale; one entry. The buffer keeps its capacity between lines
    /// unless a line made it larger than `keptCapacity`, so a huge line does not pin its memory.
    ///
    /// Only the logger makes and owns one; a caller gets it, under the logger's lock, in the
    /// closure of `log(_:_:_:)` and only appends fields. Never blocks.
    public struct Line: Sendable {
        /// The bytes built so far.
        var bytes: [UInt8] = []
        /// The second `secondPrefix` was made for (`Int.min`: none yet).
        private var cachedSecond = Int.min
        /// `YYYY-MM-DDTHH:MM:SS.` for `cachedSecond`.
        private var secondPrefix: [UInt8] = []
        /// Largest buffer kept between lines.
        static let keptCapacity = 16 * 1024

        init() { bytes.reserveCapacity(512) }

        /// Appends `,"key":"value"`, both escaped as JSON strings. Pure; from `log`'s closure.
        public mutating func field(_ key: String, _ value: String) {
            bytes.append(UInt8(ascii: ","))
            NodeLogger.appendJSONString(key, to: &bytes)
            bytes.append(UInt8(ascii: ":"))
            NodeLogger.appendJSONString(value, to: &bytes)
        }

        /// Appends `,"key":"value"` with `value` in decimal, as `String(value)` writes it.
        /// Pure; from `log`'s closure.
        public mutating func field(_ key: String, _ value: Int) {
            bytes.append(UInt8(ascii: ","))
            NodeLogger.appendJSONString(key, to: &bytes)
            bytes.append(contentsOf: #":""#.utf8)
            if value < 0 { bytes.append(UInt8(ascii: "-")) }
            NodeLogger.appendDigits(value.magnitude, width: 1, to: &bytes)
            bytes.append(UInt8(ascii: "\""))
        }

        /// Starts a line: timestamp, level and event. Pure.
        mutating func begin(_ level: Level, _ event: String, now: timespec) {
            bytes.append(contentsOf: #"{"ts":""#.utf8)
            if Int(now.tv_sec) != cachedSecond {
                cachedSecond = Int(now.tv_sec)
                secondPrefix.removeAll(keepingCapacity: true)
                NodeLogger.appendSecondPrefix(now.tv_sec, to: &secondPrefix)
            }
            bytes.append(contentsOf: secondPrefix)
            NodeLogger.appendTimestampDigits(Int(now.tv_nsec / 1_000_000), width: 3, to: &bytes)
            bytes.append(contentsOf: #"Z","level":""#.utf8)
            bytes.append(contentsOf: level.name.utf8)
            bytes.append(contentsOf: #"","event":"#.utf8)
            NodeLogger.appendJSONString(event, to: &bytes)
        }

        /// Ends a line: `}` and a newline. Pure.
        mutating func end() {
            bytes.append(contentsOf: "}\n".utf8)
        }

        /// Empties the buffer for the next line, keeping at most `keptCapacity`. Pure.
        mutating func reset() {
            if bytes.capacity > Line.keptCapacity {
                bytes = []
                bytes.reserveCapacity(512)
            } else {
                bytes.removeAll(keepingCapacity: true)
            }
        }
    }

    /// Appends the second `sec` as RFC 3339 UTC up to the fraction (`2026-12-05T18:36:44.`). Pure.
    static func appendSecondPrefix(_ sec: time_t, to out: inout [UInt8]) {
        var t = sec
        var tmv = tm()
        gmtime_r(&t, &tmv)
        func digits(_ value: Int, _ width: Int) { appendTimestampDigits(value, width: width, to: &out) }
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
    }

    /// Appends one timestamp part zero-padded to `width`: negative as 0, and at most the last 8
    /// digits (zero-padded to 8) of a part that has more, as timestamps have always been written. Pure.
    static func appendTimestampDigits(_ value: Int, width: Int, to out: inout [UInt8]) {
        let v = max(0, value)
        if v >= 100_000_000 {
            appendDigits(UInt(v % 100_000_000), width: 8, to: &out)
        } else {
            appendDigits(UInt(v), width: width, to: &out)
        }
    }

    /// Appends `value` in decimal, zero-padded on the left to at least `width` digits. Pure.
    static func appendDigits(_ value: UInt, width: Int, to out: inout [UInt8]) {
        var buffer: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: UInt.max has 20 digits
        withUnsafeMutableBytes(of: &buffer) { b in
            var v = value
            var n = b.count
            repeat {
                n -= 1
                b[n] = UInt8(ascii: "0") + UInt8(v % 10)
                v /= 10
            } while v > 0
            while b.count - n < width && n > 0 { n -= 1; b[n] = UInt8(ascii: "0") }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: b[n...]))
        }
    }

    /// Appends `s` as a JSON string literal: `"`, `\\`, LF, CR and tab escaped by letter, other
    /// control characters as `\u00xx`, everything else (UTF-8 included) as it is. Runs that need no
    /// escaping are copied whole (most strings are one run). Pure.
    static func appendJSONString(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { utf8 in
            var run = 0
            for i in 0..<utf8.count {
                let b = utf8[i]
                guard b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") else { continue }
                if run < i { out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[run..<i])) }
                run = i + 1
                switch b {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(0x5C); out.append(b)
                case 0x0A: out.append(0x5C); out.append(UInt8(ascii: "n"))
                case 0x0D: out.append(0x5C); out.append(UInt8(ascii: "r"))
                case 0x09: out.append(0x5C); out.append(UInt8(ascii: "t"))
                default:
                    let hex: StaticString = "0123456789abcdef"
                    out.append(0x5C); out.append(UInt8(ascii: "u")); out.append(0x30); out.append(0x30)
                    out.append(hex.utf8Start[Int(b >> 4)]); out.append(hex.utf8Start[Int(b & 0xF)])
                }
            }
            if run < utf8.count { out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[run...])) }
        }
        out.append(UInt8(ascii: "\""))
    }
}
