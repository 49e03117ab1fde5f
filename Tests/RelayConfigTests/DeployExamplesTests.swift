import Foundation
import Testing
@testable import RelayConfig

@Suite("deploy/examples configs")
struct DeployExamplesTests {
    static let examplesDir: String = {
        // Tests/RelayConfigTests/<this file> → repository root → deploy/examples
        let here = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        return here.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("deploy/examples").path
    }()

    @Test("every example decodes and validates; the only errors are secret/cert files absent on this machine",
          arguments: ["single-node.json", "cluster-n1.json", "smarthost.json", "test-local.json", "spamfilter.json"])
    func example(name: String) throws {
        let path = DeployExamplesTests.examplesDir + "/" + name
        #expect(FileManager.default.fileExists(atPath: path))
        let result = RelayConfig.check(path: path, hashIterations: 1000)
        let errors = result.problems.filter { $0.severity == .error && !$0.message.hasSuffix("does not exist") }
        #expect(errors.isEmpty, "\(errors)")
    }

    @Test("the example's passwordHash (made with Python's hashlib) verifies with PasswordHasher")
    func crossImplementationHash() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: DeployExamplesTests.examplesDir + "/single-node.json"))
        let text = String(decoding: data, as: UTF8.self)
        let start = try #require(text.range(of: "$pbkdf2-sha256$"))
        let end = try #require(text[start.lowerBound...].firstIndex(of: "\""))
        let hash = String(text[start.lowerBound..<end])
        #expect(PasswordHasher.verify("example-password", against: hash))
        #expect(!PasswordHasher.verify("example-passwore", against: hash))
    }

    @Test("the test-local example loads completely with port 0 listeners and a relative data dir")
    func testLocalLoads() throws {
        let c = try RelayConfig.load(path: DeployExamplesTests.examplesDir + "/test-local.json", hashIterations: 1000)
        #expect(c.listen.submission == [HostPort("127.0.0.1:0")!])
        #expect(c.node.dataDir == DeployExamplesTests.examplesDir + "/data")
        #expect(c.routes.first?.tls == RelayConfig.RouteTLS.none)
    }
}
