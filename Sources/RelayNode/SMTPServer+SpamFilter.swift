import DeliveryCore
import Foundation
import NetworkIO
import Registry
import SMTPCore
import SendarixSupport
import SpoolStore

extension SMTPServer.Handler {
    /// Scores the message with rspamd when `spamFilter` is set, then queues it as it is, tagged,
    /// held in the quarantine, or refuses it (`550 5.7.1`). Unscored (rspamd down or late):
    /// queued when fail-open, `451` when fail-closed. The session waits meanwhile (its input is paused).
    func filterThenEnqueue(_ envelope: SMTPSession.Envelope, _ message: [UInt8]) {
        guard let scorer = server.spamScorer else { return enqueue(envelope, message) }
        let me = LoopBound(self, loop: loop)
        scorer.check(message: message, sender: envelope.mailFrom?.address ?? "",
                     recipients: envelope.recipients.map(\.address.address), clientIP: envelope.clientAddress,
                     user: envelope.authenticatedUser, queueID: envelope.queueID) { result in
            me.execute { handler in
                guard !handler.closed else { return }
                handler.spamChecked(result, scorer: scorer, envelope, message)
            }
        }
    }

    private func spamChecked(_ result: Result<SpamVerdict, SpamScorer.Failure>, scorer: SpamScorer,
                             _ envelope: SMTPSession.Envelope, _ message: [UInt8]) {
        let logger = server.logger
        switch result {
        case .failure(let failure):
            logger.log(.warning, "spam check failed", ["queueId": envelope.queueID, "error": failure.description,
                                                       "failOpen": String(scorer.settings.failOpen)])
            if scorer.settings.failOpen { enqueue(envelope, message) } else { perform(session.enqueueCompleted(.unavailable)) }
        case .success(let verdict):
            let disposition = verdict.disposition(scorer.thresholds)
            logger.log(.info, "spam check", ["queueId": envelope.queueID, "score": String(verdict.score),
                                             "action": verdict.action, "disposition": "\(disposition)"])
            switch disposition {
            case .deliver:
                enqueue(envelope, message)
            case .tag(let headers):
                scorer.counters.withLock { $0.tagged += 1 }
                enqueue(envelope, Array(headers.utf8) + message)
            case .reject(let reason):
                scorer.counters.withLock { $0.rejected += 1 }
                perform(session.enqueueCompleted(.refused(reason: reason)))
            case .hold:
                scorer.counters.withLock { $0.held += 1 }
                hold(envelope, message, verdict)
            }
        }
    }

    /// Stores the message in the quarantine through the log; the client gets 250 once it is committed.
    private func hold(_ envelope: SMTPSession.Envelope, _ message: [UInt8], _ verdict: SpamVerdict) {
        let command = SpoolCommand.enqueue(SMTPServer.enqueueCommand(envelope, message))
        let held = QuarantinedMessage(
            id: envelope.queueID, tenant: envelope.tenant ?? "", user: envelope.authenticatedUser ?? "",
            sender: envelope.mailFrom?.address ?? "", recipients: envelope.recipients.map(\.address.address),
            score: verdict.score, symbols: verdict.symbols, size: message.count,
            at: Int64(Date().timeIntervalSince1970 * 1000),
            command: String(decoding: Base64Codec.encode(command.encoded()), as: UTF8.self))
        let me = LoopBound(self, loop: loop)
        server.log.propose(.registry(.limits(.hold(held)))) { result in
            let outcome: SMTPSession.EnqueueResult
            switch result {
            case .success: outcome = .queued(envelope.queueID)
            case .failure(let e): outcome = .failed(reason: "quarantine: \(e.reason)")
            }
            me.execute { handler in
                guard !handler.closed else { return }
                handler.perform(handler.session.enqueueCompleted(outcome))
            }
        }
    }
}
