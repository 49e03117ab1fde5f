/// Reads how long a deferral asks the sender to wait ("retry in 5 minutes", "try again in 300
/// seconds", "Greylisted for 60 seconds", "please wait 2 min") and chooses a first retry delay for
/// greylisting when the receiver does not say.
///
/// Pure; any thread may call it.
public enum RetryHint {
    /// Delay used for a greylisting deferral that names no wait (seconds).
    public static let defaultGreylistDelay = 300

    /// Longest wait accepted from a reply (one day); longer values are clamped.
    public static let maximumDelay = 86_400

    /// Seconds requested by `text`, or nil when it names no wait. Looks for a number directly
    /// after "in", "for", "after", "wait", "within", "retry" or "delay" and followed by a unit
    /// (s, sec, seconds, m, min, minutes, h, hours; glued forms like "300s" too), or a sqlgrey
    /// countdown "(00:05:00 left". Numbers without a unit are ignored. Pure; any caller.
    public static func seconds(in text: String) -> Int? {
        let words = tokenize(text)
        let introducers: Set<String> = ["in", "for", "after", "wait", "within", "retry", "delay"]
        var index = 0
        while index < words.count {
            defer { index += 1 }
            guard index > 0, introducers.contains(words[index - 1]) else { continue }
            let word = words[index]
            // "300s", "5m", "10min" glued forms.
            if let (value, unit) = splitNumber(word) {
                if let multiplier = unit.isEmpty ? nextUnit(words, index + 1) : unitSeconds(unit) {
                    return clamp(value * multiplier)
                }
            }
        }
        return countdown(in: text)
    }

    /// The delay to wait before retrying after a deferral: the wait the reply names, or for
    /// greylisting `greylistDefault`, else nil (use the retry schedule). Pure; any caller.
    public static func delay(for reply: SMTPReply, classification: BounceClassification,
                             greylistDefault: Int = defaultGreylistDelay) -> Int? {
        guard classification.hardness == .soft else { return nil }
        if let requested = seconds(in: reply.text) { return requested }
        return classification.bounceClass == .greylisted ? greylistDefault : nil
    }

    private static func clamp(_ value: Int) -> Int? {
        guard value > 0 else { return nil }
        return min(value, maximumDelay)
    }

    private static func tokenize(_ text: String) -> [String] {
        var words: [String] = []
        var current = ""
        for scalar in text.lowercased().unicodeScalars {
            if (scalar >= "a" && scalar <= "z") || (scalar >= "0" && scalar <= "9") {
                current.unicodeScalars.append(scalar)
            } else if !current.isEmpty {
                words.append(current)
                current = ""
            }
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    private static func splitNumber(_ word: String) -> (Int, String)? {
        let digits = word.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, digits.count <= 6, let value = Int(digits) else { return nil }
        return (value, String(word.dropFirst(digits.count)))
    }

    private static func nextUnit(_ words: [String], _ index: Int) -> Int? {
        guard index < words.count else { return nil }
        return unitSeconds(words[index])
    }

    private static func unitSeconds(_ unit: String) -> Int? {
        switch unit {
        case "s", "sec", "secs", "second", "seconds": return 1
        case "m", "min", "mins", "minute", "minutes": return 60
        case "h", "hr", "hrs", "hour", "hours": return 3600
        default: return nil
        }
    }

    /// "(00:05:00 left" style countdowns (sqlgrey).
    private static func countdown(in text: String) -> Int? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 13 else { return nil }
        for start in 0...(bytes.count - 8) {
            let slice = bytes[start..<(start + 8)]
            let isTime = slice.enumerated().allSatisfy { offset, byte in
                offset == 2 || offset == 5 ? byte == UInt8(ascii: ":") : (byte >= 48 && byte <= 57)
            }
            guard isTime else { continue }
            let rest = String(decoding: bytes[(start + 8)...].prefix(6), as: UTF8.self)
            guard rest.hasPrefix(" left") else { continue }
            func number(_ at: Int) -> Int { Int(bytes[start + at] - 48) * 10 + Int(bytes[start + at + 1] - 48) }
            return clamp(number(0) * 3600 + number(3) * 60 + number(6))
        }
        return nil
    }
}
