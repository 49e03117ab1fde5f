import Foundation
import Testing
@testable import RelayConfig

@Suite("Observability keys: metricsToken, per-tenant event retention")
struct ObservabilityConfigTests {
    @Test("metricsToken and spool.tenantEventRetentionHours load; a misspelt tenant key is not silently dropped")
    func keys() throws {
        let c = try parseConfig("""
        {"metricsToken": "scrape-me-please-0123", "spool": {"eventRetentionHours": 720,
         "tenantEventRetentionHours": {"acme": 24, "globex": 2160}}}
        """)
        #expect(c.metricsToken == "scrape-me-please-0123")
        #expect(c.spool.eventRetentionHours == 720)
        #expect(c.spool.tenantEventRetentionHours == ["acme": 24, "globex": 2160])
        #expect(try parseConfig("{}").spool.tenantEventRetentionHours.isEmpty)
        #expect(try parseConfig("{}").metricsToken == nil)
        #expect(!problems(#"{"spool": {"tenantEventRetentionHours": {"acme": "soon"}}}"#).isEmpty)
    }
}
