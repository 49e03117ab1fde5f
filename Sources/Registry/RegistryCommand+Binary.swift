extension RegistryCommand {
    /// True when the command has a binary log form (`WebhookCommand+Codec`: webhook leases and
    /// results); the others are JSON only.
    public var hasBinaryForm: Bool {
        if case .webhook(let w) = self { return w.hasBinaryForm }
        return false
    }

    /// The command's bytes: its binary form when `binary` is true and it has one, else JSON
    /// (`encoded()`). `RegistryCommand(decoding:)` reads both. Pure; any thread.
    public func encoded(binary: Bool) -> [UInt8] {
        if binary, case .webhook(let w) = self, let bytes = w.binaryEncoded() { return bytes }
        return encoded()
    }

    /// True for a webhook claim with batches (log entry format 4).
    public var isBatchedWebhookClaim: Bool {
        if case .webhook(let w) = self { return w.isBatchedClaim }
        return false
    }

    /// The bytes for readers of log entry format `format`: binary from 3 on, a claim's batches
    /// from 4 on (below, every call of the claim goes alone). Pure; any thread.
    public func encoded(format: UInt8) -> [UInt8] {
        if format < 4, case .webhook(let w) = self, w.isBatchedClaim {
            return RegistryCommand.webhook(w.downgraded(format: format)).encoded(binary: format >= 3)
        }
        return encoded(binary: format >= 3)
    }
}
