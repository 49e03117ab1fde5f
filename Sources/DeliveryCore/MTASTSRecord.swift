/// The `_mta-sts.<domain>` TXT record of RFC 8461 §3.1 (`v=STSv1; id=20160831085700Z;`): tells
/// that the domain publishes an MTA-STS policy and which version of it (`id`).
///
/// Pure value; any thread.
public struct MTASTSRecord: Sendable, Equatable {
    /// The policy's identifier (1-32 letters or digits); a change means the policy changed.
    public var id: String

    /// Creates a record. Pure.
    public init(id: String) { self.id = id }

    /// What the TXT lookup of `_mta-sts.<domain>` said.
    public enum Lookup: Sendable, Equatable {
        /// Exactly one valid STSv1 record.
        case record(MTASTSRecord)
        /// No record (NXDOMAIN, no TXT, no or several STSv1 records, or an invalid one): the
        /// domain has no available policy (RFC 8461 §3.1).
        case none
        /// The lookup failed (SERVFAIL, timeout): a cached policy stays in use.
        case failure(String)
    }

    /// Parses one TXT string (its character-strings already joined). Nil when it is not a valid
    /// STSv1 record. Pure.
    public static func parse(_ text: String) -> MTASTSRecord? {
        let fields = text.split(separator: ";", omittingEmptySubsequences: false)
            .map { MTASTSPolicy.trimmed($0) }
        guard let first = fields.first, first == "v=STSv1" else { return nil }
        var id: String?
        for field in fields.dropFirst() where !field.isEmpty {
            guard let eq = field.firstIndex(of: "=") else { return nil }
            let name = field[..<eq]
            let value = field[field.index(after: eq)...]
            guard !name.isEmpty, name.count <= 32 else { return nil }
            if name == "id", id == nil {
                guard !value.isEmpty, value.count <= 32,
                      value.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) })
                else { return nil }
                id = String(value)
            }
        }
        return id.map(MTASTSRecord.init(id:))
    }

    /// The lookup result for the TXT strings of `_mta-sts.<domain>` (RFC 8461 §3.1: records not
    /// starting with `v=STSv1;` are discarded; anything but exactly one valid record means "no
    /// policy"). Pure.
    public static func lookup(fromTXT texts: [String]) -> Lookup {
        let candidates = texts.filter { $0.hasPrefix("v=STSv1;") || $0 == "v=STSv1" }
        guard candidates.count == 1, let record = parse(candidates[0]) else { return .none }
        return .record(record)
    }
}
