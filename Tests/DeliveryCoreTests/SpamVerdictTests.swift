import Testing
@testable import DeliveryCore

/// rspamd `/checkv2` answers parsed and mapped to deliver / tag / hold / reject by score.
@Suite("Spam verdict")
struct SpamVerdictTests {
    let thresholds = SpamVerdict.Thresholds(tag: 5, hold: 10, reject: 15)

    @Test("rspamd's GTUBE answer is rejected with the symbol named")
    func gtube() throws {
        let body = #"{"is_skipped":true,"score":15.0,"required_score":15.0,"action":"reject","symbols":{"GTUBE":{"name":"GTUBE","score":0.0}},"messages":{"smtp_message":"Gtube pattern"}}"#
        let v = try #require(SpamVerdict(rspamdJSON: Array(body.utf8)))
        #expect(v.score == 15 && v.action == "reject" && v.symbols == ["GTUBE"])
        #expect(v.disposition(thresholds) == .reject(reason: "Message rejected as spam (score 15.00: GTUBE)"))
    }

    @Test("each threshold picks its action; below all of them the message is delivered")
    func thresholdsByScore() {
        #expect(SpamVerdict(score: 0, action: "no action", symbols: []).disposition(thresholds) == .deliver)
        #expect(SpamVerdict(score: 5.5, action: "add header", symbols: ["A"]).disposition(thresholds)
                == .tag(headers: "X-Spam: yes\r\nX-Spam-Score: 5.50\r\nX-Spam-Symbols: A\r\n"))
        #expect(SpamVerdict(score: 12, action: "rewrite subject", symbols: []).disposition(thresholds) == .hold)
        let noHold = SpamVerdict.Thresholds(tag: nil, hold: nil, reject: 15)
        #expect(SpamVerdict(score: 12, action: "", symbols: []).disposition(noHold) == .deliver)
    }

    @Test("answers that are not rspamd verdicts are not parsed")
    func garbage() {
        #expect(SpamVerdict(rspamdJSON: Array("<html>".utf8)) == nil)
        #expect(SpamVerdict(rspamdJSON: Array(#"{"error":"bad request"}"#.utf8)) == nil)
    }
}
