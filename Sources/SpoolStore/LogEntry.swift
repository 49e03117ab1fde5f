/// A committed log position and its command, as handed to
/// ``SpoolStore/commit(_:appendToLog:)``. Term is 0 for the single-node
/// ``LocalLog``; a Raft log supplies its own. Pure value; any thread.
public struct LogEntry: Sendable, Equatable {
    public var index: UInt64
    public var term: UInt64
    public var command: SpoolCommand
    /// Where an enqueue's body starts inside the raft entry's data, when the spool should keep a
    /// reference to it instead of a copy (cluster mode, `SpoolStore+LogBodies.swift`); nil: copy.
    public var bodyOffset: Int? = nil

    /// Creates an entry. Any thread.
    public init(index: UInt64, term: UInt64, command: SpoolCommand) {
        self.index = index
        self.term = term
        self.command = command
    }
}
