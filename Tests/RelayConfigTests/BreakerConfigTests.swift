import Foundation
import Testing
@testable import RelayConfig

@Suite("RelayConfig circuit breaker cap")
struct BreakerConfigTests {
    @Test("maxOpenSeconds is read, defaults to 300 s and never falls below openSeconds")
    func readsCap() throws {
        let set = try parseConfig(#"{"delivery": {"circuitBreaker": {"openSeconds": 20, "maxOpenSeconds": 90}}}"#)
        #expect(set.delivery.circuitBreaker.openSeconds == 20 && set.delivery.circuitBreaker.maxOpenSeconds == 90)
        #expect(try parseConfig("{}").delivery.circuitBreaker.maxOpenSeconds == 300)
        // A first period longer than the default cap raises the default cap with it.
        #expect(try parseConfig(#"{"delivery": {"circuitBreaker": {"openSeconds": 900}}}"#)
                    .delivery.circuitBreaker.maxOpenSeconds == 900)
    }

    @Test("a cap below the first open period or above a day is reported with its path")
    func rejectsBadCap() {
        #expect(problems(#"{"delivery": {"circuitBreaker": {"openSeconds": 60, "maxOpenSeconds": 30}}}"#)
                == ["delivery.circuitBreaker.maxOpenSeconds: 30 is out of range (60...86400)"])
        #expect(problems(#"{"delivery": {"circuitBreaker": {"maxOpenSeconds": 100000}}}"#)
                == ["delivery.circuitBreaker.maxOpenSeconds: 100000 is out of range (60...86400)"])
    }
}
