/// The pieces the webhook records and commands share in their binary forms (`WebhookCall+Codec`,
/// `WebhookBatch+Codec`, `WebhookCommand+Codec`, `WebhookCommand+BatchCodec`). Pure.
extension CallWriter {
    /// A presence byte, then owner, incarnation, attempt and expiry.
    mutating func lease(_ lease: WebhookCall.Lease?) {
        guard let lease else { return u8(0) }
        u8(1)
        string(lease.owner)
        u64(lease.incarnation)
        u32(lease.attempt)
        i64(lease.expiresAt)
    }

    /// What follows `nextAttemptAt` in a call record: the lease, the history, and the batch
    /// (a presence byte, id and size; nothing at all when there is none, as older records end).
    mutating func callTail(lease: WebhookCall.Lease?, history: [WebhookCall.Attempt], batch: WebhookCall.Batch?) {
        self.lease(lease)
        u32(UInt32(history.count))
        for a in history { attempt(a) }
        if let batch {
            u8(1)
            string(batch.id)
            u32(batch.size)
        }
    }

    mutating func attempt(_ a: WebhookCall.Attempt) {
        u32(a.attempt)
        i64(a.at)
        i64(Int64(a.status))
        i64(a.latencyMillis)
        string(a.response)
        string(a.node)
    }

    mutating func verdict(_ v: WebhookCommand.Verdict) {
        switch v {
        case .delivered: u8(0)
        case .retry(let at):
            u8(1)
            i64(at)
        case .gone: u8(2)
        case .exhausted: u8(3)
        }
    }
}

extension CallReader {
    /// What `CallWriter.lease` wrote after its presence byte.
    mutating func leaseFields() throws -> WebhookCall.Lease {
        WebhookCall.Lease(owner: try string(), incarnation: try u64(), attempt: try u32(), expiresAt: try i64())
    }

    mutating func attempt() throws -> WebhookCall.Attempt {
        WebhookCall.Attempt(attempt: try u32(), at: try i64(), status: Int(try i64()), latencyMillis: try i64(),
                            response: try string(), node: try string())
    }

    mutating func verdict() throws -> WebhookCommand.Verdict {
        switch try u8() {
        case 0: return .delivered
        case 1: return .retry(at: try i64())
        case 2: return .gone
        case 3: return .exhausted
        case let v: throw WebhookCallDecodingError(reason: "webhook verdict \(v)")
        }
    }
}
