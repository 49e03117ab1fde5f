import Foundation
import SendarixSupport

/// Derives the outbox entries of one recorded event: one pending call per endpoint that wants
/// it. Run by the spool while it applies the command that records the event, so every node
/// writes the same calls. Pure; any thread.
public enum WebhookOutbox {
    /// The sequence of the event at log `index`, `ordinal`: grows with every event.
    public static func sequence(index: UInt64, ordinal: Int) -> UInt64 { (index << 16) | UInt64(ordinal & 0xFFFF) }

    /// The `webhook-id` of that event (the same for every endpoint, every retry, every replay).
    public static func webhookID(index: UInt64, ordinal: Int) -> String { "msg_\(index)_\(ordinal)" }

    /// ``webhookID(index:ordinal:)`` as UTF-8 bytes, written without building the string
    /// (recording an event writes it into every endpoint's call).
    static func webhookIDBytes(index: UInt64, ordinal: Int) -> [UInt8] {
        // "msg_" + 20 digits + "_" + "-" + 19 digits at most.
        [UInt8](unsafeUninitializedCapacity: 45) { buf, written in
            var at = 0
            for b in "msg_".utf8 { buf[at] = b; at += 1 }
            at = writeDecimal(index, into: buf, at: at)
            buf[at] = UInt8(ascii: "_")
            at += 1
            if ordinal < 0 {
                buf[at] = UInt8(ascii: "-")
                at += 1
            }
            written = writeDecimal(UInt64(ordinal.magnitude), into: buf, at: at)
        }
    }

    /// Writes `v` in decimal, as `"\(v)"` does, into `buf` at `at`; returns the end.
    private static func writeDecimal(_ v: UInt64, into buf: UnsafeMutableBufferPointer<UInt8>, at: Int) -> Int {
        var digits = 1, rest = v / 10
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        var n = v
        for i in stride(from: at + digits - 1, through: at, by: -1) {
            buf[i] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: n % 10)
            n /= 10
        }
        return at + digits
    }

    /// The `webhook-id` of a batch of `calls` (in sequence order): a batch of one keeps the call's
    /// own id; a larger one is `batch_<first event>_<count>_<hash of the sequences>`, the same
    /// on every node and every retry, and different for any other composition.
    public static func batchID(_ calls: [WebhookCall]) -> String {
        guard let first = calls.first else { return "batch_empty" }
        if calls.count == 1 { return first.webhookID }
        var hash = FNV1a64()
        for c in calls {
            withUnsafeBytes(of: c.sequence.bigEndian) { hash.add($0) }
        }
        let hex = String(hash.value, radix: 16)
        let head = first.webhookID.hasPrefix("msg_") ? String(first.webhookID.dropFirst(4)) : first.webhookID
        return "batch_\(head)_\(calls.count)_" + String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// The JSON body: the event's JSON object with `"sequence":N` added.
    public static func payload(eventJSON: [UInt8], sequence: UInt64) -> String {
        var bytes = eventJSON
        if bytes.last == UInt8(ascii: "}") {
            bytes.removeLast()
            bytes += Array(((bytes.count > 1 ? "," : "") + "\"sequence\":\(sequence)}").utf8)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The calls to store (key, call) for an event of `type` and `tenant`, each holding the
    /// event's stored record (`eventRecord`, asked for once and only if an endpoint wants the
    /// event): the body is rendered when the call is sent, not while the event is recorded.
    public static func calls(endpoints: [WebhookEndpoint], type: String, tenant: String, index: UInt64, ordinal: Int,
                             at: Int64, eventRecord: () -> [UInt8]) -> [(key: String, call: WebhookCall)] {
        calls(routes: endpoints.map(\.route), type: type, tenant: tenant, index: index, ordinal: ordinal, at: at,
              eventRecord: eventRecord)
    }

    /// The same from the endpoints' routes (what a spool keeps in memory).
    public static func calls(routes: [WebhookRoute], type: String, tenant: String, index: UInt64, ordinal: Int,
                             at: Int64, eventRecord: () -> [UInt8]) -> [(key: String, call: WebhookCall)] {
        var out: [(key: String, call: WebhookCall)] = []
        var record: [UInt8]?
        let seq = sequence(index: index, ordinal: ordinal)
        for e in routes where e.wants(type: type, tenant: tenant) {
            if record == nil { record = eventRecord() }
            var call = WebhookCall(endpoint: e.id, sequence: seq, webhookID: webhookID(index: index, ordinal: ordinal),
                                   eventType: type, createdAt: at, payload: "")
            call.eventRecord = record
            call.nextAttemptAt = at
            out.append((RegistryKeys.webhookPending(e.id, seq), call))
        }
        return out
    }

    /// What `calls(routes:…)` stores, written directly: for each endpoint that wants the event,
    /// in route order, `body` gets the endpoint id, the call's key (`RegistryKeys.webhookPending`)
    /// and its binary record, byte for byte `RegistryRecord.webhookCall(call).encoded()` (no
    /// `WebhookCall` or key string built, the webhook id once per event: this runs for every
    /// recorded event).
    public static func pendingRecords(routes: [WebhookRoute], type: String, tenant: String, index: UInt64, ordinal: Int,
                                      at: Int64, eventRecord: () -> [UInt8],
                                      _ body: (_ endpoint: String, _ key: [UInt8], _ record: [UInt8]) throws -> Void) rethrows {
        var event: [UInt8]?
        var id: [UInt8] = []
        let seq = sequence(index: index, ordinal: ordinal)
        for e in routes where e.wants(type: type, tenant: tenant) {
            if event == nil {
                event = eventRecord()
                id = webhookIDBytes(index: index, ordinal: ordinal)
            }
            let record = event!
            // The fields of `WebhookCall.binaryEncoded()` for a new pending call holding the event.
            var w = CallWriter(capacity: 52 + e.id.utf8.count + id.count + type.utf8.count + record.count)
            w.u8(WebhookCall.binaryMagic)
            w.u8(WebhookCall.binaryVersion)
            w.string(e.id)
            w.u64(seq)
            w.blob(id)
            w.string(type)
            w.i64(at)  // createdAt
            w.u32(0)  // payload: none, rendered at send time
            w.u8(1)
            w.blob(record)
            w.u8(WebhookCall.Status.pending.code)
            w.u32(0)  // attempts
            w.i64(at)  // nextAttemptAt
            w.lease(nil)
            w.u32(0)  // history
            try body(e.id, RegistryKeys.webhookPendingKey(e.id, seq), w.bytes)
        }
    }

    /// The calls to store (key, call) for an event of `type` and `tenant`, with the body
    /// rendered now (`payload`).
    public static func calls(endpoints: [WebhookEndpoint], type: String, tenant: String, index: UInt64, ordinal: Int,
                             at: Int64, eventJSON: () -> [UInt8]) -> [(key: String, call: WebhookCall)] {
        var out: [(key: String, call: WebhookCall)] = []
        var body: String?
        let seq = sequence(index: index, ordinal: ordinal)
        for e in endpoints where e.wants(type: type, tenant: tenant) {
            if body == nil { body = payload(eventJSON: eventJSON(), sequence: seq) }
            var call = WebhookCall(endpoint: e.id, sequence: seq, webhookID: webhookID(index: index, ordinal: ordinal),
                                   eventType: type, createdAt: at, payload: body!)
            call.nextAttemptAt = at
            out.append((RegistryKeys.webhookPending(e.id, seq), call))
        }
        return out
    }
}
