import Foundation

/// One stored control-plane record. Pure value; any thread.
public enum RegistryRecord: Codable, Sendable, Equatable {
    case domain(SendingDomain)
    case tenant(TenantSettings)
    case credential(Credential)
    case usage(NodeUsage)
    case suspension(CredentialSuspension)
    case quarantined(QuarantinedMessage)
    case webhookEndpoint(WebhookEndpoint)
    case webhookCall(WebhookCall)
    /// A formed batch of outbox calls (log entry format 5).
    case webhookBatch(WebhookBatch)
    /// The highest sequence ever put in a batch record of an endpoint (log entry format 5).
    case webhookMark(UInt64)

    /// JSON bytes (sorted keys); an outbox call and a webhook endpoint are binary records
    /// (`WebhookCall+Codec`, `WebhookEndpoint+Codec`).
    public func encoded() -> [UInt8] {
        if case .webhookCall(let c) = self { return c.binaryEncoded() }
        if case .webhookEndpoint(let e) = self { return e.binaryEncoded() }
        if case .webhookBatch(let b) = self { return b.binaryEncoded() }
        if case .webhookMark(let m) = self { return WebhookBatch.markEncoded(m) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array((try? encoder.encode(self)) ?? Data())
    }

    /// Decodes `encoded()`'s bytes; throws on malformed input.
    public init(decoding bytes: some Collection<UInt8>) throws {
        if bytes.first == WebhookCall.binaryMagic { self = .webhookCall(try WebhookCall(binary: bytes)); return }
        if bytes.first == WebhookEndpoint.binaryMagic { self = .webhookEndpoint(try WebhookEndpoint(binary: bytes)); return }
        if bytes.first == WebhookBatch.binaryMagic { self = .webhookBatch(try WebhookBatch(binary: bytes)); return }
        if bytes.first == WebhookBatch.markMagic { self = .webhookMark(try WebhookBatch.mark(binary: bytes)); return }
        self = try JSONDecoder().decode(RegistryRecord.self, from: Data(bytes))
    }

    /// The domain, when this is one.
    public var domain: SendingDomain? { if case .domain(let d) = self { d } else { nil } }
    /// The tenant settings, when these are.
    public var tenant: TenantSettings? { if case .tenant(let t) = self { t } else { nil } }
    /// The SMTP credential, when this is one.
    public var credential: Credential? { if case .credential(let c) = self { c } else { nil } }
    /// A node's usage counters, when these are.
    public var usage: NodeUsage? { if case .usage(let u) = self { u } else { nil } }
    /// A credential suspension, when this is one.
    public var suspension: CredentialSuspension? { if case .suspension(let s) = self { s } else { nil } }
    /// A held message, when this is one.
    public var quarantined: QuarantinedMessage? { if case .quarantined(let m) = self { m } else { nil } }
    /// The webhook endpoint, when this is one.
    public var webhookEndpoint: WebhookEndpoint? { if case .webhookEndpoint(let e) = self { e } else { nil } }
    /// The webhook outbox call, when this is one.
    public var webhookCall: WebhookCall? { if case .webhookCall(let c) = self { c } else { nil } }
    /// The webhook batch record, when this is one.
    public var webhookBatch: WebhookBatch? { if case .webhookBatch(let b) = self { b } else { nil } }
    /// The webhook batch mark, when this is one.
    public var webhookMark: UInt64? { if case .webhookMark(let m) = self { m } else { nil } }
}
