/// Event counts kept beside the events, updated in the same LMDB write: per minute (all events
/// and per tenant) and per hour (all, per tenant, per recipient domain, per source IP — the
/// submitting client's —, per source pool and per sending IP of delivery outcomes), and a
/// delivery-latency histogram per hour. Pure values and key layout; any thread.
public enum EventStats {
    /// Bucket width of a counts query.
    public enum Resolution: String, Sendable, CaseIterable {
        case minute, hour, day

        /// Bucket width, ms.
        public var millis: Int64 {
            switch self {
            case .minute: 60_000
            case .hour: 3_600_000
            case .day: 86_400_000
            }
        }

        /// The stored resolution a query reads (days are summed from hours).
        var stored: UInt8 { self == .minute ? 1 : 2 }
    }

    /// What the counts are grouped by besides the event type.
    public enum Dimension: String, Sendable, CaseIterable {
        case all, tenant, recipientDomain, sourceIP
        /// The source pool / local sending address of a delivery attempt (outcome events).
        case pool, sendingIP

        var code: UInt8 {
            switch self {
            case .all: 0
            case .tenant: 1
            case .recipientDomain: 2
            case .sourceIP: 3
            case .pool: 4
            case .sendingIP: 5
            }
        }

        /// Dimensions also kept per minute (the others only per hour).
        public var hasMinutes: Bool { self == .all || self == .tenant }
    }

    /// One count: events of `type` in the bucket starting at `bucketStart` (ms) whose `dimension`
    /// value is `key` ("" for `.all`).
    public struct Row: Sendable, Equatable {
        public var bucketStart: Int64
        public var key: String
        public var type: Event.Kind
        public var count: UInt64

        /// Creates a row. Any thread.
        public init(bucketStart: Int64, key: String, type: Event.Kind, count: UInt64) {
            self.bucketStart = bucketStart
            self.key = key
            self.type = type
            self.count = count
        }
    }

    /// Upper bounds (ms) of the delivery-latency buckets (accept → delivered); the last bucket
    /// is unbounded.
    public static let latencyBoundsMillis: [Int64] = [
        100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 300_000, 900_000, 3_600_000,
        14_400_000, 43_200_000, 86_400_000, 259_200_000,
    ]

    /// Bucket index of a latency.
    static func latencyBucket(_ millis: Int64) -> UInt8 {
        UInt8(latencyBoundsMillis.firstIndex { millis <= $0 } ?? latencyBoundsMillis.count)
    }

    /// Estimated quantile `q` (0...1) from bucket counts (index → count): the upper bound of the
    /// bucket holding it (nil for the unbounded bucket or no data). Pure.
    public static func quantile(_ q: Double, buckets: [Int: UInt64]) -> Int64?? {
        let total = buckets.values.reduce(0, +)
        guard total > 0 else { return nil }
        let rank = UInt64((Double(total) * q).rounded(.up))
        var seen: UInt64 = 0
        for i in 0...latencyBoundsMillis.count {
            seen += buckets[i] ?? 0
            if seen >= max(rank, 1) { return .some(i < latencyBoundsMillis.count ? latencyBoundsMillis[i] : nil) }
        }
        return .some(nil)
    }

    static let countTag: UInt8 = 0x20
    static let latencyTag: UInt8 = 0x21

    static func countPrefix(_ resolution: UInt8, bucket: Int64) -> [UInt8] {
        var w = BinaryWriter(capacity: 10)
        w.u8(countTag)
        w.u8(resolution)
        w.u64(SpoolKeys.biased(bucket))
        return w.bytes
    }

    static func latencyKey(bucket: Int64, index: UInt8) -> [UInt8] {
        var w = BinaryWriter(capacity: 10)
        w.u8(latencyTag)
        w.u64(SpoolKeys.biased(bucket))
        w.u8(index)
        return w.bytes
    }

    static func floor(_ t: Int64, _ width: Int64) -> Int64 {
        let r = t % width
        return r < 0 ? t - r - width : t - r
    }
}
