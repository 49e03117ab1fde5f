import DeliveryCore
import Testing

/// `PostponeBatcher` with a hand-driven clock (ms): batches by size and by age, holds what is in
/// flight, stays bounded.
@Suite("Postpone batcher")
struct PostponeBatcherTests {
    @Test("a batch is handed out when full, or when its oldest item waited maxDelay, not before")
    func sizeAndAge() {
        var b = PostponeBatcher(batchSize: 3, maxDelayMillis: 200, maxHeld: 10)
        #expect(b.add("a", at: 9_000, now: 1_000) == nil)
        #expect(b.add("b", at: 9_000, now: 1_050) == nil)
        let full = b.add("c", at: 9_500, now: 1_100)
        #expect(full?.items.map(\.queueID) == ["a", "b", "c"])
        #expect(full?.items.map(\.at) == [9_000, 9_000, 9_500])
        #expect(b.nextFlush() == nil)
        #expect(b.add("d", at: 9_000, now: 2_000) == nil)
        #expect(b.nextFlush() == 2_200)
        #expect(b.flush(now: 2_199) == nil, "younger than maxDelay")
        let aged = b.flush(now: 2_200)
        #expect(aged?.items.map(\.queueID) == ["d"])
        #expect(b.flush(now: 9_999) == nil, "nothing pending")
        #expect(b.add("e", at: 9_000, now: 3_000) == nil)
        #expect(b.flush(now: 3_000, force: true)?.items.map(\.queueID) == ["e"])
        #expect(full?.id != aged?.id)
    }

    @Test("held messages are not added twice, stay held until their batch finishes, and maxHeld bounds memory")
    func heldAndBounded() {
        var b = PostponeBatcher(batchSize: 2, maxDelayMillis: 200, maxHeld: 4)
        _ = b.add("a", at: 1, now: 0)
        #expect(b.add("a", at: 1, now: 0) == nil && b.isHeld("a"))
        let first = b.add("b", at: 1, now: 0)
        #expect(first?.items.count == 2)
        let second = b.add("c", at: 1, now: 0).map { _ in 0 } ?? b.add("d", at: 1, now: 0).map(\.id)
        #expect(second != nil)
        #expect(!b.hasRoom && b.heldCount == 4)
        #expect(b.add("e", at: 1, now: 0) == nil && !b.isHeld("e"), "beyond maxHeld nothing is added")
        b.finished(first!.id)
        #expect(!b.isHeld("a") && !b.isHeld("b") && b.isHeld("c") && b.hasRoom)
        #expect(b.add("a", at: 2, now: 1) == nil && b.isHeld("a"), "a finished message may be postponed again")
    }
}
