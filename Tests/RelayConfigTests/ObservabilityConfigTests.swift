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

    @Test("spool.writerNice: -10 by default, -20...19 accepted, anything else refused with the key and range named")
    func writerNice() throws {
        #expect(try parseConfig("{}").spool.writerNice == -10)
        #expect(try parseConfig(#"{"spool": {"writerNice": 0}}"#).spool.writerNice == 0)
        #expect(problems(#"{"spool": {"writerNice": -20}}"#).isEmpty)
        #expect(problems(#"{"spool": {"writerNice": 19}}"#).isEmpty)
        #expect(problems(#"{"spool": {"writerNice": -21}}"#) == ["spool.writerNice: -21 is out of range (-20...19)"])
        #expect(problems(#"{"spool": {"writerNice": 20}}"#) == ["spool.writerNice: 20 is out of range (-20...19)"])
    }
}
