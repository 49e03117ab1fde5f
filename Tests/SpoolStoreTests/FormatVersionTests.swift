import Testing
@testable import SpoolStore

/// Log entries carry a format version; a node meeting one newer than it knows refuses it by name.
@Suite("Spool command format version")
struct FormatVersionTests {
    @Test("a command written in a newer format is refused with an error naming both versions")
    func newerCommandRefused() throws {
        var bytes = SpoolCommand.delete(SpoolCommand.Delete(queueID: "Q1", reason: "test", timestamp: 1)).encoded()
        #expect(bytes[0] == 1)
        #expect(try SpoolCommand(decoding: bytes) == .delete(SpoolCommand.Delete(queueID: "Q1", reason: "test", timestamp: 1)))
        bytes[0] = SpoolCommand.formatVersion + 1
        do {
            _ = try SpoolCommand(decoding: bytes)
            Issue.record("a newer format was decoded")
        } catch let e as StoreError {
            #expect(e.context == SpoolCommand.versionContext)
            #expect(e.reason.contains("format version \(SpoolCommand.formatVersion + 1) is newer than this build's version \(SpoolCommand.formatVersion)"),
                    "\(e.reason)")
        }
    }

    @Test("a leader's check of forwarded proposals refuses any other version and empty bytes, and passes this build's commands")
    func forwardedFormatProblem() {
        var bytes = SpoolCommand.delete(SpoolCommand.Delete(queueID: "Q1", reason: "test", timestamp: 1)).encoded()
        #expect(SpoolCommand.formatProblem(bytes) == nil)
        bytes[0] = 0xFF
        #expect(SpoolCommand.formatProblem(bytes)?.context == SpoolCommand.versionContext)
        bytes[0] = 0
        #expect(SpoolCommand.formatProblem(bytes) != nil)
        #expect(SpoolCommand.formatProblem([UInt8]())?.code == .invalidCommand)
    }
}
