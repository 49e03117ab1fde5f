import Foundation
@testable import SpoolStore

/// A fresh directory under the system temp dir, removed when the test ends.
final class TempDirectory {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "spooltest-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// Deterministic bytes for bodies (xorshift), so round trips are checked byte-exact.
func testBody(size: Int, seed: UInt64) -> [UInt8] {
    var x = seed | 1
    var out = [UInt8](repeating: 0, count: size)
    out.withUnsafeMutableBufferPointer { buf in
        for i in 0..<size {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17
            buf[i] = UInt8(truncatingIfNeeded: x)
        }
    }
    return out
}

func makeEnqueue(_ id: String, recipients: [String] = ["rcpt@example.org"], sender: String = "from@example.com",
                 at: Int64 = 1_700_000_000_000, body: [UInt8] = Array("Subject: hi\r\n\r\nhello\r\n".utf8),
                 tenant: String = "acme") -> SpoolCommand {
    .enqueue(SpoolCommand.Enqueue(queueID: id, messageID: "\(id)@relay.test", tenant: tenant, authUser: "app",
                                  clientIP: "127.0.0.1", sender: sender,
                                  recipients: recipients.map { SpoolCommand.Recipient(address: $0) },
                                  receivedAt: at, body: body))
}

extension ReplicatedLog {
    /// Proposes and waits for the completion.
    func proposeAndWait(_ command: SpoolCommand) async -> Result<UInt64, StoreError> {
        await withCheckedContinuation { cont in
            propose(command) { cont.resume(returning: $0) }
        }
    }
}

extension Result {
    var failureCode: StoreError.Code? {
        if case .failure(let e) = self, let s = e as? StoreError { return s.code }
        return nil
    }
    var isSuccess: Bool {
        if case .success = self { return true }
        return false
    }
}
