extension DeliveryEngine {
    /// Messages parked because their destination is down, and destinations down (see
    /// `DestinationParking`). Blocks briefly on the scheduler; any thread.
    public var parkingStatistics: (parked: Int, destinationsDown: Int) {
        coordinator.queue.sync { coordinator.parkingStatistics() }
    }
}
