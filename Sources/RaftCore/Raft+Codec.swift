extension Raft.Message {
    /// Wire format version written as the first byte.
    public static let wireVersion: UInt8 = 1

    /// Encodes the message for the peer transport (compact varint format, version byte first).
    /// Does not block; any caller.
    public func encode() -> [UInt8] {
        var w = WireWriter(capacity: 48 + entries.reduce(0) { $0 + $1.data.count + 8 } + (snapshot?.data.count ?? 0))
        w.byte(Self.wireVersion)
        w.byte(kind.rawValue)
        w.varint(from)
        w.varint(to)
        w.varint(term)
        w.varint(logTerm)
        w.varint(index)
        w.varint(commit)
        w.varint(rejectHint)
        w.byte((reject ? 1 : 0) | (isTransfer ? 2 : 0) | (snapshot != nil ? 4 : 0))
        w.varint(UInt64(entries.count))
        for e in entries { e.encode(into: &w) }
        if let s = snapshot { s.encode(into: &w) }
        w.lengthPrefixed(context)
        return w.bytes
    }

    /// Decodes bytes written by `encode()`. Throws `.decodeFailed` on malformed input.
    /// Does not block; any caller.
    public static func decode(_ bytes: [UInt8]) throws(Raft.Error) -> Raft.Message {
        var r = WireReader(bytes[...])
        let version = try r.byte()
        guard version == wireVersion else {
            let newer = version > wireVersion ? "newer than" : "not"
            throw Raft.Error(.decodeFailed, "raft wire version \(version) is \(newer) this build's version \(wireVersion): run the same release on every node")
        }
        let kb = try r.byte()
        guard let kind = Kind(rawValue: kb) else { throw Raft.Error(.decodeFailed, "unknown message kind \(kb)") }
        let from = try r.varint()
        let to = try r.varint()
        let term = try r.varint()
        let logTerm = try r.varint()
        let index = try r.varint()
        let commit = try r.varint()
        let rejectHint = try r.varint()
        let flags = try r.byte()
        guard flags & ~7 == 0 else { throw Raft.Error(.decodeFailed, "unknown flags \(flags)") }
        let count = try r.varint()
        guard count <= UInt64(bytes.count) else { throw Raft.Error(.decodeFailed, "entry count \(count) too large") }
        var entries: [Raft.Entry] = []
        entries.reserveCapacity(Int(count))
        for _ in 0..<count { entries.append(try Raft.Entry.decode(from: &r)) }
        let snapshot = flags & 4 != 0 ? try Raft.Snapshot.decode(from: &r) : nil
        let context = try r.lengthPrefixed()
        guard r.isAtEnd else { throw Raft.Error(.decodeFailed, "trailing bytes after message") }
        return Raft.Message(kind: kind, from: from, to: to, term: term, logTerm: logTerm, index: index,
                            entries: entries, commit: commit, reject: flags & 1 != 0, rejectHint: rejectHint,
                            isTransfer: flags & 2 != 0, snapshot: snapshot, context: context)
    }
}

extension Raft.Entry {
    /// Appends the entry's wire form to `w`. Does not block.
    public func encode(into w: inout WireWriter) {
        w.varint(term)
        w.varint(index)
        w.byte(kind.rawValue)
        w.lengthPrefixed(data)
    }

    /// Reads an entry written by `encode(into:)`. Throws `.decodeFailed`.
    public static func decode(from r: inout WireReader) throws(Raft.Error) -> Raft.Entry {
        let term = try r.varint()
        let index = try r.varint()
        let kb = try r.byte()
        guard let kind = Kind(rawValue: kb) else { throw Raft.Error(.decodeFailed, "unknown entry kind \(kb)") }
        return Raft.Entry(term: term, index: index, kind: kind, data: try r.lengthPrefixed())
    }
}

extension Raft.Snapshot {
    /// Appends the snapshot's wire form to `w`. Does not block.
    public func encode(into w: inout WireWriter) {
        w.varint(index)
        w.varint(term)
        confState.encode(into: &w)
        w.lengthPrefixed(data)
    }

    /// Reads a snapshot written by `encode(into:)`. Throws `.decodeFailed`.
    public static func decode(from r: inout WireReader) throws(Raft.Error) -> Raft.Snapshot {
        let index = try r.varint()
        let term = try r.varint()
        let cs = try Raft.ConfState.decode(from: &r)
        return Raft.Snapshot(index: index, term: term, confState: cs, data: try r.lengthPrefixed())
    }
}

extension Raft.ConfState {
    /// Appends the membership's wire form to `w`. Does not block.
    public func encode(into w: inout WireWriter) {
        w.varint(UInt64(voters.count))
        for v in voters { w.varint(v) }
        w.varint(UInt64(learners.count))
        for l in learners { w.varint(l) }
    }

    /// Reads a membership written by `encode(into:)`. Throws `.decodeFailed`.
    public static func decode(from r: inout WireReader) throws(Raft.Error) -> Raft.ConfState {
        func ids(_ r: inout WireReader) throws(Raft.Error) -> [UInt64] {
            let n = try r.varint()
            guard n <= 4096 else { throw Raft.Error(.decodeFailed, "membership of \(n) nodes") }
            var out: [UInt64] = []
            for _ in 0..<n { out.append(try r.varint()) }
            return out
        }
        let voters = try ids(&r)
        let learners = try ids(&r)
        return Raft.ConfState(voters: voters, learners: learners)
    }
}
