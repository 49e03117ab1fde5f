/// Endpoint URLs parsed once (`WebhookTarget(url:)`), not on every POST. Keyed by the URL text: an
/// endpoint updated with a new URL misses and is parsed again. Endpoints are few; should the
/// URLs seen ever pass `maxEntries`, the cache starts over. Not thread-safe: the dispatcher thread.
struct WebhookTargetCache {
    /// Most URLs kept.
    static let maxEntries = 1024

    /// The parse of each URL seen, nil for one that is not an http(s) URL.
    private var byURL: [String: WebhookTarget?] = [:]

    /// `WebhookTarget(url: url)`, parsed on the first call for this URL text.
    mutating func target(_ url: String) -> WebhookTarget? {
        if let parsed = byURL[url] { return parsed }
        if byURL.count >= Self.maxEntries { byURL.removeAll(keepingCapacity: true) }
        let parsed = WebhookTarget(url: url)
        byURL[url] = parsed
        return parsed
    }

    /// URLs kept (for tests).
    var count: Int { byURL.count }
}
