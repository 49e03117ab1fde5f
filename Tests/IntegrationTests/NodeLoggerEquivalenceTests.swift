import Foundation
import Glibc
import SendarixSupport
import SMTPCore
import Testing
@testable import RelayNode

/// The log line builder (reused buffer, cached second, run-copied escaping, fields appended in
/// place) against the code it replaced, kept below as the oracle: same bytes for every input.
@Suite("Node log lines: the reused-buffer builder writes the same bytes as the field-array code it replaced")
struct NodeLoggerEquivalenceTests {
    /// Pieces that random strings are made of: ASCII, every control character, quotes,
    /// backslashes, slashes, DEL, 2-, 3- and 4-byte UTF-8, a combining accent.
    static let pieces: [String] = ["a", "Z", "0", " ", "/", "\"", "\\", "\\\"", "\u{7F}", "é", "ß", "€", "中文",
                                   "😀", "e\u{301}", "{", "}", ":", ","]
        + (0..<0x20).map { String(UnicodeScalar(UInt8($0))) }

    static func randomString(_ rng: inout SplitMix64) -> String {
        switch rng.next() % 40 {
        case 0..<4: return ""
        case 4: return String(repeating: "x", count: Int(rng.next() % 20_000))  // beyond the kept capacity
        case 5..<8: return "1M93QWQYEGN4R9GQ000J"
        default:
            var s = ""
            for _ in 0..<Int(rng.next() % 40) { s += pieces[Int(rng.next() % UInt64(pieces.count))] }
            return s
        }
    }

    /// Clocks in order as a logger sees them: mostly the same or the next second, sometimes a
    /// step back, and the far past and future.
    static func nextClock(after previous: timespec, _ rng: inout SplitMix64) -> timespec {
        let nsec = Int(rng.next() % 1_000_000_000)
        switch rng.next() % 12 {
        case 0: return timespec(tv_sec: previous.tv_sec + 1, tv_nsec: nsec)
        case 1: return timespec(tv_sec: previous.tv_sec - Int(rng.next() % 5), tv_nsec: nsec)
        case 2: return timespec(tv_sec: Int(Int64(bitPattern: rng.next()) % 100_000_000_000), tv_nsec: nsec)
        case 3: return timespec(tv_sec: [0, -1, 4_102_444_799, 253_402_300_799, 3_200_000_000_000_000][Int(rng.next() % 5)],
                                tv_nsec: [0, 999_999_999, nsec][Int(rng.next() % 3)])
        default: return timespec(tv_sec: previous.tv_sec, tv_nsec: nsec)
        }
    }

    @Test("3,000 seeded random lines (every level, unicode, quotes, backslashes, control characters, empty and 20 KB values, clock steps both ways) built in one reused line are byte-identical to the old builder's")
    func randomLinesMatchOldBuilder() {
        var rng = SplitMix64(seed: 0x5E4D_A41C)
        let levels: [NodeLogger.Level] = [.debug, .info, .warning, .error]
        var line = NodeLogger.Line()
        var clock = timespec(tv_sec: 1_796_495_804, tv_nsec: 7_999_999)
        var mismatches = 0
        for _ in 0..<3_000 {
            clock = Self.nextClock(after: clock, &rng)
            let level = levels[Int(rng.next() % 4)]
            let event = Self.randomString(&rng)
            var fields: [(String, String)] = []
            var numbers: [(String, Int)] = []
            for _ in 0..<Int(rng.next() % 7) { fields.append((Self.randomString(&rng), Self.randomString(&rng))) }
            for _ in 0..<Int(rng.next() % 3) {
                let n = [Int.min, Int.max, 0, -1, 9, 10, 999, 1000, Int(Int64(bitPattern: rng.next()))][Int(rng.next() % 9)]
                numbers.append((Self.randomString(&rng), n))
            }
            let expected = OldNodeLogLine.line(level, event, fields: fields + numbers.map { ($0.0, String($0.1)) }, now: clock)
            line.begin(level, event, now: clock)
            for (k, v) in fields { line.field(k, v) }
            for (k, n) in numbers { line.field(k, n) }
            line.end()
            if line.bytes != expected { mismatches += 1 }
            line.reset()
            if NodeLogger.line(level, event, fields: fields, now: clock) != OldNodeLogLine.line(level, event, fields: fields, now: clock) {
                mismatches += 1
            }
        }
        #expect(mismatches == 0)
        #expect(line.bytes.capacity <= NodeLogger.Line.keptCapacity)
    }

    @Test("every session event, at every logger level, is written with the same bytes as the old field-array code (timestamp aside), and nothing below the level is built")
    func sessionEventsMatchOldMapping() throws {
        let odd = "é\"\\\n\u{01}😀"
        let events: [SMTPSession.LogEvent] = [
            .connected(clientAddress: "127.0.0.1", clientPort: 25, tls: nil),
            .helo(name: "vm", extended: false), .helo(name: odd, extended: true), .helo(name: "", extended: true),
            .tlsEstablished(.init(version: "TLSv1.3", cipher: "TLS_AES_256_GCM_SHA384")),
            .authSucceeded(user: "u", tenant: nil, mechanism: "PLAIN"), .authSucceeded(user: odd, tenant: "t", mechanism: "LOGIN"),
            .authFailed(user: "u", mechanism: "PLAIN", result: .failure),
            .authFailed(user: odd, mechanism: "PLAIN", result: .refused(reason: "no \"way\"")),
            .authFailed(user: "u", mechanism: "PLAIN", result: .success(user: "u", tenant: nil)),
            .reply(code: 250, enhancedCode: "2.0.0", text: "OK"), .reply(code: 451, enhancedCode: nil, text: odd),
            .reply(code: 550, enhancedCode: "5.7.1", text: ""),
            .messageReceived(queueID: "1M9491JBPGN4RSY30001", sender: "from@bench.test", recipients: 1, size: 967),
            .messageReceived(queueID: "q", sender: "", recipients: 0, size: -1),
            .queued(queueID: "1M9491JBPGN4RSY30001"), .enqueueFailed(queueID: "q", reason: odd),
            .messageRejected(queueID: "q", code: 552, enhancedCode: "5.3.4", reason: "too big"),
            .disconnected(reason: "quit"), .disconnected(reason: ""),
        ]
        for minimum in [NodeLogger.Level.debug, .info, .warning, .error] {
            var expected: [UInt8] = []
            let written = try Self.captured(level: minimum) { logger in
                for event in events {
                    SMTPServer.logSessionEvent(event, sessionID: "s\(minimum.rawValue)", to: logger)
                    if let (level, name, fields) = OldSessionEventLine.fields(event, sessionID: "s\(minimum.rawValue)",
                                                                               debugEnabled: minimum == .debug),
                       level >= minimum {
                        expected += OldNodeLogLine.line(level, name, fields: fields, now: timespec(tv_sec: 0, tv_nsec: 0))
                    }
                }
            }
            #expect(Self.maskingTimestamps(written) == Self.maskingTimestamps(expected), "level \(minimum)")
            #expect(!expected.isEmpty || minimum == .error)
        }
        var built = false
        try Self.captured(level: .warning) { logger in logger.log(.info, "dropped") { _ in built = true } }
        #expect(!built)
    }

    @Test("the connect line and the field-array and key-value entry points write what the old code wrote")
    func entryPointsMatchOldBuilder() throws {
        let written = try Self.captured(level: .info) { logger in
            logger.log(.info, "connect") { line in
                line.field("session", "s1"); line.field("client", "127.0.0.1:53968"); line.field("service", "relay")
            }
            logger.log(.warning, "kv", ["a": "1", "b\"": "é\n"])
            logger.log(.error, "array", fields: [("x", ""), ("", "\u{1F}")])
            logger.log(.info, "none")
        }
        let zero = timespec(tv_sec: 0, tv_nsec: 0)
        let expected = OldNodeLogLine.line(.info, "connect", fields: [("session", "s1"), ("client", "127.0.0.1:53968"), ("service", "relay")], now: zero)
            + OldNodeLogLine.line(.warning, "kv", fields: [("a", "1"), ("b\"", "é\n")], now: zero)
            + OldNodeLogLine.line(.error, "array", fields: [("x", ""), ("", "\u{1F}")], now: zero)
            + OldNodeLogLine.line(.info, "none", fields: [], now: zero)
        #expect(Self.maskingTimestamps(written) == Self.maskingTimestamps(expected))
    }

    /// What a logger at `level` writes while `body` runs (into a temporary file).
    @discardableResult
    static func captured(level: NodeLogger.Level, _ body: (NodeLogger) -> Void) throws -> [UInt8] {
        var template = Array("/tmp/sendarix-logtest-XXXXXX".utf8CString)
        let fd = mkstemp(&template)
        try #require(fd >= 0)
        unlink(template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        defer { close(fd) }
        body(NodeLogger(level: level, fd: fd))
        let size = Int(lseek(fd, 0, SEEK_END))
        var bytes = [UInt8](repeating: 0, count: size)
        #expect(pread(fd, &bytes, size, 0) == size)
        return bytes
    }

    /// `bytes` with every line's 24-character timestamp (checked to have the RFC 3339 shape)
    /// replaced by `*`s.
    static func maskingTimestamps(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        for line in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            var l = Array(line)
            if l.count >= 31 && l.starts(with: #"{"ts":""#.utf8) {
                let ts = String(decoding: l[7..<31], as: UTF8.self)
                let shape = ts.map { $0.isNumber ? "9" : String($0) }.joined()
                #expect(shape == "9999-99-99T99:99:99.999Z" || ts == "1970-01-01T00:00:00.000Z", "\(ts)")
                l.replaceSubrange(7..<31, with: Array(repeating: UInt8(ascii: "*"), count: 24))
            }
            out += l + [UInt8(ascii: "\n")]
        }
        return out
    }
}

/// The line builder as it was before the reused buffer (the oracle): field array in, fresh
/// array out, timestamp formatted in full per line, JSON escaped byte by byte.
enum OldNodeLogLine {
    static func line(_ level: NodeLogger.Level, _ event: String, fields: [(String, String)], now: timespec) -> [UInt8] {
        var out: [UInt8] = []
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

    static func appendTimestamp(_ ts: timespec, to out: inout [UInt8]) {
        var t = ts.tv_sec
        var tmv = tm()
        gmtime_r(&t, &tmv)
        func digits(_ value: Int, _ width: Int) {
            var v = max(0, value)
            var b: [UInt8] = []
            repeat { b.append(UInt8(ascii: "0") + UInt8(v % 10)); v /= 10 } while v > 0 && b.count < 8
            while b.count < width { b.append(UInt8(ascii: "0")) }
            out.append(contentsOf: b.reversed())
        }
        digits(Int(tmv.tm_year) + 1900, 4); out.append(UInt8(ascii: "-"))
        digits(Int(tmv.tm_mon) + 1, 2); out.append(UInt8(ascii: "-"))
        digits(Int(tmv.tm_mday), 2); out.append(UInt8(ascii: "T"))
        digits(Int(tmv.tm_hour), 2); out.append(UInt8(ascii: ":"))
        digits(Int(tmv.tm_min), 2); out.append(UInt8(ascii: ":"))
        digits(Int(tmv.tm_sec), 2); out.append(UInt8(ascii: "."))
        digits(Int(ts.tv_nsec / 1_000_000), 3)
        out.append(UInt8(ascii: "Z"))
    }

    static func appendJSONString(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(0x5C); out.append(b)
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

/// The session-event mapping as it was (the oracle): level, event name and field array, or nil
/// when no line is written.
enum OldSessionEventLine {
    static func fields(_ event: SMTPSession.LogEvent, sessionID: String,
                       debugEnabled: Bool) -> (NodeLogger.Level, String, [(String, String)])? {
        var fields: [(String, String)] = [("session", sessionID)]
        switch event {
        case .connected:
            return nil
        case .helo(let helo, let extended):
            return (.info, extended ? "ehlo" : "helo", fields + [("helo", helo)])
        case .tlsEstablished(let info):
            return (.info, "starttls", fields + [("tls", info.version), ("cipher", info.cipher)])
        case .authSucceeded(let user, let tenant, let mechanism):
            return (.info, "auth", fields + [("user", user), ("tenant", tenant ?? ""), ("mechanism", mechanism)])
        case .authFailed(let user, let mechanism, let result):
            return (.warning, "auth failed", fields + [("user", user), ("mechanism", mechanism), ("result", "\(result)")])
        case .reply(let code, let enhanced, let text):
            guard debugEnabled || code >= 400 else { return nil }
            return (.info, "reply", fields + [("code", String(code)), ("enhanced", enhanced ?? ""), ("text", text)])
        case .messageReceived(let queueID, let sender, let recipients, let size):
            fields += [("queueId", queueID), ("from", sender), ("recipients", String(recipients)), ("size", String(size))]
            return (.info, "message", fields)
        case .queued(let queueID):
            return (.info, "queued", fields + [("queueId", queueID)])
        case .enqueueFailed(let queueID, let reason):
            return (.error, "enqueue failed", fields + [("queueId", queueID), ("reason", reason)])
        case .messageRejected(let queueID, let code, let enhanced, let reason):
            fields += [("queueId", queueID), ("code", String(code)), ("enhanced", enhanced), ("reason", reason)]
            return (.warning, "message rejected", fields)
        case .disconnected(let reason):
            return (.info, "session end", fields + [("reason", reason)])
        }
    }
}
