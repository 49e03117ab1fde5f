import ClusterLog
import Foundation
import RaftCore
import SendarixCrypto
import SpoolStore

/// `sendarix backup` / `sendarix restore`: one file holding a consistent copy of a node's stores.
///
/// Layout: the line `SENDARIX-BACKUP`, one line of manifest JSON (`Manifest`), then the bytes of
/// each file the manifest lists, in its order. The spool copy is taken first and the raft log
/// copy second (each an LMDB copy made inside one read transaction while the node runs), so the
/// log reaches at least the index the spool copy applied; a node started on the restored
/// directory replays the log from there. Blocks for file I/O; any thread.
public enum NodeBackup {
    /// Format of the archive and manifest this build writes and the newest it reads.
    public static let formatVersion = 1
    static let magic = Array("SENDARIX-BACKUP\n".utf8)
    /// The only paths an archive may hold (relative to the data directory).
    static let knownFiles: Set<String> = ["spool/data.mdb", "raft/data.mdb", "dkim.key"]

    /// What a backup holds.
    public struct Manifest: Codable, Equatable, Sendable {
        /// One file of the archive.
        public struct File: Codable, Equatable, Sendable {
            /// Path relative to the data directory.
            public var path: String
            /// Size in bytes.
            public var size: Int
            /// SHA-256, lowercase hex.
            public var sha256: String
        }

        /// Archive format version (`NodeBackup.formatVersion` when written by this build).
        public var formatVersion: Int
        /// Id of the node that was backed up.
        public var nodeId: String
        /// When the backup was taken (RFC 3339).
        public var createdAt: String
        /// Spool copy's applied log index and term.
        public var appliedIndex: UInt64
        /// Term of that entry.
        public var appliedTerm: UInt64
        /// Spool command and store layout versions of the copy.
        public var spoolCommandFormat: Int
        /// Raft wire version of the build that wrote it.
        public var raftWireVersion: Int
        /// Whether the node was a cluster member (the archive then holds its raft log).
        public var cluster: Bool
        /// Raft log copy: commit index, first and last index (cluster members only).
        public var raftCommit: UInt64?
        /// First index held by the raft log copy.
        public var raftFirstIndex: UInt64?
        /// Last index held by the raft log copy.
        public var raftLastIndex: UInt64?
        /// The files, in archive order.
        public var files: [File]
    }

    /// Takes a backup of a running node: its spool `store`, on a cluster member its `raft` log,
    /// and the DKIM key of `dataDir` when there is one (the published DNS records name it).
    /// Returns the archive bytes. Blocks for the copies; any thread.
    public static func make(store: SpoolStore, raft: RaftLog?, nodeID: String, dataDir: String) throws -> [UInt8] {
        let fm = FileManager.default
        // Inside the data directory: same filesystem as the stores (room for the copy), writable
        // under the hardened unit (ProtectSystem=strict), private like the stores.
        let work = dataDir + "/backup-tmp-\(UInt64.random(in: 1...UInt64.max))"
        defer { try? fm.removeItem(atPath: work) }
        var attempt = 0
        while true {
            attempt += 1
            try? fm.removeItem(atPath: work)
            try store.backup(to: work + "/spool")
            let copy = try SpoolStore(directory: work + "/spool")
            let applied = try copy.lastApplied()
            copy.close()
            var manifest = Manifest(formatVersion: formatVersion, nodeId: nodeID, createdAt: rfc3339(Date()),
                                    appliedIndex: applied.index, appliedTerm: applied.term,
                                    spoolCommandFormat: Int(SpoolCommand.formatVersion),
                                    raftWireVersion: Int(Raft.Message.wireVersion), cluster: raft != nil, files: [])
            var paths = ["spool/data.mdb"]
            if let raft {
                try raft.backupStorage(to: work + "/raft")
                let log = try RaftLogStorage(directory: work + "/raft", initialVoters: [])
                let (hard, _) = log.initialState()
                manifest.raftCommit = hard.commit
                manifest.raftFirstIndex = log.firstIndex
                manifest.raftLastIndex = log.lastIndex
                log.close()
                // Compacted past what the spool copy applied between the two copies: the restored
                // node could not replay the gap. Rare (it takes a compaction during the copy); retry.
                if log.firstIndex > applied.index + 1 {
                    if attempt < 3 { continue }
                    throw StoreError(.unavailable, "the raft log was compacted past the spool copy three times; retry the backup",
                                     context: "backup")
                }
                paths.append("raft/data.mdb")
            }
            var body: [UInt8] = []
            let dkim = dataDir + "/dkim.key"
            if fm.fileExists(atPath: dkim) {
                try fm.copyItem(atPath: dkim, toPath: work + "/dkim.key")
                paths.append("dkim.key")
            }
            for path in paths {
                guard let data = fm.contents(atPath: work + "/" + path) else {
                    throw StoreError(.ioError, "cannot read the copy \(path)", context: "backup")
                }
                let bytes = [UInt8](data)
                manifest.files.append(Manifest.File(path: path, size: bytes.count, sha256: hex(Digest.sha256(bytes))))
                body += bytes
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return magic + Array(try encoder.encode(manifest)) + [0x0A] + body
        }
    }

    /// Reads and checks an archive's manifest: the magic line, a format this build knows, known
    /// paths, sizes that add up. Returns it with the offset where file bytes start. Pure.
    public static func manifest(of archive: [UInt8]) throws -> (Manifest, Int) {
        guard archive.starts(with: magic), let nl = archive[magic.count...].firstIndex(of: 0x0A) else {
            throw StoreError(.invalidCommand, "not a sendarix backup (no SENDARIX-BACKUP header)", context: "restore")
        }
        let json = Data(archive[magic.count..<nl])
        if let object = try? JSONSerialization.jsonObject(with: json) as? [String: Any],
           let version = object["formatVersion"] as? Int, version > formatVersion {
            throw StoreError(.invalidCommand, "backup format version \(version) is newer than this build's version "
                             + "\(formatVersion): restore it with the sendarix release that wrote it or a newer one",
                             context: "restore")
        }
        let manifest: Manifest
        do {
            manifest = try JSONDecoder().decode(Manifest.self, from: json)
        } catch {
            throw StoreError(.invalidCommand, "malformed backup manifest: \(error)", context: "restore")
        }
        let total = manifest.files.reduce(0) { $0 + $1.size }
        for f in manifest.files where !knownFiles.contains(f.path) || f.size < 0 {
            throw StoreError(.invalidCommand, "backup lists an unexpected file \(f.path)", context: "restore")
        }
        guard manifest.files.contains(where: { $0.path == "spool/data.mdb" }), archive.count - (nl + 1) == total else {
            throw StoreError(.invalidCommand, "backup is truncated or has extra bytes (\(archive.count - nl - 1) bytes of files, "
                             + "the manifest lists \(total))", context: "restore")
        }
        return (manifest, nl + 1)
    }

    /// Lays `archive` out as the data directory `dataDir` of a fresh node: refuses a non-empty
    /// directory, an unknown format and any checksum mismatch (nothing is written then). Returns
    /// the manifest. Blocks for file I/O; any thread.
    @discardableResult
    public static func restore(_ archive: [UInt8], dataDir: String) throws -> Manifest {
        let fm = FileManager.default
        if let existing = try? fm.contentsOfDirectory(atPath: dataDir), !existing.isEmpty {
            throw StoreError(.invalidCommand, "\(dataDir) is not empty: restore into a new directory", context: "restore")
        }
        let (manifest, start) = try manifest(of: archive)
        var offset = start
        var files: [(String, ArraySlice<UInt8>)] = []
        for f in manifest.files {
            let bytes = archive[offset..<(offset + f.size)]
            offset += f.size
            let digest = hex(Digest.sha256(bytes))
            guard digest == f.sha256 else {
                throw StoreError(.corrupt, "checksum mismatch for \(f.path): the manifest says \(f.sha256), the bytes hash to \(digest)",
                                 context: "restore")
            }
            files.append((f.path, bytes))
        }
        // Private like the node's own data: message bodies, credential hashes, keys.
        try fm.createDirectory(atPath: dataDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        for (path, bytes) in files {
            let target = dataDir + "/" + path
            try fm.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true,
                                   attributes: [.posixPermissions: 0o700])
            guard fm.createFile(atPath: target, contents: Data(bytes), attributes: [.posixPermissions: 0o600]) else {
                throw StoreError(.ioError, "cannot write \(target)", context: "restore")
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        try encoder.encode(manifest).write(to: URL(fileURLWithPath: dataDir + "/restored-from.json"))
        return manifest
    }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    static func rfc3339(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: date)
    }
}
