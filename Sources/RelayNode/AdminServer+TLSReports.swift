import DeliveryCore
import DeliveryEngine
import Foundation
import HTTPCore
import SendarixSupport

extension AdminServer {
    /// `GET /v1/tls-reports?domain=D&since=T&until=T`: RFC 8460 aggregate TLS reports built from
    /// this node's in-memory outcomes of MX sessions (times RFC 3339 or epoch seconds; default:
    /// the current UTC day). With `domain` the report itself; without, `{"reports": [...]}` for
    /// every domain with outcomes in the period. Nil for other paths. The caller checked the token.
    func tlsReportResponse(for request: HTTPRequest, keepAlive: Bool) -> [UInt8]? {
        guard request.method == "GET", AdminServer.pathSegments(request) == ["v1", "tls-reports"] else { return nil }
        guard let engine = delivery, engine.tlsReportsAvailable else {
            return AdminServer.response(503, json: ["error": "TLS reports need delivery with delivery.mtaSts.enabled and a resolver"],
                                        keepAlive: keepAlive)
        }
        let now = Date().timeIntervalSince1970
        let today = (now / 86_400).rounded(.down) * 86_400
        guard let since = AdminServer.reportTime(request.query("since"), default: today),
              let until = AdminServer.reportTime(request.query("until"), default: today + 86_400), until > since else {
            return AdminServer.response(400, json: ["error": "since and until must be RFC 3339 times or epoch seconds, since before until"],
                                        keepAlive: keepAlive)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body: Data?
        if let domain = request.query("domain"), !domain.isEmpty {
            body = try? encoder.encode(engine.tlsReport(domain: domain, since: since, until: until))
        } else {
            let reports = engine.tlsReportDomains(since: since, until: until).compactMap {
                engine.tlsReport(domain: $0, since: since, until: until)
            }
            body = try? encoder.encode(["reports": reports])
        }
        guard let body else { return AdminServer.response(500, json: ["error": "encoding the report failed"], keepAlive: keepAlive) }
        return AdminServer.response(200, body: Array(body), contentType: "application/json", keepAlive: keepAlive)
    }

    /// An RFC 3339 time or epoch seconds as seconds; `fallback` when absent, nil when malformed.
    static func reportTime(_ text: String?, default fallback: Double) -> Double? {
        guard let text, !text.isEmpty else { return fallback }
        if let seconds = Double(text) { return seconds }
        return CivilDate.parseRFC3339(text).map { Double($0) / 1000 }
    }
}
