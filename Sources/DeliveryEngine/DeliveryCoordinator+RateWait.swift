import DeliveryCore
import Dispatch

extension DeliveryCoordinator {
    /// Puts `job` in the waiting line of the rate limiter `key` (at the front when it was the
    /// head already) and makes sure one timer releases the line's head when the next token is
    /// due. One wake-up per token, whatever the number of jobs waiting: with a shaped provider and
    /// a deep backlog, thousands of claimed jobs can wait for the same limiter, and a timer per job
    /// would wake them all for every token. On `queue`.
    func waitForToken(_ job: DeliveryJob, key: AdaptiveThrottle.Key, delay: Double, atFront: Bool) {
        if atFront {
            limiterWaiters[key, default: []].insert(job, at: 0)
        } else {
            limiterWaiters[key, default: []].append(job)
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
        while var line = limiterWaiters[key], !line.isEmpty {
            let head = line.removeFirst()
            limiterWaiters[key] = line.isEmpty ? nil : line
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
