import Registry
import Synchronization

/// The webhook routes of one spool's endpoints (`WebhookRoute`), kept in memory so recording an
/// event reads one meta value instead of scanning and decoding every endpoint record.
///
/// Invalidation is one version number stored in the spool (`SpoolStore+WebhookRoutes`): derived
/// from the log index of the last applied command that changed an endpoint. A transaction reads the version
/// it sees and uses the cached routes only when they were read at that same version: the
/// routes at a log index are the same on every node and every re-application (applying is
/// deterministic), so a cache filled in an older read snapshot is never used for a different
/// state; a write transaction that does not commit clears the cache (a local log may give its
/// indices to other commands). Thread-safe (a mutex).
final class WebhookRouteCache: Sendable {
    private let state = Mutex<(version: UInt64, routes: [WebhookRoute])?>(nil)

    /// The routes read at `version`, or nil.
    func routes(at version: UInt64) -> [WebhookRoute]? {
        state.withLock { s in
            guard let s, s.version == version else { return nil }
            return s.routes
        }
    }

    /// Forgets the routes (after a write transaction that did not commit).
    func clear() {
        state.withLock { $0 = nil }
    }

    /// Remembers the routes read at `version`.
    func store(_ routes: [WebhookRoute], at version: UInt64) {
        state.withLock { $0 = (version, routes) }
    }
}
