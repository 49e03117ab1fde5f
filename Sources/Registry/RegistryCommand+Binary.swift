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
}
