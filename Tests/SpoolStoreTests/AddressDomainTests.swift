import Testing
@testable import SpoolStore

/// The domain of an address is what follows its last `@`, found and split on UTF-8 bytes.
@Suite("Domain of an address")
struct AddressDomainTests {
    @Test("the domain follows the last @; a combining mark right after the @ stays in the domain instead of being skipped with it (a Character step would give another, valid domain)")
    func domainAfterLastAt() {
        #expect(SpoolKeys.EventIndex.domain(of: "user@Example.COM") == "Example.COM")
        #expect(SpoolKeys.EventIndex.domain(of: "\"a@b\"@c.test") == "c.test")
        #expect(SpoolKeys.EventIndex.domain(of: "user@") == nil)
        #expect(SpoolKeys.EventIndex.domain(of: "no-at") == nil)
        #expect(SpoolKeys.EventIndex.domain(of: "a@\u{301}x.test") == "\u{301}x.test")
        #expect(SpoolKeys.EventIndex.domain(of: "δοκιμή@παράδειγμα.δοκιμή") == "παράδειγμα.δοκιμή")
    }
}
