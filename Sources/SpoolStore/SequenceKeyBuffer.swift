import Registry

/// One registry key `<head><endpoint>/<sequence, 20 digits>` (`RegistryKeys.webhookPendingKey`,
/// `webhookDoneKey`) kept in one buffer: the sequence, and the head among heads of one length,
/// are rewritten in place, so a command that names many calls of one endpoint builds no key per
/// call. The same bytes as the `RegistryKeys` functions. Pure value; not shared.
struct SequenceKeyBuffer {
    private(set) var bytes: [UInt8]
    private let headCount: Int

    /// The key of `head`, `endpoint` and sequence 0.
    init(head: StaticString, endpoint: String) {
        headCount = head.utf8CodeUnitCount
        bytes = []
        bytes.reserveCapacity(headCount + endpoint.utf8.count + 21)
        bytes.append(contentsOf: UnsafeBufferPointer(start: head.utf8Start, count: headCount))
        bytes.append(contentsOf: endpoint.utf8)
        bytes.append(UInt8(ascii: "/"))
        bytes.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: 20))
    }

    /// Makes the key's sequence `n`.
    mutating func set(_ n: UInt64) {
        var v = n
        bytes.withUnsafeMutableBufferPointer { b in
            for i in stride(from: b.count - 1, through: b.count - 20, by: -1) {
                b[i] = 0x30 &+ UInt8(v % 10)
                v /= 10
            }
        }
    }

    /// Makes the key's head `head`, which has as many bytes as the head it replaces.
    mutating func setHead(_ head: StaticString) {
        precondition(head.utf8CodeUnitCount == headCount, "a head of another length")
        for i in 0..<headCount { bytes[i] = head.utf8Start[i] }
    }
}
