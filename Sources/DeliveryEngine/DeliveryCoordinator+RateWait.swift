import DeliveryCore
import Dispatch

extension DeliveryCoordinator {
    /// Puts `job` in the waiting line of the rate limiter `key` (at the front when it was the
    /// head already) and makes sure one timer releases the line's head when the next token is
    /// due. One wake-up per token, whatever the number of jobs waiting: with a shaped provider and
    /// a deep backlog, thousands of claimed jobs can wait for the same limiter, and a timer per job
    /// would wake them all for every token. The line has a fresh and a backlog lane served in turns
    /// (`FairLine`, see `+Recovery`). On `queue`.
    func waitForToken(_ job: DeliveryJob, key: AdaptiveThrottle.Key, delay: Double, atFront: Bool) {
        if atFront {
            limiterWaiters[key, default: FairLine()].pushFront(job, fresh: isFresh(job))
        } else {
            limiterWaiters[key, default: FairLine()].append(job, fresh: isFresh(job))
        }
        armLimiterTimer(key, delay: delay)
    }

    private func armLimiterTimer(_ key: AdaptiveThrottle.Key, delay: Double) {
        guard limiterTimers.insert(key).inserted else { return }
        queue.asyncAfter(deadline: .now() + min(max(delay, 0.001), 60)) {
            self.limiterTimers.remove(key)
            self.releaseWaiter(key)
        }
    }

    /// Hands the head of `key`'s line to `tryNext`, and the next ones while a token is left (a
    /// released job that went another way, e.g. to a host whose circuit is open, used none);
    /// re-arms the timer while jobs remain. On `queue`.
    private func releaseWaiter(_ key: AdaptiveThrottle.Key) {
        tokenWakeups += 1
        // Popped in place (the dictionary's copy is the only one: no copy of the line per token).
        while let head = limiterWaiters[key]?.popFirst() {
            if limiterWaiters[key]?.isEmpty == true { limiterWaiters[key] = nil }
            tryNext(head, released: true)
            // The head waits again (back at the front, timer armed): nothing more to do now.
            if limiterTimers.contains(key) { return }
            let now = Double(options.clock()) / 1000
            guard let limiter = rateLimiters[key], limiter.available(now: now) >= 1 else { break }
        }
        if limiterWaiters[key]?.isEmpty == false {
            let now = Double(options.clock()) / 1000
            armLimiterTimer(key, delay: rateLimiters[key]?.delay(now: now) ?? 0.001)
        } else {
            limiterWaiters[key] = nil
        }
    }

    /// Jobs waiting for rate-limiter tokens (tests and figures). On `queue`.
    var jobsWaitingForTokens: Int { limiterWaiters.values.reduce(0) { $0 + $1.count } }
}
