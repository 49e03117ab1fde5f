/// An RFC 3463 enhanced mail system status code `class.subject.detail`, e.g. `5.1.1`.
///
/// Pure value; any thread may use it.
public struct EnhancedStatusCode: Sendable, Hashable, CustomStringConvertible {
    /// 2 (success), 4 (persistent transient failure) or 5 (permanent failure).
    public var statusClass: Int
    /// The subject (0...999), e.g. 1 for addressing.
    public var subject: Int
    /// The detail (0...999), e.g. 1 for "bad destination mailbox".
    public var detail: Int

    /// Creates a code from its three parts. Pure; any caller.
    public init(_ statusClass: Int, _ subject: Int, _ detail: Int) {
        self.statusClass = statusClass
        self.subject = subject
        self.detail = detail
    }

    /// Parses "5.1.1" (the whole string must be the code). Returns nil when malformed. Pure; any caller.
    public init?(_ text: String) {
        let bytes = Array(text.utf8)
        guard let (code, length) = EnhancedStatusCode.parse(bytes[...]), length == bytes.count else { return nil }
        self = code
    }

    /// Parses a code at the start of `bytes`; returns it and the number of bytes it spans.
    /// Accepts class 2, 4 or 5 and subject/detail of one to three digits. Pure; any caller.
    public static func parse(_ bytes: ArraySlice<UInt8>) -> (EnhancedStatusCode, Int)? {
        var index = bytes.startIndex
        guard index < bytes.endIndex else { return nil }
        let first = bytes[index]
        guard first == UInt8(ascii: "2") || first == UInt8(ascii: "4") || first == UInt8(ascii: "5") else { return nil }
        index += 1
        var parts = [Int(first - 48), 0, 0]
        for part in 1...2 {
            guard index < bytes.endIndex, bytes[index] == UInt8(ascii: ".") else { return nil }
            index += 1
            var digits = 0
            var value = 0
            while index < bytes.endIndex, bytes[index] >= 48, bytes[index] <= 57, digits < 3 {
                value = value * 10 + Int(bytes[index] - 48)
                digits += 1
                index += 1
            }
            guard digits > 0 else { return nil }
            parts[part] = value
        }
        // A fourth digit or a further dot means this is not a status code (e.g. an IP address).
        if index < bytes.endIndex, bytes[index] == UInt8(ascii: ".") || (bytes[index] >= 48 && bytes[index] <= 57) {
            return nil
        }
        return (EnhancedStatusCode(parts[0], parts[1], parts[2]), index - bytes.startIndex)
    }

    /// "5.1.1". Pure; any caller.
    public var description: String { "\(statusClass).\(subject).\(detail)" }

    /// True for class 2. Pure; any caller.
    public var isSuccess: Bool { statusClass == 2 }
    /// True for class 4. Pure; any caller.
    public var isTransient: Bool { statusClass == 4 }
    /// True for class 5. Pure; any caller.
    public var isPermanent: Bool { statusClass == 5 }
}
