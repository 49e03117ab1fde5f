/// DKIM canonicalization (RFC 6376 §3.4): how header fields and the body are normalised before
/// hashing. Pure; any thread.
public enum DKIMCanonicalization: String, Sendable, Equatable, Codable {
    /// Bytes as they are (headers exact; body without trailing empty lines).
    case simple
    /// Whitespace-tolerant: lower-case header names, unfolded and compressed whitespace.
    case relaxed

    static let sp: UInt8 = 0x20, tab: UInt8 = 0x09, cr: UInt8 = 0x0D, lf: UInt8 = 0x0A

    /// One header field (name, colon, value, including continuation lines and its final CRLF)
    /// in canonical form, with the final CRLF (RFC 6376 §3.4.1, §3.4.2).
    public func header(_ field: ArraySlice<UInt8>) -> [UInt8] {
        switch self {
        case .simple:
            return Array(field)
        case .relaxed:
            guard let colon = field.firstIndex(of: 0x3A) else { return Array(field) }
            var out: [UInt8] = []
            out.reserveCapacity(field.count)
            // Name: lower-cased, without whitespace before the colon.
            var name = Array(field[field.startIndex..<colon])
            while let last = name.last, last == Self.sp || last == Self.tab { name.removeLast() }
            for b in name { out.append(b >= 0x41 && b <= 0x5A ? b | 0x20 : b) }
            out.append(0x3A)
            // Value: unfolded, runs of whitespace as one space, none at either end.
            var pendingSpace = false
            var started = false
            for b in field[(colon + 1)...] {
                if b == Self.cr || b == Self.lf { continue }
                if b == Self.sp || b == Self.tab {
                    pendingSpace = started
                    continue
                }
                if pendingSpace { out.append(Self.sp) }
                pendingSpace = false
                started = true
                out.append(b)
            }
            out.append(Self.cr)
            out.append(Self.lf)
            return out
        }
    }

    /// The body in canonical form (RFC 6376 §3.4.3, §3.4.4). `body` is everything after the
    /// header/body separator, CRLF line endings.
    public func body(_ body: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(body.count + 2)
        switch self {
        case .simple:
            out.append(contentsOf: body)
            if !out.isEmpty && !(out.count >= 2 && out[out.count - 2] == Self.cr && out[out.count - 1] == Self.lf) {
                out.append(contentsOf: [Self.cr, Self.lf])
            }
        case .relaxed:
            // Per line: whitespace runs become one space; whitespace at the end of a line goes.
            var line: [UInt8] = []
            var pendingSpace = false
            var i = body.startIndex
            func endLine() {
                out.append(contentsOf: line)
                out.append(Self.cr)
                out.append(Self.lf)
                line.removeAll(keepingCapacity: true)
                pendingSpace = false
            }
            while i < body.endIndex {
                let b = body[i]
                if b == Self.cr, body.index(after: i) < body.endIndex, body[body.index(after: i)] == Self.lf {
                    endLine()
                    i = body.index(i, offsetBy: 2)
                    continue
                }
                if b == Self.sp || b == Self.tab {
                    pendingSpace = true
                } else {
                    if pendingSpace { line.append(Self.sp) }
                    pendingSpace = false
                    line.append(b)
                }
                i = body.index(after: i)
            }
            if !line.isEmpty { endLine() }
        }
        // Trailing empty lines go (both algorithms).
        while out.count >= 4, out[out.count - 4] == Self.cr, out[out.count - 3] == Self.lf,
              out[out.count - 2] == Self.cr, out[out.count - 1] == Self.lf {
            out.removeLast(2)
        }
        if out == [Self.cr, Self.lf] && self == .relaxed { out.removeAll() }
        if out.isEmpty && self == .simple { out = [Self.cr, Self.lf] }
        return out
    }
}
