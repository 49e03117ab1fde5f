import Foundation
import HTTPCore
import SpoolStore

extension AdminServer {
    /// Most events of one type read for a complaint-rate window.
    static let complaintRateScanLimit = 10_000

    /// `GET /v1/complaint-rates?hours=H&tenant=T`: per tenant, the `complained` and `delivered`
    /// events of the last `hours` (default 24, at most 720) and their ratio (`complaintRate`). At
    /// most 10,000 events of each type are counted; `capped` says when that bound was hit (the rate
    /// is then an upper estimate). Nil for other paths. The caller checked the token.
    func complaintRateResponse(for request: HTTPRequest, keepAlive: Bool) -> [UInt8]? {
        guard request.method == "GET", AdminServer.pathSegments(request) == ["v1", "complaint-rates"] else { return nil }
        guard let hours = Int(request.query("hours") ?? "24"), (1...720).contains(hours) else {
            return AdminServer.response(400, json: ["error": "hours must be 1...720"], keepAlive: keepAlive)
        }
        let since = Int64(Date().timeIntervalSince1970 * 1000) - Int64(hours) * 3_600_000
        let only = request.query("tenant")
        do {
            let limit = Self.complaintRateScanLimit
            let complained = try store.events(EventQuery(type: .complained, since: since, limit: limit))
            let delivered = try store.events(EventQuery(type: .delivered, since: since, limit: limit))
            var counts: [String: (complained: Int, delivered: Int)] = [:]
            for e in complained where only == nil || e.tenant == only { counts[e.tenant, default: (0, 0)].complained += 1 }
            for e in delivered where only == nil || e.tenant == only { counts[e.tenant, default: (0, 0)].delivered += 1 }
            if let only, counts[only] == nil { counts[only] = (0, 0) }
            let tenants = counts.keys.sorted().map { t -> [String: Any] in
                let c = counts[t]!
                return ["tenant": t, "complained": c.complained, "delivered": c.delivered,
                        "complaintRate": c.delivered == 0 ? (c.complained > 0 ? 1.0 : 0.0) : Double(c.complained) / Double(c.delivered)]
            }
            return AdminServer.response(200, json: ["hours": hours, "tenants": tenants,
                                                    "capped": complained.count >= limit || delivered.count >= limit],
                                        keepAlive: keepAlive)
        } catch {
            return AdminServer.response(500, json: ["error": "\(error)"], keepAlive: keepAlive)
        }
    }
}
