/// Counts the `Received:` trace fields of a message's header section (RFC 5321 §6.3: a server
/// detects a mail loop by counting them). Pure; any thread.
enum HopCount {
    /// The number of `Received` fields in the header section of `message` (CRLF or LF lines, up to
    /// the first empty line), stopping early once it exceeds `limit`. Field names are matched without
    /// regard to case, and white space before the colon (RFC 5322 obsolete syntax) is tolerated.
    /// Does not block.
    static func receivedFields(in message: [UInt8], limit: Int = .max) -> Int {
        var count = 0
        var index = 0
        let end = message.count
        while index < end {
            // `index` is at the start of a line.
            if message[index] == Byte.lf || (message[index] == Byte.cr && index + 1 < end && message[index + 1] == Byte.lf) {
                break // the empty line that ends the header section
            }
            if isReceived(message, at: index) {
                count += 1
                if count > limit { return count }
            }
            guard let newline = message[index...].firstIndex(of: Byte.lf) else { break }
            index = newline + 1
        }
        return count
    }

    private static let name = Array("received".utf8)

    private static func isReceived(_ message: [UInt8], at start: Int) -> Bool {
        guard message.count - start > name.count else { return false }
        for (offset, letter) in name.enumerated() where message[start + offset] | 0x20 != letter {
            return false
        }
        var index = start + name.count
        while index < message.count, message[index] == Byte.space || message[index] == Byte.tab { index += 1 }
        return index < message.count && message[index] == Byte.colon
    }
}
