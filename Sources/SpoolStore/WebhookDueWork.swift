import Registry

/// What a dispatcher round of one endpoint reads, all from one read transaction
/// (`SpoolStore.webhookDueWork`): the endpoint's batch records, its batch mark and the due calls
/// outside every batch record. Pure value; any thread.
public struct WebhookDueWork: Sendable, Equatable {
    /// Every batch record of the endpoint (log entry format 5), oldest first.
    public var batches: [WebhookBatch]
    /// The highest sequence ever put in a batch record (nil: none yet).
    public var mark: UInt64?
    /// Due calls not in any batch record, oldest first.
    public var due: [WebhookCall]

    /// Creates a reading. Any thread.
    public init(batches: [WebhookBatch], mark: UInt64?, due: [WebhookCall]) {
        self.batches = batches
        self.mark = mark
        self.due = due
    }
}
