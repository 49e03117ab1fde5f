extension BounceClassifier {
    /// An enhanced status code quoted inside the reply text when none leads it, e.g. qmail's
    /// "no mailbox here by that name. (#5.1.1)" or "… rejected: 5.7.1 …". Only a code whose class
    /// matches the reply code's (RFC 3463: the class repeats the reply's) and that stands alone
    /// (after a space, `#`, `(` or `[`, and not part of a longer dotted number) counts. Pure; any caller.
    public static func embeddedEnhancedCode(in bytes: [UInt8], replyCode: Int) -> EnhancedStatusCode? {
        let wanted = replyCode / 100
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            let boundary = index == 0 || [UInt8(ascii: " "), UInt8(ascii: "#"), UInt8(ascii: "("), UInt8(ascii: "[")].contains(bytes[index - 1])
            if boundary, Int(byte) - 48 == wanted, let (code, _) = EnhancedStatusCode.parse(bytes[index...]) { return code }
            index += 1
        }
        return nil
    }
}
