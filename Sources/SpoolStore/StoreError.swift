import CLMDB
#if canImport(Glibc)
import Glibc
#endif

/// An error from the spool store or the log in front of it.
///
/// `code` is what callers switch on (for example `.storageFull` maps to SMTP
/// `452 4.3.1`), `reason` is a sentence for operators, `context` names the
/// operation or the record involved. All LMDB and errno results are turned into
/// a `StoreError` by ``StoreError/lmdb(_:_:)`` only, so the mapping lives in one place.
/// Pure value; any thread may create or inspect one.
public struct StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, coarse enough to drive a reply code or a retry decision.
    public enum Code: String, Sendable, Equatable {
        /// The map or the disk is full (MDB_MAP_FULL, ENOSPC, EDQUOT): SMTP 452 4.3.1, retry later.
        case storageFull
        /// A read or write failed at the OS level (EIO and other errno values).
        case ioError
        /// Stored bytes or a command failed to decode, or LMDB reported corruption.
        case corrupt
        /// The message (or other record) does not exist.
        case notFound
        /// The store or log was closed before the operation could run.
        case closed
        /// An enqueue used a queue ID that is already in the spool.
        case duplicate
        /// A claim was refused because another unexpired lease holds the message.
        case leaseConflict
        /// An outcome or claim named an attempt that is not the current one.
        case staleAttempt
        /// A command was malformed (for example an enqueue without recipients).
        case invalidCommand
        /// LMDB refused for a resource limit other than space (readers, DBs, txn size).
        case resourceLimit
        /// The store directory is already open in this process (LMDB forbids a second open).
        case alreadyOpen
        /// Anything else LMDB reported; `reason` carries its message.
        case internalError
        /// The replicated log cannot commit now (no quorum, no leader, not the leader): SMTP
        /// 451 4.3.0, retry (another node may take it).
        case unavailable
    }

    /// The error category.
    public var code: Code
    /// Human-readable explanation.
    public var reason: String
    /// Where it happened: an operation name, a queue ID, a path.
    public var context: String

    /// Creates an error. Any thread.
    public init(_ code: Code, _ reason: String, context: String = "") {
        self.code = code
        self.reason = reason
        self.context = context
    }

    /// `code: reason (context)`.
    public var description: String {
        context.isEmpty ? "\(code.rawValue): \(reason)" : "\(code.rawValue): \(reason) (\(context))"
    }

    /// Maps an LMDB return code (which may also be a positive errno value) to a
    /// `StoreError`. The only place that interprets LMDB and errno results. Any thread.
    public static func lmdb(_ rc: Int32, _ context: String) -> StoreError {
        let message = String(cString: mdb_strerror(rc))
        switch rc {
        case MDB_MAP_FULL, ENOSPC, EDQUOT:
            return StoreError(.storageFull, "insufficient storage: \(message)", context: context)
        case MDB_NOTFOUND:
            return StoreError(.notFound, message, context: context)
        case MDB_CORRUPTED, MDB_PAGE_NOTFOUND, MDB_INVALID, MDB_VERSION_MISMATCH, MDB_INCOMPATIBLE, MDB_PANIC:
            return StoreError(.corrupt, message, context: context)
        case MDB_READERS_FULL, MDB_DBS_FULL, MDB_TXN_FULL, MDB_CURSOR_FULL, MDB_TLS_FULL, MDB_PAGE_FULL, MDB_MAP_RESIZED:
            return StoreError(.resourceLimit, message, context: context)
        case EIO, EROFS, EACCES, EPERM, ENOENT, EBADF, ENOMEM, EAGAIN:
            return StoreError(.ioError, message, context: context)
        default:
            return rc > 0
                ? StoreError(.ioError, message, context: context)
                : StoreError(.internalError, message, context: context)
        }
    }

    /// A decoding failure of stored or received bytes. Any thread.
    static func corrupt(_ what: String) -> StoreError {
        StoreError(.corrupt, "malformed \(what)", context: "decode")
    }
}
