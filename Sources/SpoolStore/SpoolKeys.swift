import SendarixSupport

/// Builds the LMDB keys of the spool's tables. Integers are big-endian and
/// signed times are biased (sign bit flipped) so byte order equals time order.
/// Pure; any thread.
enum SpoolKeys {
    /// Default body segment size: one 4096-byte overflow page holds exactly 4080 bytes.
    static let chunkSize = 4080
    /// Longest indexed field prefix in a secondary-index key (LMDB keys ≤ 511 bytes).
    static let maxIndexedField = 400

    static func biased(_ t: Int64) -> UInt64 { UInt64(bitPattern: t) ^ (1 << 63) }
    static func unbiased(_ v: UInt64) -> Int64 { Int64(bitPattern: v ^ (1 << 63)) }

    static func log(_ index: UInt64) -> [UInt8] {
        var w = BinaryWriter(capacity: 8)
        w.u64(index)
        return w.bytes
    }

    static func message(_ queueID: String) -> [UInt8] { Array(queueID.utf8) }

    /// True when `queueID` can be used in keys (1...255 UTF-8 bytes).
    static func isValidQueueID(_ queueID: String) -> Bool {
        !queueID.isEmpty && queueID.utf8.count <= SpoolMachine.maxQueueIDBytes
    }

    /// `[len u8][queueID][chunk u32]` (chunk: the body segment's number): the length prefix keeps IDs that are prefixes of others apart.
    static func body(_ queueID: String, chunk: Int) -> [UInt8] {
        var w = BinaryWriter(capacity: queueID.utf8.count + 5)
        w.u8(UInt8(truncatingIfNeeded: queueID.utf8.count))
        w.raw(queueID.utf8)
        w.u32(UInt32(chunk))
        return w.bytes
    }

    /// Rewrites the chunk number at the end of a key made by ``body(_:chunk:)``.
    static func setChunk(_ chunk: Int, in key: inout [UInt8]) {
        let n = UInt32(chunk)
        let end = key.count
        key[end - 4] = UInt8(truncatingIfNeeded: n >> 24)
        key[end - 3] = UInt8(truncatingIfNeeded: n >> 16)
        key[end - 2] = UInt8(truncatingIfNeeded: n >> 8)
        key[end - 1] = UInt8(truncatingIfNeeded: n)
    }

    /// `[due time][queueID]`.
    static func due(_ at: Int64, _ queueID: String) -> [UInt8] {
        var w = BinaryWriter(capacity: queueID.utf8.count + 8)
        w.u64(biased(at))
        w.raw(queueID.utf8)
        return w.bytes
    }

    /// `[destination hash u64][due time][queueID]`: the postponed table's key (a destination's
    /// postponed messages in due order, see `SpoolStore+PostponedIndex`).
    static func postponed(destination hash: UInt64, _ at: Int64, _ queueID: String) -> [UInt8] {
        var w = BinaryWriter(capacity: queueID.utf8.count + 16)
        w.u64(hash)
        w.u64(biased(at))
        w.raw(queueID.utf8)
        return w.bytes
    }

    /// FNV-1a (64 bits) of the ASCII-lowercased destination domain: stable across builds and
    /// nodes (the postponed table is written by the state machine on every member). Pure.
    static func destinationHash(_ domain: String) -> UInt64 {
        var h = FNV1a64()
        for b in domain.utf8 { h.add((b >= 0x41 && b <= 0x5A) ? b | 0x20 : b) }
        return h.value
    }

    /// `[owner len u8][owner][queueID]`: the lease table's key (owner IDs are cut at 255 bytes).
    static func lease(owner: String, _ queueID: String) -> [UInt8] {
        let o = Array(owner.utf8.prefix(255))
        var w = BinaryWriter(capacity: o.count + queueID.utf8.count + 1)
        w.u8(UInt8(o.count))
        w.raw(o)
        w.raw(queueID.utf8)
        return w.bytes
    }

    /// `[timestamp][log index][ordinal]`, 20 bytes, time-ordered.
    static func event(_ e: Event, index: UInt64, ordinal: Int) -> [UInt8] {
        var w = BinaryWriter(capacity: 20)
        w.u64(biased(e.timestampMillis))
        w.u64(index)
        w.u32(UInt32(truncatingIfNeeded: ordinal))
        return w.bytes
    }

    static let eventKeySize = 20

    /// Commit-order feed key: `[5][log index][ordinal]` (the tail of the event
    /// key); its value is the event key.
    static func feed(eventKey: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(13)
        out.append(feedTag)
        out.append(contentsOf: eventKey[8...])
        return out
    }

    static let feedTag: UInt8 = 5

    /// Which event field a secondary index entry is for.
    /// Raw values 6... were added with search (issue 10); events stored before have no entries
    /// in those indexes. 5 is the feed tag, 0x20... are the event statistics.
    enum EventIndex: UInt8, CaseIterable {
        case recipient = 1, sender = 2, queueID = 3, type = 4
        case tenant = 6, recipientDomain = 7, messageID = 8, bounceClass = 9

        /// The indexed value, nil when the event has none (no entry is written).
        func field(of e: Event) -> String? {
            switch self {
            case .recipient: e.recipient
            case .sender: e.sender
            case .queueID: e.queueId
            case .type: e.type.rawValue
            case .tenant: e.tenant
            case .recipientDomain: Self.domain(of: e.recipient)
            case .messageID: e.messageId.isEmpty ? nil : e.messageId
            case .bounceClass: e.bounceClass.flatMap { $0.isEmpty ? nil : $0 }
            }
        }

        /// The part after the last `@`, or nil.
        static func domain(of address: String) -> String? {
            domainUTF8(of: address).map { String(Substring($0)) }
        }

        /// The UTF-8 bytes after the last `@` of `address` (no copy), or nil when there is no
        /// `@` or nothing after it: the bytes of ``domain(of:)``.
        static func domainUTF8(of address: String) -> Substring.UTF8View? {
            guard let at = address.utf8.lastIndex(of: UInt8(ascii: "@")) else { return nil }
            let d = address.utf8[address.utf8.index(after: at)...]
            return d.isEmpty ? nil : d
        }

        /// The bytes after the last `@` in UTF-8 `address`, or nil (see ``domainUTF8(of:)``).
        static func domainBytes(of address: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
            guard let at = address.lastIndex(of: UInt8(ascii: "@")), at + 1 < address.count else { return nil }
            return UnsafeRawBufferPointer(rebasing: address[(at + 1)...])
        }
    }

    /// Prefix of a secondary event index key (all indexes share one table):
    /// `[index kind][len u16][lowercased field, truncated]`; the event key follows.
    static func indexPrefix(_ index: EventIndex, _ field: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(min(field.utf8.count, maxIndexedField) + 3 + eventKeySize)
        out.append(index.rawValue)
        appendField(field.utf8, to: &out)
        return out
    }

    /// Appends `[len u16][field]`: the UTF-8 `field` ASCII-lowercased and cut at
    /// ``maxIndexedField`` bytes, as index and count keys hold it (the bytes of
    /// `SpoolMachine.asciiLowercased(field).utf8.prefix(maxIndexedField)`). Pure.
    static func appendField<C: Collection<UInt8>>(_ field: C, to out: inout [UInt8]) {
        let n = min(field.count, maxIndexedField)
        out.append(UInt8(truncatingIfNeeded: n >> 8))
        out.append(UInt8(truncatingIfNeeded: n))
        let start = out.count
        let copied = field.withContiguousStorageIfAvailable { out.append(contentsOf: UnsafeBufferPointer(rebasing: $0.prefix(n))) }
        if copied == nil { out.append(contentsOf: field.prefix(n)) }
        out.withUnsafeMutableBufferPointer { o in
            for i in start..<o.count where o[i] >= 0x41 && o[i] <= 0x5A { o[i] |= 0x20 }
        }
    }

    /// Appends `v` big-endian.
    static func appendU64(_ v: UInt64, to out: inout [UInt8]) {
        withUnsafeBytes(of: v.bigEndian) { out.append(contentsOf: $0) }
    }

    /// `[tenant len u16][tenant][lowercased address]`.
    static func suppression(tenant: String, address: String) -> [UInt8] {
        let t = Array(tenant.utf8.prefix(200))
        var w = BinaryWriter(capacity: t.count + address.utf8.count + 2)
        w.u16(UInt16(t.count))
        w.raw(t)
        w.raw(SpoolMachine.asciiLowercased(address).utf8.prefix(300))
        return w.bytes
    }

    static let applied: [UInt8] = Array("applied".utf8)
    static let schema: [UInt8] = Array("schema".utf8)
    /// Layout version of the tables; bumped on incompatible changes.
    static let schemaVersion: UInt32 = 1
}
