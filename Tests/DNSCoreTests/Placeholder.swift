import Testing
@testable import DNSCore
@Test func placeholder() { #expect(1 == 1) }
