import Foundation
import Glibc
import Testing
@testable import RelayNode

@Suite("Node log lines: one JSON object per line, built byte by byte")
struct NodeLoggerTests {
    @Test("a line has the timestamp, level, event and fields in order, zero-padded to the millisecond")
    func lineFormat() {
        let line = NodeLogger.line(.info, "queued", fields: [("session", "s2bd"), ("queueId", "1M93QWQYEGN4R9GQ000J")],
                                   now: timespec(tv_sec: 1_796_495_804, tv_nsec: 7_999_999))
        #expect(String(decoding: line, as: UTF8.self)
                == #"{"ts":"2026-12-05T18:36:44.007Z","level":"info","event":"queued","session":"s2bd","queueId":"1M93QWQYEGN4R9GQ000J"}"# + "\n")
        let late = NodeLogger.line(.warning, "x", fields: [], now: timespec(tv_sec: 4_102_444_799, tv_nsec: 999_000_000))
        #expect(String(decoding: late, as: UTF8.self) == #"{"ts":"2099-12-31T23:59:59.999Z","level":"warning","event":"x"}"# + "\n")
    }

    @Test("quotes, backslashes and control characters are escaped; UTF-8 and slashes pass as they are; the line parses as JSON")
    func escaping() throws {
        let value = "a\"b\\c\nd\re\tf\u{01}g\u{1F}h/é😀"
        let line = NodeLogger.line(.error, "ev\"ent", fields: [("k\n", value)], now: timespec(tv_sec: 0, tv_nsec: 0))
        let text = String(decoding: line, as: UTF8.self)
        #expect(text == #"{"ts":"1970-01-01T00:00:00.000Z","level":"error","event":"ev\"ent","k\n":"a\"b\\c\nd\re\tf\u0001g\u001fh/é😀"}"# + "\n")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [String: String])
        #expect(object["k\n"] == value && object["event"] == "ev\"ent" && object["level"] == "error")
    }

    @Test("log writes exactly the built line to its descriptor, and nothing below its level")
    func writesLines() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]) }
        let logger = NodeLogger(level: .info, fd: fds[1])
        logger.log(.debug, "hidden")
        logger.log(.info, "shown", ["key": "value"])
        close(fds[1])
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fds[0], &buffer, buffer.count)
            if n <= 0 { break }
            bytes += buffer[0..<n]
        }
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasPrefix(#"{"ts":""#) && text.hasSuffix(#"","level":"info","event":"shown","key":"value"}"# + "\n"))
        #expect(text.split(separator: "\n").count == 1)
        #expect(text.utf8.count == #"{"ts":"2026-12-05T18:36:44.007Z","level":"info","event":"shown","key":"value"}"#.utf8.count + 1)
    }
}
