import Foundation

/// Runs a fuzz entry point over files given on the command line (directories: every file inside), so a
/// crash input can be reproduced with a plain build: `.build/debug/FuzzSMTPSession crash-…`. Used by the
/// fallback `main` of each fuzz executable when libFuzzer is not linked in.
public enum FuzzReplay {
    /// The input files named by `paths`: plain files as given, directories expanded (sorted, not recursive).
    public static func files(_ paths: [String]) -> [String] {
        var result: [String] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { continue }
            if isDirectory.boolValue {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
                result += names.sorted().map { (path as NSString).appendingPathComponent($0) }
            } else {
                result.append(path)
            }
        }
        return result
    }

    /// Feeds every input file to `entry`; returns the number of files run. Blocks on file reads.
    public static func run(_ paths: [String], entry: ([UInt8]) -> Void) -> Int {
        var count = 0
        for file in files(paths) {
            guard let data = FileManager.default.contents(atPath: file) else { continue }
            entry(Array(data))
            count += 1
        }
        return count
    }
}

/// The replay `main` called by each fuzz executable's C shim when libFuzzer is absent.
@_cdecl("sendarix_fuzz_replay")
public func sendarixFuzzReplay(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>,
                               _ entry: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt {
    let paths = (1..<Int(argc)).compactMap { argv[$0].map { String(cString: $0) } }.filter { !$0.hasPrefix("-") }
    if paths.isEmpty {
        FileHandle.standardError.write(Data("usage: \(CommandLine.arguments.first ?? "fuzz") FILE|DIR...\n  (built without -sanitize=fuzzer: replays inputs; build with `cluster/fuzz` to fuzz)\n".utf8))
        return 2
    }
    let count = FuzzReplay.run(paths) { bytes in
        _ = bytes.withUnsafeBufferPointer { entry($0.baseAddress, $0.count) }
    }
    FileHandle.standardError.write(Data("replayed \(count) input(s), no crash\n".utf8))
    return 0
}
