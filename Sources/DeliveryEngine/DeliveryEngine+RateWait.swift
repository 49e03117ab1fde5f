extension DeliveryEngine {
    /// Times a job waiting for a rate limiter's token was woken (one per token handed out while
    /// jobs wait, not one per waiting job and token). Blocks briefly on the scheduler.
    public var tokenWakeups: Int { coordinator.queue.sync { coordinator.tokenWakeups } }
}

extension DeliveryEngine {
    /// Jobs waiting for a rate limiter's token now. Blocks briefly on the scheduler.
    public var jobsWaitingForTokens: Int { coordinator.queue.sync { coordinator.jobsWaitingForTokens } }
}
