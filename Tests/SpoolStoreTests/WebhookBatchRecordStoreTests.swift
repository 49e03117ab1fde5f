import Foundation
import Registry
import Testing
@testable import SpoolStore

/// Batch-record commands (log entry format 5) in log entries and in a real spool: version 5 only
/// for a cluster that reads it (a no-op below), and applied in LMDB with one record per batch.
@Suite("Webhook batch records in the spool")
struct WebhookBatchRecordStoreTests {
    static let lease = SpoolCommand.registry(.webhook(.leaseBatches(.init(
        endpoint: "ep_1", owner: "n1", incarnation: 4, issuedAt: 10, expiresAt: 20, formed: [], fresh: [1, 2], sizes: [2],
        array: true))))

    @Test("A batch lease or batch results entry is version 5; for a cluster below 5 it is a no-op entry (its calls go per call)")
    func versions() throws {
        #expect(SpoolCommand.formatVersion >= 5)
        let results = SpoolCommand.registry(.webhook(.batchResults(.init(endpoint: "ep_1", owner: "n1", incarnation: 4, results: [
            .init(first: 1, sequences: [1, 2], attempt: .init(attempt: 1, at: 11, status: 200, latencyMillis: 3, response: "ok",
                                                              node: "n1"), verdict: .delivered)]))))
        for command in [Self.lease, results] {
            let new = command.encoded(format: 5)
            #expect(new[0] == 5)
            #expect(try SpoolCommand(decoding: new) == command)
            for old in [4, 3, 1] as [UInt8] {
                #expect(command.encoded(format: old) == SpoolCommand.noOp.encoded(format: old))
                #expect(SpoolCommand.downgraded(new, to: old) == SpoolCommand.noOp.encoded(format: old))
            }
        }
    }
}
