extension SMTPSession {
    /// Whether the client may start a transaction: submission ports require AUTH unless trusted.
    var mayTransact: Bool {
        configuration.portKind == .relay || authenticatedUser != nil || context.isTrustedNetwork
    }

    /// Whether the client may send to any domain (not only `localDomains`).
    var mayRelay: Bool { authenticatedUser != nil || context.isTrustedNetwork }

    /// The SASL mechanisms offered: configured ones that this module implements.
    var offeredMechanisms: [String] {
        configuration.authMechanisms.map { $0.uppercased() }.filter { ["PLAIN", "LOGIN", "XOAUTH2", "OAUTHBEARER"].contains($0) }
    }

    /// Dispatches one command line.
    mutating func handleCommandLine(_ line: Line) {
        guard case .line(let bytes) = line else {
            reply(Reply(500, "5.5.2", "Error: line too long"))
            return
        }
        let command: SMTPCommand
        do {
            command = try SMTPCommand.parse(bytes)
        } catch {
            reply(Reply(501, "5.5.4", "Syntax error: invalid UTF-8"))
            return
        }
        guard let verb = command.verb else {
            reply(Reply(500, "5.5.2", "Error: command not recognized"))
            return
        }
        // ESMTP parameters lengthen MAIL and RCPT: SIZE +26 (RFC 1870), ENVID/RET +100 and ORCPT/NOTIFY +500
        // (RFC 3461), AUTH= +500 (RFC 4954), BODY/SMTPUTF8 a few more.
        let allowance = verb == .mail ? 650 : (verb == .rcpt ? 500 : 0)
        if verb != .auth && bytes.count + 2 > configuration.maxCommandLineLength + allowance {
            reply(Reply(500, "5.5.2", "Error: line too long"))
            return
        }
        let argument = command.argument
        switch verb {
        case .ehlo: handleHelo(argument, extended: true)
        case .helo: handleHelo(argument, extended: false)
        case .mail: handleMail(argument)
        case .rcpt: handleRcpt(argument)
        case .data: handleData(argument)
        case .bdat: handleBdat(argument)
        case .auth: handleAuth(argument)
        case .starttls: handleStartTLS(argument)
        case .rset:
            guard argument.isEmpty else { return reply(Reply(501, "5.5.4", "Syntax: RSET")) }
            resetTransaction()
            reply(Reply(250, "2.0.0", "OK"))
        case .noop:
            reply(Reply(250, "2.0.0", "OK"))
        case .quit:
            close(Reply(221, "2.0.0", "Bye"), reason: "quit")
        case .vrfy:
            guard !argument.isEmpty else { return reply(Reply(501, "5.5.4", "Syntax: VRFY address")) }
            reply(Reply(252, "2.5.0", "Cannot VRFY user, but will accept message and attempt delivery"))
        case .expn:
            reply(Reply(502, "5.5.1", "EXPN not available"))
        case .help:
            reply(Reply(214, "2.0.0", "Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS AUTH"))
        }
    }

    mutating func handleHelo(_ argument: String, extended: Bool) {
        let name = argument.split(separator: " ").first.map(String.init) ?? ""
        guard !name.isEmpty, name.utf8.count <= 255 else {
            return reply(Reply(501, "5.5.4", "Syntax: \(extended ? "EHLO" : "HELO") hostname"))
        }
        resetTransaction()
        heloName = name
        self.extended = extended
        pending.append(.log(.helo(name: name, extended: extended)))
        guard extended else { return reply(Reply(250, nil, configuration.hostname)) }
        var lines = [configuration.hostname, "PIPELINING", "SIZE \(configuration.maxMessageSize)", "8BITMIME",
                     "SMTPUTF8", "ENHANCEDSTATUSCODES"]
        if !context.isTLS && configuration.tlsAvailable { lines.append("STARTTLS") }
        if context.isTLS && !offeredMechanisms.isEmpty { lines.append("AUTH " + offeredMechanisms.joined(separator: " ")) }
        lines += ["CHUNKING", "BINARYMIME", "DSN"]
        reply(Reply(250, nil, lines: lines))
    }

    mutating func handleStartTLS(_ argument: String) {
        guard argument.isEmpty else { return reply(Reply(501, "5.5.4", "Syntax: STARTTLS")) }
        guard !context.isTLS else { return reply(Reply(503, "5.5.1", "TLS already active")) }
        guard configuration.tlsAvailable else { return reply(Reply(454, "4.7.0", "TLS not available")) }
        reply(Reply(220, "2.0.0", "Ready to start TLS"))
        // RFC 3207 / CVE-2011-0411: nothing pipelined after STARTTLS may be acted on.
        inbox.removeAll(keepingCapacity: true)
        inboxStart = 0
        resetTransaction()
        mode = .awaitingTLS
        terminal = .startTLS
    }

    mutating func handleMail(_ argument: String) {
        guard heloName != nil else { return reply(Reply(503, "5.5.1", "Error: send HELO/EHLO first")) }
        guard transaction == nil else { return reply(Reply(503, "5.5.1", "Error: nested MAIL command")) }
        guard mayTransact else { return reply(Reply(530, "5.7.0", "Authentication required")) }
        let parsed: SMTPCommand.PathArgument
        do {
            parsed = try SMTPCommand.PathArgument.parse(argument, prefix: "FROM:")
        } catch {
            return reply(Reply(501, "5.5.4", "Syntax: MAIL FROM:<address>"))
        }
        guard extended || parsed.parameters.isEmpty else {
            return reply(Reply(555, "5.5.4", "MAIL parameters require EHLO"))
        }
        var draft = Transaction(queueID: "")
        var seen: Set<String> = []
        for parameter in parsed.parameters {
            guard seen.insert(parameter.keyword).inserted else {
                return reply(Reply(501, "5.5.4", "Duplicate \(parameter.keyword) parameter"))
            }
            let value = parameter.value
            switch parameter.keyword {
            case "SIZE":
                guard let size = value.flatMap(Self.parseDecimal) else {
                    return reply(Reply(501, "5.5.4", "Invalid SIZE value"))
                }
                guard size <= configuration.maxMessageSize else {
                    return reply(Reply(552, "5.3.4", "Message size exceeds fixed maximum message size"))
                }
                draft.declaredSize = size
            case "BODY":
                guard let body = value.flatMap({ BodyType(rawValue: $0.uppercased()) }) else {
                    return reply(Reply(501, "5.5.4", "Invalid BODY value"))
                }
                draft.bodyType = body
            case "SMTPUTF8":
                guard value == nil else { return reply(Reply(501, "5.5.4", "SMTPUTF8 takes no value")) }
                draft.smtpUTF8 = true
            case "RET":
                guard let ret = value.flatMap({ DSNReturn(rawValue: $0.uppercased()) }) else {
                    return reply(Reply(501, "5.5.4", "Invalid RET value"))
                }
                draft.dsnReturn = ret
            case "ENVID":
                guard let value, value.utf8.count <= 100, let decoded = SMTPXText.decode(value) else {
                    return reply(Reply(501, "5.5.4", "Invalid ENVID value"))
                }
                draft.envelopeID = decoded
            case "AUTH":
                // RFC 4954 5: accepted and not trusted; the authenticated identity comes from AUTH.
                guard value != nil else { return reply(Reply(501, "5.5.4", "Invalid AUTH value")) }
            default:
                return reply(Reply(555, "5.5.4", "Unsupported MAIL parameter \(parameter.keyword)"))
            }
        }
        do {
            draft.mailFrom = try SMTPAddress.parsePath(Self.bracketed(parsed.path), allowUTF8: draft.smtpUTF8)
        } catch {
            return reply(addressFailure(error, sender: true))
        }
        if let refusal = admissionRefusal(.mail(user: authenticatedUser, tenant: tenant)) {
            return reply(refusal, countsAsError: false)
        }
        draft.queueID = environment.makeQueueID()
        transaction = draft
        lineChecker = SMTPLineChecker(maxLineLength: configuration.maxDataLineLength)
        reply(Reply(250, "2.1.0", "Sender OK"))
    }

    mutating func handleRcpt(_ argument: String) {
        guard let current = transaction else { return reply(Reply(503, "5.5.1", "Error: need MAIL command")) }
        let parsed: SMTPCommand.PathArgument
        do {
            parsed = try SMTPCommand.PathArgument.parse(argument, prefix: "TO:")
        } catch {
            return reply(Reply(501, "5.5.4", "Syntax: RCPT TO:<address>"))
        }
        guard extended || parsed.parameters.isEmpty else {
            return reply(Reply(555, "5.5.4", "RCPT parameters require EHLO"))
        }
        var recipient = Recipient(address: SMTPAddress(localPart: "", domain: ""))
        var seen: Set<String> = []
        for parameter in parsed.parameters {
            guard seen.insert(parameter.keyword).inserted else {
                return reply(Reply(501, "5.5.4", "Duplicate \(parameter.keyword) parameter"))
            }
            switch parameter.keyword {
            case "NOTIFY":
                guard let notify = parameter.value.flatMap(Self.parseNotify) else {
                    return reply(Reply(501, "5.5.4", "Invalid NOTIFY value"))
                }
                recipient.notify = notify
            case "ORCPT":
                guard let original = parameter.value.flatMap(Self.parseOriginalRecipient) else {
                    return reply(Reply(501, "5.5.4", "Invalid ORCPT value"))
                }
                recipient.originalRecipient = original
            default:
                return reply(Reply(555, "5.5.4", "Unsupported RCPT parameter \(parameter.keyword)"))
            }
        }
        // RFC 5321 4.5.1: <postmaster> without a domain must be accepted; it means this host's postmaster.
        let isPostmaster = parsed.path.lowercased() == "<postmaster>"
        if isPostmaster {
            recipient.address = SMTPAddress(localPart: String(parsed.path.dropFirst().dropLast()), domain: configuration.hostname)
        } else {
            do {
                guard let address = try SMTPAddress.parsePath(Self.bracketed(parsed.path), allowUTF8: current.smtpUTF8) else {
                    return reply(Reply(501, "5.1.3", "Bad recipient address syntax"))
                }
                recipient.address = address
            } catch {
                return reply(addressFailure(error, sender: false))
            }
        }
        guard current.recipients.count < configuration.maxRecipients else {
            // Not a client error: pipelining clients send all RCPTs and retry the rest later.
            return reply(Reply(452, "4.5.3", "Too many recipients"), countsAsError: false)
        }
        if !isPostmaster, configuration.portKind == .relay, let verdict = environment.recipientCheck?(recipient.address.address) {
            guard verdict else { return reply(Reply(550, "5.1.1", "Recipient address rejected: no such bounce address")) }
            transaction?.recipients.append(recipient)
            return reply(Reply(250, "2.1.5", "Recipient OK"))
        }
        guard isPostmaster || mayRelay || configuration.localDomains.contains(recipient.address.normalizedDomain) else {
            return reply(Reply(554, "5.7.1", "Relay access denied"))
        }
        if let refusal = admissionRefusal(.recipient(user: authenticatedUser, tenant: tenant, accepted: current.recipients.count)) {
            return reply(refusal, countsAsError: false)
        }
        transaction?.recipients.append(recipient)
        reply(Reply(250, "2.1.5", "Recipient OK"))
    }

    func addressFailure(_ error: SMTPAddress.ParseError, sender: Bool) -> Reply {
        if error.code == .nonASCII {
            return Reply(553, "5.6.7", "Non-ASCII address requires SMTPUTF8")
        }
        return sender ? Reply(501, "5.1.7", "Bad sender address syntax")
                      : Reply(501, "5.1.3", "Bad recipient address syntax")
    }

    /// The path with angle brackets added when the client sent a bare mailbox (tolerated, as Postfix does).
    static func bracketed(_ path: String) -> String {
        path.hasPrefix("<") ? path : "<" + path + ">"
    }

    /// A non-negative decimal of at most 18 digits.
    static func parseDecimal<Text: StringProtocol>(_ text: Text) -> Int? {
        guard !text.isEmpty, text.utf8.count <= 18, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return Int(text)
    }

    /// NOTIFY=NEVER or a comma list of SUCCESS, FAILURE, DELAY (RFC 3461 4.1).
    static func parseNotify(_ value: String) -> DSNNotify? {
        let items = value.uppercased().split(separator: ",", omittingEmptySubsequences: false)
        if items == ["NEVER"] { return .never }
        var notify: DSNNotify = []
        for item in items {
            switch item {
            case "SUCCESS": notify.insert(.success)
            case "FAILURE": notify.insert(.failure)
            case "DELAY": notify.insert(.delay)
            default: return nil
            }
        }
        return notify
    }

    /// ORCPT=addr-type;xtext (RFC 3461 4.2).
    static func parseOriginalRecipient(_ value: String) -> OriginalRecipient? {
        guard let semicolon = value.firstIndex(of: ";") else { return nil }
        let type = value[..<semicolon]
        guard !type.isEmpty, type.utf8.allSatisfy({ SMTPAddress.isAText($0) }),
              let address = SMTPXText.decode(String(value[value.index(after: semicolon)...])), !address.isEmpty
        else { return nil }
        return OriginalRecipient(addressType: String(type), address: address)
    }
}
