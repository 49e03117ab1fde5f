extension DeliveryEngine {
    /// Messages parked because their destination is down, destinations down, and times a due
    /// message was parked instead of claimed (see `DestinationParking`). Blocks briefly on the
    /// scheduler; any thread.
    public var parkingStatistics: (parked: Int, destinationsDown: Int, parkedTotal: Int) {
        coordinator.queue.sync { coordinator.parkingStatistics() }
    }
}
