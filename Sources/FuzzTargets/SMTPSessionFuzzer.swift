import Foundation
import SMTPCore

/// Fuzz target for the SMTP server session: the input is what a client sends (any commands, pipelined,
/// DATA, BDAT, AUTH, STARTTLS), fed to a pure `SMTPSession` in chunks, with the shell's side simulated
/// (TLS succeeds, AUTH and enqueue results chosen by the first byte). Pure.
///
/// Input: byte 0 = options (port kind, TLS, limits, trust, auth verdict), byte 1 = chunk size (0: all at
/// once), rest = client bytes. Invariants: every `.send` is whole reply lines; no message is enqueued
/// without recipients, over the recipient limit, from an unauthenticated untrusted submission client, or
/// to a foreign domain when the client may not relay; the body budget is fully given back at the end.
public enum SMTPSessionFuzzer {
    /// Runs one input; traps on a broken invariant.
    public static func run(_ data: [UInt8]) {
        var input = FuzzInput(data)
        let options = input.byte()
        let chunkSize = Int(input.byte() % 97)
        let portKinds: [SMTPSession.PortKind] = [.submission, .relay, .smtps, .relay]
        let portKind = portKinds[Int(options & 3)]
        let configuration = SMTPSession.Configuration(
            hostname: "mx.example.test", portKind: portKind, tlsAvailable: options & 4 != 0,
            maxMessageSize: options & 8 != 0 ? 300 : 20_000, maxRecipients: 4, maxErrors: 6, maxCommands: 300,
            maxCommandLineLength: 512, maxAuthLineLength: 2048, maxDataLineLength: options & 16 != 0 ? 40 : 998,
            localDomains: ["example.test", "local.test"], authMechanisms: ["PLAIN", "LOGIN", "XOAUTH2"])
        let trusted = options & 32 != 0
        let context = SMTPSession.ConnectionContext(
            clientAddress: "192.0.2.7", clientPort: 40_000, isTrustedNetwork: trusted,
            isTLS: portKind == .smtps, tlsInfo: portKind == .smtps ? SMTPSession.TLSInfo(version: "TLSv1.3", cipher: "X") : nil,
            sessionID: "fuzz")
        let budget = BodyMemoryBudget(limit: options & 64 != 0 ? 512 : 1 << 20)
        let environment = SMTPSession.Environment(
            now: { Date(timeIntervalSince1970: 1_700_000_000) }, makeQueueID: { "FUZZQ1" }, bodyBudget: budget)
        var session = SMTPSession(configuration: configuration, context: context, environment: environment)
        let authSucceeds = options & 128 != 0
        var enqueueCount = 0

        var actions = session.start()
        var pieces = FuzzInput.chunks(input.rest, size: chunkSize)[...]
        while true {
            var followUps: [SMTPSession.Action] = []
            for action in actions {
                switch action {
                case .send(let bytes):
                    checkReplies(bytes)
                case .startTLS:
                    followUps += session.tlsEstablished(SMTPSession.TLSInfo(version: "TLSv1.3", cipher: "X"))
                case .authenticate(let request):
                    followUps += session.authenticationCompleted(
                        authSucceeds ? .success(user: request.username, tenant: nil) : .failure)
                case .enqueue(let envelope, let message):
                    check(envelope, message: message, configuration: configuration, trusted: trusted)
                    enqueueCount += 1
                    let results: [SMTPSession.EnqueueResult] = [.queued("FUZZQ1"), .storageFull, .failed(reason: "x"), .unavailable]
                    followUps += session.enqueueCompleted(results[enqueueCount % results.count])
                case .log, .close:
                    break
                }
            }
            if !followUps.isEmpty {
                actions = followUps
                continue
            }
            guard !session.isClosed, let piece = pieces.popFirst() else { break }
            actions = session.receive(piece)
        }
        if !session.isClosed { checkSends(session.timedOut()) }
        session.connectionClosed()
        precondition(budget.inUse == 0, "body budget not given back: \(budget.inUse)")
    }

    static func checkSends(_ actions: [SMTPSession.Action]) {
        for case .send(let bytes) in actions { checkReplies(bytes) }
    }

    /// Replies are CRLF-terminated lines `ddd-text` / `ddd text`, the last of each reply with a space.
    static func checkReplies(_ bytes: [UInt8]) {
        precondition(!bytes.isEmpty && bytes.suffix(2) == [0x0D, 0x0A], "reply not CRLF-terminated")
        for line in bytes.split(separator: 0x0A) {
            precondition(line.count >= 5 && line.last == 0x0D, "reply line too short or bare LF")
            let start = line.startIndex
            precondition(line[start..<start + 3].allSatisfy { $0 >= 0x30 && $0 <= 0x39 }, "reply code not 3 digits")
            precondition(line[start + 3] == 0x20 || line[start + 3] == 0x2D, "reply separator")
            precondition(!line.dropLast().contains(0x0D), "CR inside a reply line")
        }
    }

    static func check(_ envelope: SMTPSession.Envelope, message: [UInt8], configuration: SMTPSession.Configuration,
                      trusted: Bool) {
        precondition(!envelope.recipients.isEmpty, "message enqueued without recipients")
        precondition(envelope.recipients.count <= configuration.maxRecipients, "too many recipients enqueued")
        let authenticated = envelope.authenticatedUser != nil
        if configuration.portKind != .relay {
            precondition(authenticated || trusted, "unauthenticated submission enqueued")
        }
        if !authenticated && !trusted {
            for recipient in envelope.recipients {
                precondition(recipient.address.domain == configuration.hostname
                             || configuration.localDomains.contains(recipient.address.normalizedDomain),
                             "open relay: \(recipient.address)")
            }
        }
        precondition(message.starts(with: Array("Received: ".utf8)), "stored message lacks the trace header")
        _ = MessageAssembler.headerSection(of: message, contains: "message-id")
    }
}
