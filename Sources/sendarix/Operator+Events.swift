import Foundation
import HTTPCore

extension Operator {
    /// The `/v1/events` query of the `events` command's filter options.
    static func eventSearchItems(_ named: [String: String]) -> [HTTPQuery.Item] {
        var items: [HTTPQuery.Item] = []
        for (flag, key) in [("recipient", "recipient"), ("sender", "sender"), ("type", "type"),
                            ("queue-id", "queueId"), ("since", "since"), ("until", "until"), ("limit", "limit"),
                            ("tenant", "tenant"), ("domain", "domain"), ("message-id", "messageId"),
                            ("bounce-class", "bounceClass"), ("cursor", "cursor")] {
            if let v = named[flag] { items.append(HTTPQuery.Item(name: key, value: v)) }
        }
        return items
    }

    /// `events stats`: `GET /v1/events/stats`.
    static func eventStats(_ target: AdminTarget, _ named: [String: String]) throws -> Int32 {
        var items: [HTTPQuery.Item] = []
        for key in ["by", "resolution", "from", "to", "key"] {
            if let v = named[key] { items.append(HTTPQuery.Item(name: key, value: v)) }
        }
        return try show(target.get("/v1/events/stats?" + HTTPQuery.encode(items)))
    }

    /// `events --follow [--after ID]`: long-polls `GET /v1/events/feed` from the newest event (or
    /// the event `--after` names) and prints every
    /// new event matching the filters as one JSON line, until interrupted. Blocks.
    static func followEvents(_ target: AdminTarget, _ named: [String: String]) throws -> Int32 {
        var last = "0-0"
        if let after = named["after"] {
            last = after
        } else {
            let (status, body) = try target.get("/v1/events/feed")
            guard status == 200, let obj = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
                return try show((status, body))
            }
            if let l = obj["last"] as? String { last = l }
        }
        let filters: [(String, String)] = [("recipient", "recipient"), ("sender", "sender"), ("type", "type"),
                                           ("queue-id", "queueId"), ("tenant", "tenant"), ("message-id", "messageId")]
            .compactMap { flag, key in named[flag].map { (key, $0.lowercased()) } }
        while true {
            let path = "/v1/events/feed?wait=8&after=" + HTTPQuery.percentEncode(last)
            let (status, body) = try target.get(path)
            guard status == 200, let obj = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
                return try show((status, body))
            }
            for event in obj["events"] as? [[String: Any]] ?? [] {
                let keep = filters.allSatisfy { key, value in (event[key] as? String)?.lowercased() == value }
                if keep, let line = try? JSONSerialization.data(withJSONObject: event, options: [.sortedKeys]) {
                    FileHandle.standardOutput.write(line + Data("\n".utf8))
                }
            }
            if let l = obj["last"] as? String { last = l }
        }
    }
}
