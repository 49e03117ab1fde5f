/// The log form of the webhook commands proposed for every batch of calls: a lease (`claim`) and
/// attempt results (`results`) as compact binary records instead of JSON (Foundation's coders
/// cost tens of µs a command, twice: encoded by the proposer, decoded by every applier).
/// Endpoint edits stay JSON (rare, and JSON lets them grow fields).
///
/// Layout: `0xB2 | version 1 | kind (1 claim, 2 results, 3 claim with batches) | fields`, big-endian integers and
/// u32-length-prefixed strings (as `WebhookCall+Codec`). The first byte can never start a JSON
/// command (`{`), so `RegistryCommand(decoding:)` reads both forms; log entries written as JSON
/// by older builds keep decoding. Written only once every member reads it (spool command format
/// version 3, `SpoolCommand+Formats`; a claim with batches, version 4). Pure; any thread.
extension WebhookCommand {
    /// First byte of a binary webhook command.
    public static let binaryMagic: UInt8 = 0xB2
    static let binaryVersion: UInt8 = 1
    private static let claimKind: UInt8 = 1, resultsKind: UInt8 = 2
    /// A claim with batches: the claim's fields, then the batch sizes (log entry format 4).
    private static let batchedClaimKind: UInt8 = 3

    /// True for the commands that have a binary form (`claim` and `results`).
    public var hasBinaryForm: Bool {
        switch self {
        case .claim, .results, .leaseBatches, .batchResults: true
        default: false
        }
    }

    /// The binary record of a `claim` or `results` command; nil for the others (they stay JSON).
    /// Deterministic: the same command gives the same bytes on every node.
    public func binaryEncoded() -> [UInt8]? {
        switch self {
        case .claim(let c):
            var w = CallWriter(capacity: 64 + c.endpoint.utf8.count + c.owner.utf8.count + c.sequences.count * 8)
            w.u8(Self.binaryMagic)
            w.u8(Self.binaryVersion)
            w.u8(c.batches == nil ? Self.claimKind : Self.batchedClaimKind)
            w.string(c.endpoint)
            w.u32(UInt32(c.sequences.count))
            for s in c.sequences { w.u64(s) }
            w.string(c.owner)
            w.u64(c.incarnation)
            w.i64(c.issuedAt)
            w.i64(c.expiresAt)
            if let batches = c.batches {
                w.u32(UInt32(batches.count))
                for n in batches { w.u32(n) }
            }
            return w.bytes
        case .results(let r):
            var w = CallWriter(capacity: 64 + r.endpoint.utf8.count + r.owner.utf8.count + r.results.count * 72)
            w.u8(Self.binaryMagic)
            w.u8(Self.binaryVersion)
            w.u8(Self.resultsKind)
            w.string(r.endpoint)
            w.string(r.owner)
            w.u64(r.incarnation)
            w.u32(UInt32(r.results.count))
            for x in r.results {
                w.u64(x.sequence)
                w.attempt(x.attempt)
                w.verdict(x.verdict)
            }
            return w.bytes
        case .leaseBatches(let l):
            return Self.encodeBatchLease(l)
        case .batchResults(let r):
            return Self.encodeBatchResults(r)
        default:
            return nil
        }
    }

    /// Decodes `binaryEncoded()`'s bytes; throws `WebhookCallDecodingError` on malformed input.
    public init(binary bytes: some Collection<UInt8>) throws {
        var r = CallReader(Array(bytes))
        guard try r.u8() == Self.binaryMagic else { throw WebhookCallDecodingError(reason: "not a binary webhook command") }
        let version = try r.u8()
        guard version == Self.binaryVersion else { throw WebhookCallDecodingError(reason: "webhook command version \(version)") }
        switch try r.u8() {
        case let kind where kind == Self.claimKind || kind == Self.batchedClaimKind:
            let endpoint = try r.string()
            let n = try r.count(minBytesEach: 8)
            var sequences: [UInt64] = []
            sequences.reserveCapacity(n)
            for _ in 0..<n { sequences.append(try r.u64()) }
            var claim = Claim(endpoint: endpoint, sequences: sequences, owner: try r.string(), incarnation: try r.u64(),
                              issuedAt: try r.i64(), expiresAt: try r.i64())
            if kind == Self.batchedClaimKind {
                let m = try r.count(minBytesEach: 4)
                var sizes: [UInt32] = []
                sizes.reserveCapacity(m)
                for _ in 0..<m { sizes.append(try r.u32()) }
                claim.batches = sizes
            }
            self = .claim(claim)
        case Self.resultsKind:
            let endpoint = try r.string(), owner = try r.string(), incarnation = try r.u64()
            let n = try r.count(minBytesEach: 45)
            var results: [Result] = []
            results.reserveCapacity(n)
            for _ in 0..<n {
                let sequence = try r.u64()
                results.append(Result(sequence: sequence, attempt: try r.attempt(), verdict: try r.verdict()))
            }
            self = .results(Results(endpoint: endpoint, owner: owner, incarnation: incarnation, results: results))
        case Self.batchLeaseKind:
            self = .leaseBatches(try Self.decodeBatchLease(&r))
        case Self.batchResultsKind:
            self = .batchResults(try Self.decodeBatchResults(&r))
        case let kind:
            throw WebhookCallDecodingError(reason: "webhook command kind \(kind)")
        }
        guard r.atEnd else { throw WebhookCallDecodingError(reason: "trailing bytes") }
    }
}
