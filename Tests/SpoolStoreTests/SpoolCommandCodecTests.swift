import Testing
@testable import SpoolStore

@Suite("SpoolCommand binary encoding")
struct SpoolCommandCodecTests {
    static let samples: [SpoolCommand] = [
        .enqueue(SpoolCommand.Enqueue(
            queueID: "Q1", messageID: "m1@x", tenant: "acme", authUser: "app", clientIP: "2001:db8::1",
            sender: "", recipients: [
                SpoolCommand.Recipient(address: "a@example.org", notify: [.success, .failure],
                                       originalRecipient: "rfc822;a@example.org"),
                SpoolCommand.Recipient(address: "ü@exämple.org", notify: [.never]),
            ],
            receivedAt: -5, bodyType: .eightBitMIME, flags: [.smtpUTF8, .requireTLS], dsnEnvelopeID: "env-1",
            dsnReturn: .headers, body: [0, 1, 2, 255, 13, 10])),
        .claim(SpoolCommand.Claim(queueID: "Q1", owner: "n1", attempt: 3, issuedAt: 10, expiresAt: 20)),
        .outcome(SpoolCommand.Outcome(queueID: "Q1", attempt: 3, timestamp: 99, results: [
            SpoolCommand.RecipientResult(recipient: "a@example.org", disposition: .delivered, smtpCode: 250,
                                         enhancedCode: "2.0.0", response: "ok", remoteHost: "mx.example.org"),
            SpoolCommand.RecipientResult(recipient: "b@example.org", disposition: .deferred(until: 12345),
                                         smtpCode: 451, enhancedCode: "4.7.1", response: "greylisted"),
            SpoolCommand.RecipientResult(recipient: "c@example.org", disposition: .bounced, smtpCode: 550,
                                         bounceClass: "bad-mailbox"),
            SpoolCommand.RecipientResult(recipient: "d@example.org", disposition: .suppressed),
        ])),
        .suppress(SpoolCommand.Suppression(tenant: "acme", address: "x@y", reason: "hard-bounce", createdAt: 7)),
        .unsuppress(tenant: "acme", address: "x@y"),
        .delete(SpoolCommand.Delete(queueID: "Q1", reason: "operator", timestamp: 8)),
        .reschedule(SpoolCommand.Reschedule(queueID: "Q1", at: 9)),
        .pruneEvents(SpoolCommand.PruneEvents(before: -3, maxCount: 77)),
        .pruneEvents(SpoolCommand.PruneEvents(before: 5, maxCount: 10, tenant: "acme")),
        .complaint(SpoolCommand.Complaint(tenant: "acme", recipient: "r@x", sender: "s@y", messageID: "m@z",
                                          queueID: "Q9", feedback: "abuse", timestamp: 11, suppress: false)),
        .asyncBounce(SpoolCommand.AsyncBounce(tenant: "acme", recipient: "r@x", sender: "s@y", messageID: "m@z", queueID: "Q9",
                                              permanent: true, smtpCode: 550, enhancedCode: "5.1.1", response: "no such user",
                                              remoteHost: "mx.x", bounceClass: "bad-mailbox", timestamp: 12, suppress: true)),
    ]

    @Test("every command kind decodes to an equal value", arguments: samples)
    func roundTrip(_ command: SpoolCommand) throws {
        let bytes = command.encoded()
        #expect(bytes.first == command.encodingVersion(format: SpoolCommand.formatVersion))
        #expect(try SpoolCommand(decoding: bytes) == command)
    }

    @Test("an enqueue encoded without body keeps its size and is marked elided")
    func elidedBody() throws {
        let command = makeEnqueue("Q2", body: testBody(size: 10_000, seed: 1))
        let bytes = command.encoded(includeBody: false)
        #expect(bytes.count < 300)
        guard case .enqueue(let e) = try SpoolCommand(decoding: bytes) else {
            Issue.record("not an enqueue")
            return
        }
        #expect(e.bodyElided)
        #expect(e.body.isEmpty)
        #expect(e.elidedBodySize == 10_000)
        #expect(StoredMessage(enqueue: e).bodySize == 10_000)
    }

    @Test("every truncation of an encoded command is rejected as corrupt, never a crash")
    func truncated() throws {
        for command in Self.samples {
            let bytes = command.encoded()
            // A claim without its trailing 8-byte incarnation is the older claim format, still read.
            let olderFormat: Int? = if case .claim = command { bytes.count - 8 } else { nil }
            for n in 0..<bytes.count where n != olderFormat {
                #expect(throws: StoreError.self) { try SpoolCommand(decoding: Array(bytes[0..<n])) }
            }
        }
    }

    @Test("unknown version, unknown tag and trailing bytes are rejected")
    func malformed() throws {
        var bytes = Self.samples[1].encoded()
        bytes[0] = 99
        #expect(throws: StoreError.self) { try SpoolCommand(decoding: bytes) }
        bytes = Self.samples[1].encoded()
        bytes[1] = 200
        #expect(throws: StoreError.self) { try SpoolCommand(decoding: bytes) }
        bytes = Self.samples[1].encoded() + [0]
        let error = #expect(throws: StoreError.self) { try SpoolCommand(decoding: bytes) }
        #expect(error?.code == .corrupt)
    }

    @Test("a huge recipient count in corrupt input does not allocate or crash")
    func hugeCount() throws {
        var w = BinaryWriter()
        w.u8(SpoolCommand.formatVersion)
        w.u8(1)
        for _ in 0..<6 { w.string("x") }
        w.u32(.max)
        #expect(throws: StoreError.self) { try SpoolCommand(decoding: w.bytes) }
    }
}

@Suite("Stored record encodings")
struct RecordCodecTests {
    @Test("a message record with lease and mixed recipient states round-trips")
    func messageRecord() throws {
        guard case .enqueue(let e) = makeEnqueue("Q", recipients: ["a@x", "b@x"]) else { return }
        var m = StoredMessage(enqueue: e)
        m.attempts = 2
        m.lease = StoredMessage.Lease(owner: "n2", attempt: 2, expiresAt: 55)
        m.recipients[0].status = .deferred
        m.recipients[0].lastResponse = "try later"
        m.recipients[1].status = .delivered
        let bytes = m.encoded()
        let decoded = try bytes.withUnsafeBytes { try StoredMessage(decoding: $0) }
        #expect(decoded == m)
    }

    @Test("an event with and without outcome fields round-trips in binary")
    func eventRecord() throws {
        let plain = Event(id: "1-0", type: .accepted, messageId: "m", queueId: "q", tenant: "t", sender: "s",
                          recipient: "r", timestampMillis: 1)
        var full = plain
        full.type = .bounced
        full.smtpCode = 550
        full.enhancedCode = "5.1.1"
        full.response = "no such user"
        full.remoteHost = "mx"
        full.attempt = 2
        full.bounceClass = "bad-mailbox"
        for e in [plain, full] {
            #expect(try e.encoded().withUnsafeBytes { try Event(decoding: $0) } == e)
        }
    }
}
