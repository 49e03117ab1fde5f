import CLMDB
import Foundation
import Registry

extension SpoolStore {
    /// The JSON body of `call`: rendered from the event record it holds (the event object of
    /// `GET /v1/events` with sorted keys, plus `sequence` last), or the body rendered when the event was recorded (calls
    /// stored by older builds). Pure; any thread.
    public static func webhookBody(_ call: WebhookCall) -> String {
        String(decoding: webhookBodyBytes(call), as: UTF8.self)
    }

    /// `webhookBody(call)` as bytes (what is sent), without a string in between. Pure; any thread.
    public static func webhookBodyBytes(_ call: WebhookCall) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(320 + (call.eventRecord?.count ?? call.payload.utf8.count))
        appendWebhookBody(call, open: false, to: &out)
        return out
    }

    /// Appends `call`'s body to `out`; when `open`, without its closing `}` (a batch element
    /// adds its `"webhookId"`) and returns true, or false for a body that is not a JSON object
    /// (appended whole). Pure; any thread.
    @discardableResult
    static func appendWebhookBody(_ call: WebhookCall, open: Bool, to out: inout [UInt8]) -> Bool {
        guard let record = call.eventRecord else {
            let payload = Array(call.payload.utf8)
            guard open, payload.last == UInt8(ascii: "}") else {
                out += payload
                return false
            }
            out += payload.dropLast()
            return true
        }
        // Rendered from the record's bytes: no decoded event, no string per field.
        guard record.withUnsafeBytes({ Event.appendWebhookJSON(record: $0, sequence: call.sequence, open: open, to: &out) }) else {
            let empty = Array(WebhookOutbox.payload(eventJSON: Array("{}".utf8), sequence: call.sequence).utf8)
            out += open ? empty.dropLast() : empty[...]
            return open
        }
        return open
    }

    /// Up to `limit` pending calls of endpoint `id` that are due at `now` and not leased by
    /// anyone (or under an expired lease), oldest event first, leaving out `skipping` (the calls
    /// this node has in flight, or the calls of batch records) without decoding them. Looks at no
    /// more than `scan` pending calls besides those left out (so calls held in batch records, however
    /// many, do not hide the calls behind them). For the dispatcher's rounds. Any thread; one read
    /// transaction.
    public func dueWebhookCalls(_ id: String, now: Int64, skipping: Set<UInt64>, limit: Int,
                                scan: Int = 4096) throws -> [WebhookCall] {
        try read { txn in try dueWebhookCalls(id, now: now, skipping: skipping, limit: limit, scan: scan, in: txn) }
    }

    /// `dueWebhookCalls` inside `txn`.
    func dueWebhookCalls(_ id: String, now: Int64, skipping: Set<UInt64>, limit: Int, scan: Int,
                         in txn: LMDBTransaction) throws -> [WebhookCall] {
        guard limit > 0 else { return [] }
        let cursor = try txn.cursor(dbRegistry)
        defer { cursor.close() }
        let start = Array(RegistryKeys.webhookPendingPrefix(id).utf8)
        var out: [WebhookCall] = []
        var seen = 0
        var item = try cursor.seek(atLeast: start)
        while let cur = item, cur.key.starts(with: start), out.count < limit, seen < scan {
            let skipped = !skipping.isEmpty
                && Self.sequence(ofCallKey: cur.key, prefixCount: start.count).map(skipping.contains) == true
            if !skipped { seen += 1 }
            if !skipped, let call = try RegistryRecord(decoding: UnsafeRawBufferPointer(cur.value)).webhookCall,
               call.status == .pending, call.nextAttemptAt <= now, call.lease.map({ $0.expiresAt <= now }) ?? true {
                out.append(call)
            }
            item = try cursor.get(MDB_NEXT)
        }
        return out
    }

    /// The sequence at the end of an outbox key (`…/<20 digits>`), or nil.
    static func sequence(ofCallKey key: UnsafeRawBufferPointer, prefixCount: Int) -> UInt64? {
        guard key.count == prefixCount + 20 else { return nil }
        var n: UInt64 = 0
        for b in key[prefixCount...] {
            guard b >= 0x30 && b <= 0x39 else { return nil }
            n = n &* 10 &+ UInt64(b - 0x30)
        }
        return n
    }
}
