/// A domain name held in uncompressed wire form (length-prefixed labels ending in a zero byte).
///
/// Comparison and hashing are ASCII case-insensitive (RFC 4343) while the original spelling is
/// preserved, so a question can be echoed with the requester's case. Pure value; any thread.
public struct DNSName: Sendable, Hashable, CustomStringConvertible {
    /// Uncompressed wire form including the terminating zero byte; at most 255 bytes.
    public private(set) var wire: [UInt8]

    /// The root name `.`.
    public static let root = DNSName(uncheckedWire: [0])

    /// Wraps wire bytes that the caller has already validated.
    init(uncheckedWire: [UInt8]) {
        self.wire = uncheckedWire
    }

    /// Parses presentation text: `mail.example.com`, `mail.example.com.`, `.` (root).
    /// Supports `\.` and `\DDD` escapes. Throws `DNSError` (`.invalidText`, `.labelTooLong`,
    /// `.nameTooLong`) for empty labels or oversize names. Pure; any thread.
    public init(_ text: String) throws {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count + 2)
        let bytes = Array(text.utf8)
        if bytes.isEmpty || bytes == [UInt8(ascii: ".")] {
            self.wire = [0]
            return
        }
        var label: [UInt8] = []
        var i = 0
        func finishLabel(at index: Int) throws {
            guard !label.isEmpty else { throw DNSError(.invalidText, "empty label in \"\(text)\"", offset: index) }
            guard label.count <= 63 else { throw DNSError(.labelTooLong, "label longer than 63 bytes in \"\(text)\"", offset: index) }
            out.append(UInt8(label.count))
            out.append(contentsOf: label)
            label.removeAll(keepingCapacity: true)
        }
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "\\") {
                guard i + 1 < bytes.count else { throw DNSError(.invalidText, "dangling escape", offset: i) }
                let d0 = bytes[i + 1]
                if d0 >= 0x30 && d0 <= 0x39 {
                    guard i + 3 < bytes.count else {
                        throw DNSError(.invalidText, "short \\DDD escape", offset: i)
                    }
                    var value = 0
                    for k in 1...3 {
                        let d = bytes[i + k]
                        guard d >= 0x30 && d <= 0x39 else { throw DNSError(.invalidText, "bad \\DDD escape", offset: i) }
                        value = value * 10 + Int(d - 0x30)
                    }
                    guard value <= 255 else { throw DNSError(.invalidText, "\\DDD escape above 255", offset: i) }
                    label.append(UInt8(value))
                    i += 4
                } else {
                    label.append(d0)
                    i += 2
                }
            } else if c == UInt8(ascii: ".") {
                try finishLabel(at: i)
                i += 1
            } else {
                label.append(c)
                i += 1
            }
        }
        if !label.isEmpty { try finishLabel(at: i) }
        out.append(0)
        guard out.count <= 255 else { throw DNSError(.nameTooLong, "name longer than 255 bytes", offset: 0) }
        self.wire = out
    }

    /// Validates uncompressed wire bytes (labels ≤ 63, total ≤ 255, terminated by zero, nothing after).
    /// Throws `DNSError`. Pure; any thread.
    public init(wire: [UInt8]) throws {
        guard wire.count <= 255 else { throw DNSError(.nameTooLong, "name longer than 255 bytes") }
        var i = 0
        while true {
            guard i < wire.count else { throw DNSError(.truncated, "name not terminated", offset: i) }
            let len = Int(wire[i])
            if len == 0 { break }
            guard len <= 63 else { throw DNSError(.labelTooLong, "label longer than 63 bytes", offset: i) }
            i += 1 + len
        }
        guard i == wire.count - 1 else { throw DNSError(.trailingBytes, "bytes after the root label", offset: i) }
        self.wire = wire
    }

    /// True for the root name.
    public var isRoot: Bool { wire.count == 1 }

    /// Number of labels, not counting the root.
    public var labelCount: Int {
        var n = 0
        var i = 0
        while wire[i] != 0 { n += 1; i += 1 + Int(wire[i]) }
        return n
    }

    /// The labels from left to right, as slices of `wire`.
    public var labels: [ArraySlice<UInt8>] {
        var result: [ArraySlice<UInt8>] = []
        var i = 0
        while wire[i] != 0 {
            let len = Int(wire[i])
            result.append(wire[(i + 1)..<(i + 1 + len)])
            i += 1 + len
        }
        return result
    }

    /// True when any label contains an ASCII uppercase letter.
    public var hasUppercase: Bool {
        var i = 0
        while wire[i] != 0 {
            let len = Int(wire[i])
            var k = i + 1
            while k <= i + len {
                if wire[k] >= 0x41 && wire[k] <= 0x5A { return true }
                k += 1
            }
            i += 1 + len
        }
        return false
    }

    /// The name with ASCII letters lowercased.
    public var lowercased: DNSName {
        var copy = wire
        var i = 0
        while copy[i] != 0 {
            let len = Int(copy[i])
            var k = i + 1
            while k <= i + len {
                let b = copy[k]
                if b >= 0x41 && b <= 0x5A { copy[k] = b | 0x20 }
                k += 1
            }
            i += 1 + len
        }
        return DNSName(uncheckedWire: copy)
    }

    /// The name without its leftmost label, or nil for the root.
    public var parent: DNSName? {
        guard !isRoot else { return nil }
        return DNSName(uncheckedWire: Array(wire[(1 + Int(wire[0]))...]))
    }

    /// True when this name equals `other` or lies below it (case-insensitive). Pure.
    public func isSubdomain(of other: DNSName) -> Bool {
        let target = other.wire.count
        var i = 0
        while true {
            let remaining = wire.count - i
            if remaining == target { return DNSName.bytesEqualIgnoringCase(wire, from: i, other.wire, from: 0, count: target) }
            if remaining < target || wire[i] == 0 { return false }
            i += 1 + Int(wire[i])
        }
    }

    /// A new name with `label` prepended. Throws when the label or the result is too long.
    public func prepending(_ label: String) throws -> DNSName {
        let bytes = Array(label.utf8)
        guard !bytes.isEmpty, bytes.count <= 63 else { throw DNSError(.labelTooLong, "label must be 1...63 bytes") }
        guard wire.count + bytes.count + 1 <= 255 else { throw DNSError(.nameTooLong, "name longer than 255 bytes") }
        return DNSName(uncheckedWire: [UInt8(bytes.count)] + bytes + wire)
    }

    /// The reverse-lookup name of an address: `4.3.2.1.in-addr.arpa` for 4 bytes, the nibble
    /// form under `ip6.arpa` for 16 bytes (RFC 3596 §2.5); nil for other lengths. Pure.
    public static func reverse(address: [UInt8]) -> DNSName? {
        var wire: [UInt8] = []
        if address.count == 4 {
            for byte in address.reversed() {
                let digits = Array(String(byte).utf8)
                wire.append(UInt8(digits.count))
                wire.append(contentsOf: digits)
            }
            wire += [7] + Array("in-addr".utf8) + [4] + Array("arpa".utf8) + [0]
        } else if address.count == 16 {
            let hex = Array("0123456789abcdef".utf8)
            for byte in address.reversed() {
                wire += [1, hex[Int(byte & 0x0F)], 1, hex[Int(byte >> 4)]]
            }
            wire += [3] + Array("ip6".utf8) + [4] + Array("arpa".utf8) + [0]
        } else {
            return nil
        }
        return DNSName(uncheckedWire: wire)
    }

    static func bytesEqualIgnoringCase(_ a: [UInt8], from ai: Int, _ b: [UInt8], from bi: Int, count: Int) -> Bool {
        var k = 0
        while k < count {
            var x = a[ai + k], y = b[bi + k]
            if x >= 0x41 && x <= 0x5A { x |= 0x20 }
            if y >= 0x41 && y <= 0x5A { y |= 0x20 }
            if x != y { return false }
            k += 1
        }
        return true
    }

    /// Case-insensitive equality (RFC 4343).
    public static func == (lhs: DNSName, rhs: DNSName) -> Bool {
        lhs.wire.count == rhs.wire.count
            && bytesEqualIgnoringCase(lhs.wire, from: 0, rhs.wire, from: 0, count: lhs.wire.count)
    }

    /// Hashes the lowercased wire form, consistent with `==`.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(wire.count)
        var acc: UInt64 = 0
        var n = 0
        for var b in wire {
            if b >= 0x41 && b <= 0x5A { b |= 0x20 }
            acc = (acc << 8) | UInt64(b)
            n += 1
            if n == 8 { hasher.combine(acc); acc = 0; n = 0 }
        }
        hasher.combine(acc)
    }

    /// Presentation form without the trailing dot (`mail.example.com`); the root is `.`.
    /// Dots, backslashes and non-printable bytes inside labels are escaped.
    public var description: String {
        if isRoot { return "." }
        var out: [UInt8] = []
        out.reserveCapacity(wire.count)
        var i = 0
        while wire[i] != 0 {
            if i > 0 { out.append(UInt8(ascii: ".")) }
            let len = Int(wire[i])
            for k in (i + 1)...(i + len) {
                let b = wire[k]
                if b == UInt8(ascii: ".") || b == UInt8(ascii: "\\") {
                    out.append(UInt8(ascii: "\\")); out.append(b)
                } else if b < 0x21 || b > 0x7E {
                    out.append(UInt8(ascii: "\\"))
                    out.append(0x30 + b / 100); out.append(0x30 + (b / 10) % 10); out.append(0x30 + b % 10)
                } else {
                    out.append(b)
                }
            }
            i += 1 + len
        }
        return String(decoding: out, as: UTF8.self)
    }
}
