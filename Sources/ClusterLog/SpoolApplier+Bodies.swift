import SpoolStore

extension SpoolApplier {
    /// Where an enqueue's body starts in the entry's data (the encoded command ends with it), or
    /// nil for other commands and empty bodies. Pure.
    static func bodyOffset(of command: SpoolCommand, in data: [UInt8]) -> Int? {
        guard case .enqueue(let e) = command, !e.bodyElided, !e.body.isEmpty, data.count >= e.body.count else {
            return nil
        }
        return data.count - e.body.count
    }
}
