extension Raft {
    /// Fixed-capacity ring of the last indexes of a follower's unacknowledged appends (flow control).
    /// A class so the leader mutates it in place without copying. Not thread-safe.
    final class Inflights {
        private var buffer: [UInt64]
        private var start = 0
        private(set) var count = 0

        init(capacity: Int) {
            buffer = [UInt64](repeating: 0, count: capacity)
        }

        var isFull: Bool { count == buffer.count }

        func add(_ last: UInt64) {
            precondition(!isFull, "inflights overflow")
            var slot = start + count
            if slot >= buffer.count { slot -= buffer.count }
            buffer[slot] = last
            count += 1
        }

        func free(upTo index: UInt64) {
            while count > 0 && buffer[start] <= index {
                start += 1
                if start == buffer.count { start = 0 }
                count -= 1
            }
            if count == 0 { start = 0 }
        }

        func freeFirst() {
            if count > 0 { free(upTo: buffer[start]) }
        }

        func reset() {
            start = 0
            count = 0
        }
    }
}
