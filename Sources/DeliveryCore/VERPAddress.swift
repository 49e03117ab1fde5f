/// A VERP (variable envelope return path) address: the envelope sender a message leaves with, naming
/// the message (its queue ID) and, when the transaction carried one recipient, which recipient, so
/// a bounce that arrives hours later is tied to both. A keyed tag makes forged addresses detectable.
///
/// Form: `bounce-<queueid>-<recipient index | all>-<n | q>-<tag>@<bounce domain>`, lower case;
/// `n` records that the original sender asked for failure notices (NOTIFY=FAILURE), `q` that it did
/// not. The tag is the first 40 bits of a keyed hash (the caller's `mac`, HMAC-SHA256 in the node)
/// over the other fields, in lower-case base32. Pure value; any thread.
public struct VERPAddress: Sendable, Equatable {
    /// The spool queue ID (upper case, as the spool stores it).
    public var queueID: String
    /// Index into the message's recipients, nil when the transaction had several.
    public var recipientIndex: Int?
    /// The original sender asked for failure DSNs.
    public var notifySender: Bool
    /// The bounce domain (lower case).
    public var domain: String

    /// Creates an address value. Pure; any caller.
    public init(queueID: String, recipientIndex: Int?, notifySender: Bool, domain: String) {
        self.queueID = queueID
        self.recipientIndex = recipientIndex
        self.notifySender = notifySender
        self.domain = domain.lowercased()
    }

    /// Why an address is not an acceptable VERP address.
    public enum Problem: Error, Equatable, Sendable {
        /// Not of the `bounce-…` form.
        case notVERP
        /// The form is right but the tag does not match: forged or altered.
        case badTag
    }

    /// The fields the tag covers, as bytes.
    func signedFields() -> [UInt8] {
        Array("\(queueID.uppercased())|\(recipientIndex.map(String.init) ?? "all")|\(notifySender ? "n" : "q")|\(domain)".utf8)
    }

    /// The address text with its tag. `mac` computes a keyed hash of its input (≥ 5 bytes). Pure.
    public func encoded(mac: (_ data: [UInt8]) -> [UInt8]) -> String {
        let tag = Self.base32(Array(mac(signedFields()).prefix(5)))
        let index = recipientIndex.map { String($0) } ?? "all"
        return "bounce-\(queueID.lowercased())-\(index)-\(notifySender ? "n" : "q")-\(tag)@\(domain)"
    }

    /// Parses and checks `address` (case-insensitive). Pure.
    public static func decode(_ address: String, mac: (_ data: [UInt8]) -> [UInt8]) -> Result<VERPAddress, Problem> {
        let lower = address.lowercased()
        guard let at = lower.utf8.lastIndex(of: UInt8(ascii: "@")) else { return .failure(.notVERP) }
        let local = lower[..<at]
        let domain = String(lower[lower.utf8.index(after: at)...])
        let parts = local.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0] == "bounce", !parts[1].isEmpty, parts[1].utf8.count <= 64,
              parts[1].utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x7A) }),
              parts[3] == "n" || parts[3] == "q", parts[4].utf8.count == 8, !domain.isEmpty else { return .failure(.notVERP) }
        let index: Int?
        if parts[2] == "all" {
            index = nil
        } else if let i = Int(parts[2]), i >= 0, i < 100_000, String(i) == parts[2] {
            index = i
        } else {
            return .failure(.notVERP)
        }
        let value = VERPAddress(queueID: parts[1].uppercased(), recipientIndex: index, notifySender: parts[3] == "n",
                                domain: domain)
        let expected = base32(Array(mac(value.signedFields()).prefix(5)))
        // Constant-time comparison of the 8 tag characters.
        var diff: UInt8 = 0
        for (a, b) in zip(expected.utf8, parts[4].utf8) { diff |= a ^ b }
        return diff == 0 ? .success(value) : .failure(.badTag)
    }

    /// RFC 4648 base32 alphabet, lower case, no padding.
    static func base32(_ bytes: [UInt8]) -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567".utf8)
        var out: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        for b in bytes {
            buffer = (buffer << 8) | UInt32(b)
            bits += 8
            while bits >= 5 {
                out.append(alphabet[Int((buffer >> UInt32(bits - 5)) & 31)])
                bits -= 5
            }
        }
        if bits > 0 { out.append(alphabet[Int((buffer << UInt32(5 - bits)) & 31)]) }
        return String(decoding: out, as: UTF8.self)
    }
}
