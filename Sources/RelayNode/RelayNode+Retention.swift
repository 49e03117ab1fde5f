import SpoolStore

extension RelayNode {
    /// The prune commands of per-tenant event retention (`spool.tenantEventRetentionHours`) at
    /// `now` (ms): one bounded command per tenant, sorted by tenant. Pure.
    static func tenantPruneCommands(_ hours: [String: Int], now: Int64) -> [SpoolCommand] {
        hours.keys.sorted().map { tenant in
            .pruneEvents(SpoolCommand.PruneEvents(before: now - Int64(max(1, hours[tenant]!)) * 3_600_000, tenant: tenant))
        }
    }
}
