import Foundation
#if DEBUG || FUZZ_TESTABLE
@testable import RelayConfig
#else
import RelayConfig
#endif

/// Fuzz target for the JSON configuration: the strict JSON parser, the config decoder (unknown keys, type
/// errors) and `validate()`, i.e. everything `sendarix check-config` does short of reading secret files
/// and hashing passwords. Needs a debug build (testable import of the internal parser); a release build
/// falls back to the public `Decodable` path. Pure.
public enum ConfigFuzzer {
    /// Runs one input; traps on a broken invariant.
    public static func run(_ data: [UInt8]) {
        #if DEBUG || FUZZ_TESTABLE
        guard let root = try? JSONValue.parse(data) else { return }
        let problems = ConfigProblems()
        var config = RelayConfig.decode(root, problems: problems)
        for problem in problems.list { _ = problem.description }
        config.resolvePaths(relativeTo: "/nonexistent/fuzz")
        if !problems.list.contains(where: { $0.severity == .error }) {
            for problem in config.validate() { _ = problem.description }
        }
        #else
        if let config = try? JSONDecoder().decode(RelayConfig.self, from: Data(data)) {
            _ = config.validate()
        }
        #endif
    }
}
