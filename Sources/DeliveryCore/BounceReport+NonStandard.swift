extension BounceReport {
    /// What the free-text scan found.
    struct FreeText {
        var recipients: [Recipient] = []
        var reportingMTA = ""
        var quotedMessageID: String? = nil
    }

    /// Lines after which the bounce quotes the returned message (lower case, `contains`).
    static let quoteMarkers = [
        "below this line is a copy of the message", "original message headers", "original message follows",
        "this is a copy of the message", "----- original message -----", "header of the original message",
        "message headers follow", "the original message was received", "----- the following addresses had",
        "----- transcript of session follows",
    ]

    /// Free-text bounces: every line naming an address (alone, `<addr>:` as qmail writes it,
    /// `Name<mailto:addr>` as Exchange does) opens a recipient whose reason is the text up to the
    /// next such line; the first SMTP reply code and enhanced code in that reason are taken. The
    /// part after a quote marker (the returned message) is searched only for its Message-ID.
    static func nonStandard(_ text: String) -> FreeText {
        var out = FreeText()
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.trimmingBlanks }
        let lower = text.lowercased()
        let transient = ["will continue trying", "will retry", "delivery is delayed", "has been delayed",
                         "still trying", "temporary failure", "this is not a permanent"].contains { lower.containsBytes($0) }
        var quoted = false
        var current: (address: String, lines: [String])? = nil
        var found: [(address: String, lines: [String])] = []
        for (i, line) in lines.enumerated() {
            let l = line.lowercased()
            if l.hasPrefix("message-id:"), out.quotedMessageID == nil, quoted || i > 0 {
                out.quotedMessageID = angleless(String(line.dropFirst("message-id:".count)))
            }
            if quoted { continue }
            if quoteMarkers.contains(where: { l.containsBytes($0) && !l.hasPrefix("-----  the following addresses had") }) &&
               !l.containsBytes("permanent fatal errors") {
                if let c = current { found.append(c); current = nil }
                quoted = !l.containsBytes("transcript of session")
                continue
            }
            if l.hasPrefix("generating server:") { out.reportingMTA = line.dropFirst("generating server:".count).trimmingBlanks }
            if let r = l.firstRange(of: "qmail-send program at ") {
                out.reportingMTA = String(l[r.upperBound...]).trimming(".")
            }
            if let address = recipientLine(line) {
                if let c = current { found.append(c) }
                current = (address, [])
            } else if current != nil, !line.isEmpty || !(current?.lines.isEmpty ?? true) {
                current?.lines.append(line)
            }
        }
        if let c = current { found.append(c) }
        var order: [String] = []
        var best: [String: Recipient] = [:]
        for (address, reasonLines) in found {
            let reason = reasonLines.prefix(8).joined(separator: " ").trimmingBlanks
            let (code, status) = codes(in: reason)
            let r = Recipient(address: address, action: transient ? .delayed : .failed, status: status, smtpCode: code,
                              diagnostic: reason, remoteMTA: out.reportingMTA)
            if let existing = best[address] {
                // Exchange names each recipient twice; keep the mention that carries the reply code.
                func score(_ x: Recipient) -> Int { (x.smtpCode != nil ? 2 : 0) + (x.status != nil ? 1 : 0) }
                if score(r) > score(existing) { best[address] = r }
            } else {
                order.append(address)
                best[address] = r
            }
        }
        out.recipients = order.compactMap { best[$0] }.filter { $0.smtpCode != nil || $0.status != nil }
        return out
    }

    /// The address a line introduces, when the line is (nearly) only an address.
    static func recipientLine(_ line: String) -> String? {
        guard line.containsBytes("@"), line.count <= 160, let address = firstAddress(in: line) else { return nil }
        let local = address.split(separator: "@").first.map(String.init) ?? ""
        guard !["mailer-daemon", "postmaster"].contains(local) else { return nil }
        // A sentence naming the failed address in angle brackets ("There was an error delivering
        // your mail to <a@b>.", "could not be delivered to <a@b>").
        let lower = line.lowercased()
        if lower.containsBytes("<\(address)>"), ["deliver", "undeliverable", "failed", "rejected"].contains(where: { lower.containsBytes($0) }),
           !lower.hasPrefix("to:"), !lower.hasPrefix("from:"), codes(in: line) == (nil, nil) {
            return address
        }
        // What is left besides the address must be short: a display name, brackets, a colon.
        var rest = line.lowercased().replacingAll(address, with: "")
        rest = rest.replacingAll("mailto:", with: "")
        let words = rest.split(whereSeparator: { " \t<>:()\"'".contains($0) })
        guard words.count <= 3 else { return nil }
        return address
    }

    /// The first SMTP reply code (`550`, `550-`, `#550`) and the first enhanced status code in `text`.
    static func codes(in text: String) -> (Int?, EnhancedStatusCode?) {
        let b = Array(text.utf8)
        var code: Int? = nil
        var status: EnhancedStatusCode? = nil
        func isDigit(_ x: UInt8) -> Bool { x >= 0x30 && x <= 0x39 }
        var i = 0
        while i < b.count && (code == nil || status == nil) {
            let boundary = i == 0 || !(isDigit(b[i - 1]) || b[i - 1] == 0x2E)
            if boundary, status == nil, let (s, n) = EnhancedStatusCode.parse(b[i...]) {
                status = s
                i += n
                continue
            }
            if boundary, code == nil, i + 2 < b.count, b[i] == 0x34 || b[i] == 0x35, isDigit(b[i + 1]), isDigit(b[i + 2]),
               i + 3 == b.count || b[i + 3] == 0x20 || b[i + 3] == 0x2D {
                code = Int(b[i] - 0x30) * 100 + Int(b[i + 1] - 0x30) * 10 + Int(b[i + 2] - 0x30)
                i += 3
                continue
            }
            i += 1
        }
        return (code, status)
    }
}

extension String {
    /// Every occurrence of `target` replaced (no Foundation in this module).
    func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var out = ""
        var rest = self[...]
        while let r = rest.firstRange(of: target) {
            out += rest[..<r.lowerBound]
            out += replacement
            rest = rest[r.upperBound...]
        }
        return out + rest
    }
}
