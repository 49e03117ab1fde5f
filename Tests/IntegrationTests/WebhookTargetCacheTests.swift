import Testing
@testable import RelayNode

/// The dispatcher parses an endpoint's URL once: the cache answers as `WebhookTarget(url:)` does,
/// follows a URL update, and stays bounded.
@Suite("Webhook target cache")
struct WebhookTargetCacheTests {
    @Test("answers as WebhookTarget(url:) for valid and invalid URLs, again from the cache; a new URL is parsed anew")
    func sameAsParsing() {
        var cache = WebhookTargetCache()
        let urls = ["https://[::1]:8443/in?x=1", "http://hooks.example", "http://user@evil/", "gopher://x/", "HTTP://A.example:81?q",
                    "https://hooks.example/in", "https://hooks.example:444/in", ""]
        for _ in 0..<2 {
            for url in urls { #expect(cache.target(url) == WebhookTarget(url: url), "\(url)") }
        }
        #expect(cache.count == urls.count)
        // An endpoint updated to another URL gets that URL's target, not the cached one.
        #expect(cache.target("https://hooks.example/in")?.port == 443)
        #expect(cache.target("https://hooks.example:444/in")?.port == 444)
        #expect(cache.target("http://hooks.example/in")?.tls == false)
    }

    @Test("never holds more than maxEntries URLs; still right after starting over")
    func bounded() {
        var cache = WebhookTargetCache()
        for i in 0..<(WebhookTargetCache.maxEntries * 2 + 5) {
            let url = "https://h\(i).example:\(1 + i % 60_000)/p"
            #expect(cache.target(url) == WebhookTarget(url: url))
            #expect(cache.count <= WebhookTargetCache.maxEntries)
        }
        #expect(cache.target("https://h0.example:1/p")?.host == "h0.example")
    }
}
