import Registry

extension SpoolStore {
    /// The JSON body of a batch: an array of the calls' bodies in sequence order, each with its
    /// own `"webhookId"` added last (`"…","sequence":N,"webhookId":"msg_…"}`), so receivers dedupe
    /// and order per event while the POST carries the batch's `webhook-id`. The same calls give
    /// the same bytes on every node and every retry. Pure; any thread.
    public static func webhookBatchBody(_ calls: [WebhookCall]) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "[")]
        out.reserveCapacity(calls.count * 512)
        // In sequence order without copying the calls (they come sorted from the lease already).
        let inOrder = zip(calls, calls.dropFirst()).allSatisfy { $0.sequence <= $1.sequence }
        let order = inOrder ? Array(calls.indices) : calls.indices.sorted { calls[$0].sequence < calls[$1].sequence }
        for i in order {
            if out.count > 1 { out.append(UInt8(ascii: ",")) }
            let elementStart = out.count
            // Each body straight into the batch, left open for its "webhookId".
            guard appendWebhookBody(calls[i], open: true, to: &out) else { continue }
            let key: StaticString = ",\"webhookId\":"
            let comma = out.count > elementStart + 1 ? 0 : 1
            out.append(contentsOf: UnsafeBufferPointer(start: key.utf8Start + comma, count: key.utf8CodeUnitCount - comma))
            Event.appendJSONString(calls[i].webhookID, to: &out)
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "]"))
        return out
    }
}
