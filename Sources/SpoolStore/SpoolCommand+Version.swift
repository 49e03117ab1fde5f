extension SpoolCommand {
    /// The `StoreError.context` of a command whose format version this build does not read.
    public static let versionContext = "format-version"

    /// The error for a command written in format `version` (not one of 1…`formatVersion`): a newer one names
    /// both versions and asks for an upgrade. Pure; any thread.
    static func versionError(_ version: UInt8) -> StoreError {
        if version > formatVersion {
            return StoreError(.corrupt, "spool command format version \(version) is newer than this build's version "
                              + "\(formatVersion): upgrade this node to the release the others run", context: versionContext)
        }
        return StoreError(.corrupt, "spool command format version \(version) is not one this build reads "
                          + "(it reads \(formatVersion))", context: versionContext)
    }

    /// Why `bytes` must not be proposed to the log, or nil: a command whose first byte is not a
    /// version this build reads (1 through `formatVersion`). A leader checks forwarded proposals
    /// with this, so a buggy or hostile peer cannot put an entry in the log that stops every
    /// member's applier (an entry of another version is waited on, not skipped). Pure; any thread.
    public static func formatProblem(_ bytes: some Collection<UInt8>) -> StoreError? {
        guard let version = bytes.first else { return StoreError(.invalidCommand, "empty spool command") }
        return version >= 1 && version <= formatVersion ? nil : versionError(version)
    }
}
