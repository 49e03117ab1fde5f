import DeliveryCore
import Foundation
import SendarixSupport

/// The operator dashboard's static files (`/ui/` on the admin listener), compiled into the binary
/// so every node serves the same page with no files beside it and no network access.
///
/// The page itself holds no data: its script asks for the admin token, keeps it in
/// `sessionStorage` and reads the JSON API with `Authorization: Bearer`. Immutable values built
/// once; any thread.
enum DashboardAssets {
    /// One file: its bytes, media type and a strong validator.
    struct Asset: Sendable {
        let contentType: String
        let bytes: [UInt8]
        /// A quoted strong entity tag derived from the bytes.
        let etag: String
        /// True when the URL names the content (a `?v=` version), so it may be cached for a year.
        let immutable: Bool

        init(_ contentType: String, _ text: String, immutable: Bool) {
            self.contentType = contentType
            bytes = Array(text.utf8)
            etag = "\"" + DashboardAssets.fingerprint(bytes) + "\""
            self.immutable = immutable
        }
    }

    /// The files by path below `/ui/` (`""` is the page).
    static let files: [String: Asset] = {
        let script = Asset("text/javascript; charset=utf-8", DashboardAssets.scriptText, immutable: true)
        let style = Asset("text/css; charset=utf-8", DashboardAssets.styleText, immutable: true)
        // The page names the versions of its script and style sheet, so a browser that cached an
        // older build's files fetches the new ones after an upgrade.
        let page = DashboardAssets.pageText
            .replacingOccurrences(of: "{{scriptVersion}}", with: fingerprint(script.bytes))
            .replacingOccurrences(of: "{{styleVersion}}", with: fingerprint(style.bytes))
        let index = Asset("text/html; charset=utf-8", page, immutable: false)
        return [
            "": index, "index.html": index, "app.js": script, "app.css": style,
            "favicon.svg": Asset("image/svg+xml", DashboardAssets.faviconText, immutable: false),
            "providers.json": Asset("application/json", providersJSON(), immutable: false),
        ]
    }()

    /// The Content-Security-Policy of every dashboard response: only this origin's script, style,
    /// images and API; no inline script or style, no frames, no form posts.
    static let contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        + "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

    /// The MX host suffixes that name a mailbox provider (`Provider.mxSuffixes`), for grouping
    /// deferrals and blocks by provider in the browser: `{"suffixes": [["google.com","google"], …]}`.
    static func providersJSON() -> String {
        let pairs = Provider.mxSuffixes.map { [$0.suffix, $0.provider.rawValue] }
        let data = (try? JSONSerialization.data(withJSONObject: ["suffixes": pairs], options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    /// 64-bit FNV-1a of `bytes` as 16 hex digits: a version tag, not a security measure.
    static func fingerprint(_ bytes: [UInt8]) -> String {
        let hex = String(FNV1a64.hash(bytes), radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    static let faviconText = """
        <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#1f5fa8"/>\
        <path d="M3 5h10v6H3z" fill="none" stroke="#fff" stroke-width="1.2"/><path d="M3 5l5 4 5-4" fill="none" \
        stroke="#fff" stroke-width="1.2"/></svg>
        """
}
