import Foundation

/// Derives the outbox entries of one recorded event: one pending call per endpoint that wants
/// it. Run by the spool while it applies the command that records the event, so every node
/// writes the same calls. Pure; any thread.
public enum WebhookOutbox {
    /// The sequence of the event at log `index`, `ordinal`: grows with every event.
    public static func sequence(index: UInt64, ordinal: Int) -> UInt64 { (index << 16) | UInt64(ordinal & 0xFFFF) }

    /// The `webhook-id` of that event (the same for every endpoint, every retry, every replay).
    public static func webhookID(index: UInt64, ordinal: Int) -> String { "msg_\(index)_\(ordinal)" }

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
