import Foundation
import Testing
import FuzzTargets

/// CI's share of fuzzing (issue 13): every seed in Tests/FuzzCorpus/<target>/ and every saved crash
/// regression input in Tests/FuzzCorpus/<target>/regressions/ goes through the same entry point the
/// libFuzzer executables use, in-process and without sanitizers. A broken invariant traps (fails the
/// run). The sanitizer runs themselves are `cluster/fuzz` (building them takes minutes on 2 cores).
@Suite("Fuzz corpus replay")
struct FuzzSmokeTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("FuzzCorpus")

    static func inputs(_ target: FuzzTarget) -> [URL] {
        let dir = corpus.appendingPathComponent(target.rawValue)
        var files: [URL] = []
        for sub in [dir, dir.appendingPathComponent("regressions")] {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: sub.path)) ?? []
            for name in names.sorted() {
                var isDirectory: ObjCBool = false
                let url = sub.appendingPathComponent(name)
                if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue {
                    files.append(url)
                }
            }
        }
        return files
    }

    @Test("every fuzz target's seed corpus replays through its entry point without breaking an invariant",
          arguments: FuzzTarget.allCases)
    func replaySeeds(target: FuzzTarget) throws {
        let files = Self.inputs(target)
        #expect(files.count >= 3, "\(target.rawValue) needs a seed corpus in Tests/FuzzCorpus/\(target.rawValue)/")
        for file in files {
            let bytes = try [UInt8](Data(contentsOf: file))
            target.run(bytes)
            // Every prefix too: cheap extra coverage of truncated input (cut-off reads, split packets).
            for cut in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 16)) {
                target.run(Array(bytes[..<cut]))
            }
        }
    }
}
