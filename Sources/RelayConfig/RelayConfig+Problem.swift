extension RelayConfig {
    /// One finding of `check-config`: where in the file (a key path such as `listen.submission[0]`)
    /// and what is wrong. Errors stop `load`; warnings are printed but allowed.
    public struct Problem: Sendable, Equatable, CustomStringConvertible {
        /// How serious the finding is.
        public enum Severity: String, Sendable { case error, warning }

        /// Error (config rejected) or warning (accepted, but probably not what the operator wants).
        public var severity: Severity
        /// Key path in the file, e.g. `users[1].allowedNetworks[0]`; empty for the whole document.
        public var path: String
        /// Human explanation, e.g. `'0.0.0.0:99999' is not a valid host:port`.
        public var message: String

        /// Creates a problem.
        public init(_ severity: Severity, _ path: String, _ message: String) {
            self.severity = severity
            self.path = path
            self.message = message
        }

        /// `path: message` (just the message when the path is empty).
        public var description: String { path.isEmpty ? message : "\(path): \(message)" }
    }
}
