extension SMTPSession {
    /// DATA: checks the transaction and switches to payload mode after 354.
    mutating func handleData(_ argument: String) {
        guard argument.isEmpty else { return reply(Reply(501, "5.5.4", "Syntax: DATA")) }
        guard let current = transaction else { return reply(Reply(503, "5.5.1", "Error: need MAIL command")) }
        guard !current.recipients.isEmpty else { return reply(Reply(554, "5.5.1", "Error: no valid recipients")) }
        guard current.bodyType != .binaryMIME else {
            return reply(Reply(503, "5.5.1", "Error: BINARYMIME requires BDAT"))
        }
        guard !current.usedBDAT else { return reply(Reply(503, "5.5.1", "Error: DATA not permitted after BDAT")) }
        decoder = SMTPDataDecoder(maxLineLength: configuration.maxDataLineLength, maxSize: configuration.maxMessageSize)
        messageBody = []
        // Pre-size from SIZE= for typical messages only: a declaration alone claims no budget and
        // little memory (the budget is taken as bytes arrive).
        messageBody.reserveCapacity(min(current.declaredSize ?? 0, 16 * 1024))
        mode = .data
        reply(Reply(354, nil, "End data with <CR><LF>.<CR><LF>"))
    }

    /// The DATA payload ended with <CRLF>.<CRLF>: enqueue it, or reject it for the problem the decoder found.
    mutating func finishData() {
        mode = .command
        if let problem = decoder.problem {
            rejectMessage(rejection(for: problem))
        } else {
            completeMessage()
        }
    }

    /// The reply that rejects a finished message for `problem`.
    func rejection(for problem: SMTPDataDecoder.Problem) -> Reply {
        switch problem {
        case .tooLarge:
            return Reply(552, "5.3.4", "Message size exceeds fixed maximum message size")
        case .bareLineEnding:
            return Reply(550, "5.6.0", "Message contains bare CR or LF characters; lines must end in CRLF")
        case .lineTooLong:
            return Reply(550, "5.6.0", "Message contains a line longer than \(configuration.maxDataLineLength) octets")
        case .resourcesExhausted:
            return Self.resourcesExhausted
        }
    }

    /// The temporary refusal for a body the process has no memory for; the client retries later.
    static var resourcesExhausted: Reply {
        Reply(452, "4.3.1", "Insufficient system resources, try again later")
    }

    /// BDAT size [LAST] (RFC 3030). The chunk is always consumed, even when the command is refused, so that
    /// its bytes are never read as commands.
    mutating func handleBdat(_ argument: String) {
        let parts = argument.split(separator: " ")
        guard parts.count == 1 || parts.count == 2, let size = Self.parseDecimal(parts[0]),
              parts.count == 1 || parts[1].uppercased() == "LAST"
        else {
            return reply(Reply(501, "5.5.4", "Syntax: BDAT size [LAST]"))
        }
        bdatRemaining = size
        bdatLast = parts.count == 2
        mode = .bdat
        if let current = transaction {
            if current.recipients.isEmpty {
                bdatDisposition = .discard(Reply(554, "5.5.1", "Error: no valid recipients"), abortsTransaction: false)
            } else if messageBody.count + size > configuration.maxMessageSize {
                bdatDisposition = .discard(Reply(552, "5.3.4", "Message size exceeds fixed maximum message size"),
                                           abortsTransaction: true)
                messageBody = []
            } else {
                transaction?.usedBDAT = true
                bdatDisposition = .store
            }
        } else {
            bdatDisposition = .discard(Reply(503, "5.5.1", "Error: need MAIL command"), abortsTransaction: false)
        }
        chunkSize = size
    }

    /// Appends chunk bytes to the message unless the chunk is being discarded. Non-binary bodies are checked
    /// for line structure; once that fails, nothing more is stored.
    mutating func storeChunk(_ bytes: ArraySlice<UInt8>) {
        guard bdatDisposition == .store else { return }
        // The budget is taken as chunk bytes arrive, not when a size is announced (an announcement
        // costs the client nothing).
        guard reserveBody(upTo: messageBody.count + bytes.count) else {
            bdatDisposition = .discard(Self.resourcesExhausted, abortsTransaction: true)
            messageBody = []
            releaseBody()
            return
        }
        if transaction?.bodyType != .binaryMIME {
            bytes.withUnsafeBufferPointer { lineChecker.check($0) }
            if lineChecker.problem != nil {
                messageBody = []
                return
            }
        }
        messageBody.append(contentsOf: bytes)
    }

    /// The announced chunk size was consumed: acknowledge it, or complete the message after LAST.
    mutating func finishChunk() {
        mode = .command
        let disposition = bdatDisposition
        bdatDisposition = .store
        switch disposition {
        case .discard(let failure, let aborts):
            if aborts { resetTransaction() }
            reply(failure)
        case .store:
            if bdatLast {
                lineChecker.finish()
                if transaction?.bodyType != .binaryMIME, let problem = lineChecker.problem {
                    rejectMessage(rejection(for: problem))
                } else {
                    completeMessage()
                }
            } else {
                reply(Reply(250, "2.0.0", "\(chunkSize) octets received"))
            }
        }
    }

    mutating func rejectMessage(_ failure: Reply) {
        if let queueID = transaction?.queueID {
            pending.append(.log(.messageRejected(queueID: queueID, code: failure.code,
                                                 enhancedCode: failure.enhancedCode ?? "", reason: failure.text)))
        }
        resetTransaction()
        reply(failure)
    }

    /// Builds envelope and stored bytes and asks the shell to enqueue them.
    mutating func completeMessage() {
        guard let current = transaction else { return }
        // RFC 5321 6.3: a message that has passed this many relays is looping.
        if HopCount.receivedFields(in: messageBody, limit: configuration.maxHops) > configuration.maxHops {
            return rejectMessage(Reply(554, "5.4.6", "Too many hops"))
        }
        // Unauthenticated mail from outside (the relay port) may carry a forged sender: a bounce
        // returns its headers only (RET=HDRS), so that a forged sender receives no full body.
        let dsnReturn: DSNReturn? = authenticatedUser == nil && !context.isTrustedNetwork ? .headers : current.dsnReturn
        let envelope = Envelope(
            queueID: current.queueID, mailFrom: current.mailFrom, recipients: current.recipients,
            bodyType: current.bodyType, smtpUTF8: current.smtpUTF8, declaredSize: current.declaredSize,
            dsnReturn: dsnReturn, envelopeID: current.envelopeID,
            authenticatedUser: authenticatedUser, tenant: tenant,
            clientAddress: context.clientAddress, clientPort: context.clientPort, heloName: heloName ?? "",
            tlsInfo: context.isTLS ? context.tlsInfo : nil, portKind: configuration.portKind,
            receivedAt: environment.now())
        let protocolName = MessageAssembler.protocolName(
            extended: extended, tls: context.isTLS, authenticated: authenticatedUser != nil, smtpUTF8: current.smtpUTF8)
        let message = MessageAssembler.assemble(
            body: messageBody, envelope: envelope, hostname: configuration.hostname, protocolName: protocolName,
            addSubmissionFields: configuration.portKind != .relay)
        pending.append(.log(.messageReceived(queueID: current.queueID, sender: current.mailFrom?.address ?? "",
                                             recipients: current.recipients.count, size: messageBody.count)))
        messageBody = []
        mode = .awaitingEnqueue
        terminal = .enqueue(envelope, message)
    }
}
