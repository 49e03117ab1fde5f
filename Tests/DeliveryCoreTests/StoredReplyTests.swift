import Testing
@testable import DeliveryCore

/// Remote replies are bounded before they enter the replicated log.
@Suite("Stored reply bounds")
struct StoredReplyTests {
    @Test("a multi-megabyte reply is cut to the limit with a marker; short replies pass unchanged")
    func cutsLongReplies() {
        let short = "550 5.1.1 <a@b.test>: Recipient address rejected"
        #expect(StoredReply.bounded(short) == short)
        let huge = "550 5.7.1 " + String(repeating: "spam ", count: 2_000_000)
        let cut = StoredReply.bounded(huge)
        #expect(cut.utf8.count <= StoredReply.maxBytes)
        #expect(cut.hasPrefix("550 5.7.1 spam spam"))
        #expect(cut.hasSuffix(" [\(huge.utf8.count) bytes, truncated]"))
    }

    @Test("cutting never splits a UTF-8 sequence")
    func keepsWholeCharacters() {
        let text = String(repeating: "é€😀", count: 500)
        for limit in 60...80 {
            let cut = StoredReply.bounded(text, maxBytes: limit)
            #expect(cut.utf8.count <= limit)
            #expect(String(decoding: Array(cut.utf8), as: UTF8.self) == cut)
            #expect(!cut.unicodeScalars.contains("\u{FFFD}"))
        }
    }

    @Test("the per-recipient limit keeps an outcome under 64 KiB, and never below 128 bytes")
    func perOutcome() {
        #expect(StoredReply.perRecipientLimit(recipients: 1) == StoredReply.maxBytes)
        #expect(StoredReply.perRecipientLimit(recipients: 100) * 100 <= StoredReply.maxBytesPerOutcome)
        #expect(StoredReply.perRecipientLimit(recipients: 100_000) == 128)
    }
}
