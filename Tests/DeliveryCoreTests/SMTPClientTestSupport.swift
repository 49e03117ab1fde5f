import DeliveryCore

typealias Session = SMTPClientSession

/// Text of every `.send` action, concatenated.
func sentText(_ actions: [Session.Action]) -> String {
    var bytes: [UInt8] = []
    for case .send(let chunk) in actions { bytes.append(contentsOf: chunk) }
    return String(decoding: bytes, as: UTF8.self)
}

/// Number of `.send` actions (writes).
func writeCount(_ actions: [Session.Action]) -> Int {
    actions.reduce(0) { count, action in if case .send = action { return count + 1 } else { return count } }
}

/// Every `.finished` result.
func finishedResults(_ actions: [Session.Action]) -> [Session.TransactionResult] {
    actions.compactMap { if case .finished(let result) = $0 { return result } else { return nil } }
}

/// The `.failed` failure, if any.
func failure(_ actions: [Session.Action]) -> Session.SessionFailure? {
    for case .failed(let failure) in actions { return failure }
    return nil
}

func isReady(_ actions: [Session.Action]) -> Bool {
    actions.contains { if case .ready = $0 { return true } else { return false } }
}

/// An EHLO reply advertising `keywords`.
func ehloReply(_ keywords: [String]) -> String {
    let lines = ["mx.example.test Hello"] + keywords
    return lines.enumerated().map { index, line in
        "250\(index == lines.count - 1 ? " " : "-")\(line)\r\n"
    }.joined()
}

/// The extensions most receivers advertise.
let standardKeywords = ["PIPELINING", "SIZE 10485760", "8BITMIME", "ENHANCEDSTATUSCODES"]

/// A transaction (tag 1) from sender@relay.test to `recipients` carrying a small message.
func plainTransaction(_ recipients: [String]) -> Session.Transaction {
    Session.Transaction(tag: 1, mailFrom: "sender@relay.test", recipients: recipients.map { Session.Recipient($0) },
                        message: message("Subject: hi\r\n\r\nHello\r\n"))
}

/// A session driven through greeting and EHLO with `keywords`; returns it and the actions of the EHLO reply.
func connectedSession(_ keywords: [String], configuration: Session.Configuration = .init(heloName: "relay.test", tlsPolicy: .none))
    -> (Session, [Session.Action]) {
    var session = Session(configuration: configuration)
    _ = session.receive(Array("220 mx.example.test ESMTP\r\n".utf8))
    let actions = session.receive(Array(ehloReply(keywords).utf8))
    return (session, actions)
}

extension Session {
    /// Feeds a server reply given as text.
    mutating func server(_ text: String) -> [Action] {
        receive(Array(text.utf8))
    }
}

func message(_ text: String) -> [UInt8] { Array(text.utf8) }
