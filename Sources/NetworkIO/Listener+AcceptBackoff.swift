import CSystemShims
import Glibc

/// What a listener does after `accept4` failed with an errno.
enum AcceptReaction: Equatable {
    /// Nothing more to accept now (EAGAIN): wait for the next readiness event.
    case wait
    /// This connection is gone (aborted before accept, EINTR): try the next one.
    case next
    /// The process (or system) is out of descriptors or memory: the pending connection stays in the
    /// backlog and the listener stays readable, so retrying at once would spin the loop at 100 % CPU.
    /// Stop watching the socket and retry after a short delay.
    case pause
}

/// A listener's accept-failure episode, for the node's log.
public enum AcceptTrouble: Sendable, Equatable {
    /// Accepting failed with this error; the listener retries every `retrySeconds` (or longer)
    /// until it succeeds. Reported once per episode.
    case paused(NetworkError, retrySeconds: Double)
    /// Accepting works again after `failures` failed attempts over `seconds`.
    case resumed(failures: Int, seconds: Double)
}

/// The pause bookkeeping of one listener.
struct AcceptPauseState {
    /// Failed accepts in the current episode (0: none).
    var failures = 0
    /// When the episode began (`EventLoop.now()`).
    var since: UInt64 = 0
    /// The delay before the next retry, doubled per failure up to `maxDelay`.
    var delay = AcceptPauseState.firstDelay
    static let firstDelay = 0.05
    static let maxDelay = 1.0
}

extension Listener {
    /// How to react to `accept4` failing with `err`. Pure.
    static func reaction(toAcceptError err: Int32) -> AcceptReaction {
        switch err {
        case EAGAIN, EWOULDBLOCK: return .wait
        case EINTR, ECONNABORTED, EPROTO, EPERM, ENETDOWN, ENOPROTOOPT, EHOSTDOWN, ENONET, EHOSTUNREACH,
             EOPNOTSUPP, ENETUNREACH:
            return .next
        default:
            // EMFILE, ENFILE, ENOBUFS, ENOMEM, and anything unexpected: never spin on it.
            return .pause
        }
    }

    /// Stops watching the socket and re-arms it after the episode's current delay. Loop thread only.
    func pauseAccepting(errno err: Int32) {
        acceptPause.failures += 1
        let delay = acceptPause.delay
        if acceptPause.failures == 1 {
            acceptPause.since = EventLoop.now()
            report(.paused(NetworkError.posix(err, context: "accept on \(address)"), retrySeconds: delay))
        }
        acceptPause.delay = min(AcceptPauseState.maxDelay, delay * 2)
        loop.modify(fd: fd, events: 0)
        loop.schedule(after: delay) { [weak self] in
            guard let self, !self.closed else { return }
            self.loop.modify(fd: self.fd, events: EPOLLIN.rawValue)
        }
    }

    /// An accept succeeded after failures: ends the episode. Loop thread only.
    func acceptsResumed() {
        let seconds = Double(EventLoop.now() &- acceptPause.since) / 1e9
        let failures = acceptPause.failures
        acceptPause = AcceptPauseState()
        report(.resumed(failures: failures, seconds: seconds))
    }

    private func report(_ trouble: AcceptTrouble) {
        if let onAcceptTrouble {
            onAcceptTrouble(trouble)
            return
        }
        let line: String
        switch trouble {
        case .paused(let error, let retry):
            line = "listener \(address): accept failed (\(error)); pausing accepts, retrying every \(retry)s or more\n"
        case .resumed(let failures, let seconds):
            line = "listener \(address): accepting again after \(failures) failed attempts over \(seconds)s\n"
        }
        _ = line.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count - 1) }
    }
}
