extension DeliveryEngine {
    /// Messages parked because their destination is down, destinations down, and times a due
    /// message was parked instead of claimed (see `DestinationParking`). Blocks briefly on the
    /// scheduler; any thread.
    public var parkingStatistics: (parked: Int, destinationsDown: Int, parkedTotal: Int) {
        coordinator.queue.sync { coordinator.parkingStatistics() }
    }
}

extension DeliveryEngine {
    /// Messages whose due time a batched postpone moved (parking was full), and messages waiting
    /// to be postponed. Blocks briefly on the scheduler; any thread.
    public var postponeStatistics: (postponed: Int, held: Int) {
        coordinator.queue.sync { coordinator.postponeStatistics() }
    }
}

extension DeliveryEngine {
    /// Messages pulled forward when their destination came back, pulled attempts in flight,
    /// destinations pulling, and fresh mail claimed ahead of the backlog (see `RecoveryDrain`).
    /// Blocks briefly on the scheduler; any thread.
    public var recoveryStatistics: (pulled: Int, pulledInFlight: Int, pulling: Int, freshClaimed: Int) {
        coordinator.queue.sync { coordinator.recoveryStatistics() }
    }
}

extension DeliveryEngine {
    /// Commands the recovery pulls proposed (one per scheduler pass that pulled, or one per
    /// message where the log writes no format 6), and the most delivery attempts in flight at once
    /// since start, pulled messages being made due included (tests: never above `maxInFlight`).
    /// Blocks briefly (the scheduler's queue).
    public var pullFigures: (commands: Int, inFlightPeak: Int) {
        coordinator.queue.sync { coordinator.pullFigures() }
    }
}
