import RelayConfig
import SpoolStore
import Testing
@testable import ClusterLog

/// An entry that could not be framed to peers never enters the log, and the configuration
/// cannot ask for messages that would not fit in one entry.
@Suite("Replicated entry size limit")
struct EntrySizeLimitTests {
    @Test("the entry limit leaves room for frame headers under the 256 MiB peer frame limit")
    func limitFitsAFrame() {
        #expect(RaftLog.maxEntryBytes < 256 << 20)
        #expect(RaftLog.entrySizeProblem(RaftLog.maxEntryBytes) == nil)
        #expect(RaftLog.entrySizeProblem(RaftLog.maxEntryBytes + 1)?.code == .resourceLimit)
    }

    @Test("the largest configurable message, with a full envelope, fits in one entry")
    func largestMessageFits() {
        var config = RelayConfig()
        config.limits.maxMessageSize = RelayConfig.Limits.maxReplicatedMessageSize
        #expect(!config.validate().contains { $0.severity == .error && $0.description.hasPrefix("limits.maxMessageSize") })
        let envelope = config.limits.maxRecipients * 1_100 + 4_096
        #expect(RelayConfig.Limits.maxReplicatedMessageSize + envelope < RaftLog.maxEntryBytes)
        config.limits.maxMessageSize = RelayConfig.Limits.maxReplicatedMessageSize + 1
        #expect(config.validate().contains { $0.severity == .error && $0.description.hasPrefix("limits.maxMessageSize") })
    }
}
