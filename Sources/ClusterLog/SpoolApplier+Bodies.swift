import Glibc
import SpoolStore

extension SpoolApplier {
    /// Where an enqueue's body starts in the entry's data (the encoded command ends with it), or
    /// nil for other commands and empty bodies. Checked byte for byte (one `memcmp`): if an
    /// encoding ever put anything after the body, the spool copies the body instead of
    /// referencing the wrong bytes. Pure.
    static func bodyOffset(of command: SpoolCommand, in data: [UInt8]) -> Int? {
        guard case .enqueue(let e) = command, !e.bodyElided, !e.body.isEmpty, data.count >= e.body.count else {
            return nil
        }
        let offset = data.count - e.body.count
        let same = data.withUnsafeBytes { d in
            e.body.withUnsafeBytes { b in memcmp(d.baseAddress! + offset, b.baseAddress!, b.count) == 0 }
        }
        return same ? offset : nil
    }
}
