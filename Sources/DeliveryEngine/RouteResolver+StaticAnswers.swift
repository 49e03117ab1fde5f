import Synchronization

extension RouteResolver {
    /// Remembered answers of `resolveWithoutDNS`, by the domain asked for. That answer is a pure
    /// function of the domain and `config`, and `config` is a `let` of the resolver that owns this
    /// box: a new configuration comes with a new `RouteResolver` and so a new, empty box, so an
    /// answer can never outlive what it was computed from. Bounded: emptied when it reaches
    /// `capacity` domains (recipient domains are many, the ones with static routes few).
    /// Thread-safe (a mutex); never blocks for long.
    final class StaticAnswers: Sendable {
        static let capacity = 4_096
        private let answers = Mutex<[String: DeliveryRoute.Resolution?]>([:])

        /// The remembered answer for `domain` (`.some(nil)`: remembered as needing DNS), or nil.
        func answer(for domain: String) -> DeliveryRoute.Resolution?? {
            answers.withLock { $0[domain] }
        }

        /// Remembers `answer` for `domain`.
        func remember(_ answer: DeliveryRoute.Resolution?, for domain: String) {
            answers.withLock { answers in
                if answers.count >= Self.capacity { answers.removeAll(keepingCapacity: true) }
                answers[domain] = .some(answer)
            }
        }

        /// How many domains are remembered (tests).
        var count: Int { answers.withLock { $0.count } }
    }
}
