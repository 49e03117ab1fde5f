import Foundation
@testable import RelayConfig

/// A fresh temporary directory per test, removed by the caller with `remove()`.
struct TempDir {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "relayconfig-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func write(_ name: String, _ contents: String) -> String {
        let p = path + "/" + name
        _ = FileManager.default.createFile(atPath: p, contents: Data(contents.utf8))
        return p
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// Parses JSON text with cheap hashing (tests only).
func parseConfig(_ json: String, base: String = "/etc/sendarix") throws -> RelayConfig {
    try RelayConfig.parse(data: Data(json.utf8), baseDirectory: base, hashIterations: 1000)
}

/// The problems reported for JSON text ("" when it parses), one `description` per line.
func problems(_ json: String, base: String = "/etc/sendarix") -> [String] {
    do {
        _ = try parseConfig(json, base: base)
        return []
    } catch let e as RelayConfigError {
        return e.problems.filter { $0.severity == .error }.map(\.description)
    } catch {
        return ["unexpected \(error)"]
    }
}
