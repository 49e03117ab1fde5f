import Registry

extension SpoolStore {
    /// The JSON body of a batch: an array of the calls' bodies in sequence order, each with its
    /// own `"webhookId"` added last (`"…","sequence":N,"webhookId":"msg_…"}`), so receivers dedupe
    /// and order per event while the POST carries the batch's `webhook-id`. The same calls give
    /// the same bytes on every node and every retry. Pure; any thread.
    public static func webhookBatchBody(_ calls: [WebhookCall]) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "[")]
        out.reserveCapacity(calls.count * 512)
        for call in calls.sorted(by: { $0.sequence < $1.sequence }) {
            if out.count > 1 { out.append(UInt8(ascii: ",")) }
            let elementStart = out.count
            // Each body straight into the batch, left open for its "webhookId".
            guard appendWebhookBody(call, open: true, to: &out) else { continue }
            out += Array((out.count > elementStart + 1 ? ",\"webhookId\":" : "\"webhookId\":").utf8)
            Event.appendJSONString(call.webhookID, to: &out)
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "]"))
        return out
    }
}
