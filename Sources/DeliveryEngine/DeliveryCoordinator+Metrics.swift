import SendarixSupport
import SpoolStore

extension DeliveryCoordinator {
    /// The metrics outcome of a recipient's recorded disposition. Pure.
    static func metricsOutcome(_ d: SpoolCommand.Disposition) -> NodeMetrics.Outcome {
        switch d {
        case .delivered: .delivered
        case .deferred: .deferred
        case .bounced: .bounced
        case .suppressed: .suppressed
        }
    }
}
