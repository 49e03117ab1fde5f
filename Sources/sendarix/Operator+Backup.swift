import Foundation
import RelayNode

extension Operator {
    /// `sendarix backup FILE`: fetches `GET /v1/backup` from a running node and writes it to FILE
    /// (through a temporary file renamed into place). Blocks; main thread.
    static func backup(_ args: [String]) throws -> Int32 {
        let (named, positional) = try CLI.options(args)
        guard positional.count == 1 else { throw CLIError("usage: sendarix backup FILE [--admin URL] [--token T]") }
        let target = try AdminTarget(named)
        let (status, body) = try target.request("GET", "/v1/backup", maxBodyBytes: Int.max)
        guard status == 200 else {
            throw CLIError("backup failed (HTTP \(status)): \(String(decoding: body.prefix(2000), as: UTF8.self))")
        }
        let (manifest, _) = try NodeBackup.manifest(of: body)
        let file = positional[0]
        let partial = file + ".partial"
        guard FileManager.default.createFile(atPath: partial, contents: Data(body), attributes: [.posixPermissions: 0o600]) else {
            throw CLIError("cannot write \(partial)")
        }
        guard rename(partial, file) == 0 else { throw CLIError("cannot move \(partial) to \(file)") }
        print("backup of node \(manifest.nodeId) at applied index \(manifest.appliedIndex) written to \(file) (\(body.count) bytes)")
        return 0
    }

    /// `sendarix restore FILE --data-dir DIR`: lays a backup out as a fresh node's data directory.
    /// Blocks; main thread.
    static func restore(_ args: [String]) throws -> Int32 {
        let (named, positional) = try CLI.options(args)
        guard positional.count == 1, let dir = named["data-dir"] else {
            throw CLIError("usage: sendarix restore FILE --data-dir DIR")
        }
        guard let data = FileManager.default.contents(atPath: positional[0]) else {
            throw CLIError("cannot read \(positional[0])")
        }
        let manifest = try NodeBackup.restore([UInt8](data), dataDir: dir)
        print("restored node \(manifest.nodeId) (applied index \(manifest.appliedIndex)) into \(dir); start it with node.dataDir \"\(dir)\""
              + (manifest.cluster ? " and its cluster config: it rejoins and catches up from the leader" : ""))
        return 0
    }
}
