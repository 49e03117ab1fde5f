/// An operator action's failure that maps to an HTTP status (400 invalid, 404 not found, 503 try
/// again later).
protocol OperatorFailure: Error, CustomStringConvertible {
    var httpStatus: Int { get }
}

/// A refused operator action: its HTTP status and the reason shown to the operator.
struct OperatorError: OperatorFailure {
    let httpStatus: Int
    let description: String

    /// The request itself is wrong (400).
    static func invalid(_ reason: String) -> OperatorError { OperatorError(httpStatus: 400, description: reason) }
    /// What it names does not exist (404).
    static func notFound(_ reason: String) -> OperatorError { OperatorError(httpStatus: 404, description: reason) }
    /// The cluster could not commit it now (503).
    static func temporary(_ reason: String) -> OperatorError { OperatorError(httpStatus: 503, description: reason) }
}
