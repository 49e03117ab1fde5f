import Foundation
import Dispatch
import Testing
@testable import SendarixSupport

@Suite("Metrics: bounded labels, counters, histograms, exposition text")
struct MetricsTests {
    @Test("the first N label values get their own slot, later ones share 'other', and a value keeps its slot")
    func labelCap() {
        let slots = MetricLabelSlots(capacity: 5)
        let first = (0..<5).map { slots.slot("tenant\($0)") }
        #expect(Set(first).count == 5)
        #expect(first.allSatisfy { (1...5).contains($0) })
        #expect(slots.slot("tenant5") == 0)
        #expect(slots.slot("tenant99") == 0)
        #expect((0..<5).map { slots.slot("tenant\($0)") } == first)
        let labels = slots.labels()
        #expect(labels.count == 6 && labels[0] == "other")
        #expect(Set(first.map { labels[$0]! }) == Set((0..<5).map { "tenant\($0)" }))
    }

    @Test("threads racing for the same new values agree on one slot per value and never exceed the cap")
    func labelRace() {
        let slots = MetricLabelSlots(capacity: 40)
        let seen = (0..<8).map { _ in SlotsBox() }
        DispatchQueue.concurrentPerform(iterations: 8) { t in
            for i in 0..<30 { seen[t].values[i] = slots.slot("v\(i)") }
        }
        for i in 0..<30 {
            #expect(Set(seen.map { $0.values[i]! }).count == 1, "value v\(i)")
        }
        #expect(slots.labels().count <= 41)
    }

    final class SlotsBox: @unchecked Sendable { var values: [Int: Int] = [:] }

    @Test("node counters render as Prometheus samples with escaped labels; outcomes by tenant and provider")
    func render() {
        let m = NodeMetrics()
        m.accepted(tenant: "acme", recipients: 3)
        m.accepted(tenant: "acme", recipients: 1)
        m.accepted(tenant: "we\"ird\\ten\nant", recipients: 1)
        m.outcome(.bounced, tenant: "acme", provider: "google")
        m.outcome(.bounced, tenant: "acme", provider: "google")
        m.outcome(.delivered, tenant: "acme", provider: "other")
        m.connectionOpened("submission")
        m.connectionOpened("submission")
        m.connectionClosed("submission")
        m.spoolCommitSeconds.observe(0.0004)
        m.spoolCommitSeconds.observe(0.003)
        m.spoolCommitSeconds.observe(7)
        m.addCollector { out in out.gauge("sendarix_webhook_backlog", "hook", 12) }
        var text = PrometheusText()
        m.render(into: &text)
        let t = text.text
        #expect(t.contains("sendarix_messages_accepted_total{tenant=\"acme\"} 2\n"))
        #expect(t.contains("sendarix_recipients_accepted_total{tenant=\"acme\"} 4\n"))
        #expect(t.contains("sendarix_messages_accepted_total{tenant=\"we\\\"ird\\\\ten\\nant\"} 1\n"))
        #expect(t.contains("sendarix_recipients_bounced_total{provider=\"google\",tenant=\"acme\"} 2\n"))
        #expect(t.contains("sendarix_recipients_delivered_total{provider=\"other\",tenant=\"acme\"} 1\n"))
        #expect(t.contains("sendarix_connections_accepted_total{listener=\"submission\"} 2\n"))
        #expect(t.contains("sendarix_connections_open{listener=\"submission\"} 1\n"))
        #expect(t.contains("sendarix_spool_commit_duration_seconds_bucket{le=\"0.0005\"} 1\n"))
        #expect(t.contains("sendarix_spool_commit_duration_seconds_bucket{le=\"0.005\"} 2\n"))
        #expect(t.contains("sendarix_spool_commit_duration_seconds_bucket{le=\"+Inf\"} 3\n"))
        #expect(t.contains("sendarix_spool_commit_duration_seconds_count 3\n"))
        #expect(t.contains("# TYPE sendarix_webhook_backlog gauge\nsendarix_webhook_backlog 12\n"))
        #expect(t.components(separatedBy: "# TYPE sendarix_messages_accepted_total counter").count == 2)
    }
}
