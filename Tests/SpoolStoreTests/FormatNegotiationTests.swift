import Testing
@testable import SpoolStore

/// A writer uses the oldest format version that holds a command, at most the cluster's effective
/// version, so nodes of the previous release keep reading the log during a rolling upgrade.
@Suite("Spool command formats in a mixed-version cluster")
struct FormatNegotiationTests {
    static let outcome = SpoolCommand.outcome(SpoolCommand.Outcome(queueID: "Q1", attempt: 1, timestamp: 1_700_000_000_000, results: [
        SpoolCommand.RecipientResult(recipient: "a@example.org", disposition: .delivered, smtpCode: 250, enhancedCode: "2.0.0",
                                     response: "ok", remoteHost: "mx.example.org", sendingIP: "127.62.0.9", pool: "bulk"),
    ]))

    /// The outcome as a release of format 1 reads it: no sending IP or pool.
    static var outcomeWithoutSource: SpoolCommand {
        guard case .outcome(var o) = outcome else { fatalError() }
        for i in o.results.indices { o.results[i].sendingIP = ""; o.results[i].pool = "" }
        return .outcome(o)
    }

    @Test("for readers of version 1 an outcome is written as version 1 without sending IP and pool; for version 2 with them")
    func outcomeFollowsEffectiveVersion() throws {
        let v1 = Self.outcome.encoded(format: 1)
        #expect(v1[0] == 1)
        #expect(try SpoolCommand(decoding: v1) == Self.outcomeWithoutSource)
        #expect(v1 == Self.outcomeWithoutSource.encoded(format: 2))  // exactly the bytes of a version 1 outcome
        let v2 = Self.outcome.encoded(format: 2)
        #expect(v2[0] == 2)
        #expect(try SpoolCommand(decoding: v2) == Self.outcome)
    }

    @Test("commands that version 1 holds keep version 1 whatever the effective version")
    func oldestVersionThatHolds() {
        let delete = SpoolCommand.delete(SpoolCommand.Delete(queueID: "Q1", reason: "test", timestamp: 1))
        #expect(delete.encoded(format: 2)[0] == 1)
        #expect(delete.encoded(format: 1) == delete.encoded(format: 2))
    }

    @Test("a leader re-encodes a proposal written for a newer version down to the cluster's, and leaves older ones alone")
    func downgrade() throws {
        let v2 = Self.outcome.encoded(format: 2)
        let down = try #require(SpoolCommand.downgraded(v2, to: 1))
        #expect(down == Self.outcome.encoded(format: 1))
        #expect(SpoolCommand.downgraded(down, to: 1) == nil)
        #expect(SpoolCommand.downgraded(v2, to: 2) == nil)
    }

    @Test("this build reads every version up to its own: version 1 with or without the trailer, version 2; a version 2 outcome must carry it")
    func readsOlderVersions() throws {
        #expect(SpoolCommand.formatProblem(Self.outcome.encoded(format: 1)) == nil)
        #expect(SpoolCommand.formatProblem(Self.outcome.encoded(format: 2)) == nil)
        // Builds between the sending-IP change and versioned formats wrote the trailer in version 1.
        var legacy = Self.outcome.encoded(format: 2)
        legacy[0] = 1
        #expect(try SpoolCommand(decoding: legacy) == Self.outcome)
        var truncated = Self.outcome.encoded(format: 1)
        truncated[0] = 2
        #expect(throws: StoreError.self) { try SpoolCommand(decoding: truncated) }
    }
}
