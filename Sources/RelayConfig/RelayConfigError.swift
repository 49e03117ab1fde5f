/// An error from loading configuration, reading or writing secrets, or hashing passwords.
///
/// `reason` is a human sentence; `file` names the file involved when there is one; for `.invalid`,
/// `problems` lists every error and warning found (not just the first).
public struct RelayConfigError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is.
    public enum Code: String, Sendable {
        /// The config file (or a referenced secret file) could not be read.
        case unreadableFile
        /// The file is not syntactically valid JSON.
        case syntax
        /// The JSON was read but one or more keys are wrong; see `problems`.
        case invalid
        /// Creating or writing a file in the data directory failed.
        case io
        /// OpenSSL failed (random bytes, PBKDF2).
        case crypto
    }

    /// The failure kind.
    public var code: Code
    /// A human explanation, never containing secrets.
    public var reason: String
    /// The file involved, if any.
    public var file: String?
    /// For `.invalid`: all problems found, errors and warnings.
    public var problems: [RelayConfig.Problem]

    /// Creates an error.
    public init(_ code: Code, _ reason: String, file: String? = nil, problems: [RelayConfig.Problem] = []) {
        self.code = code
        self.reason = reason
        self.file = file
        self.problems = problems
    }

    /// The reason followed by one line per error-severity problem.
    public var description: String {
        var s = file.map { "\($0): \(reason)" } ?? reason
        for p in problems where p.severity == .error { s += "\n  " + p.description }
        return s
    }
}
