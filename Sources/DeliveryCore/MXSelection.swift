/// Orders a domain's mail exchangers for delivery (RFC 5321 section 5.1): by preference, with
/// hosts of equal preference shuffled by the caller's random generator so load spreads; handles
/// the implicit MX (no MX records: the domain itself) and the null MX (RFC 7505).
///
/// Pure; any thread may call it.
public enum MXSelection {
    /// One MX record.
    public struct Target: Sendable, Hashable {
        /// Host name (lowercased, without trailing dot after `plan`).
        public var host: String
        /// Preference; lower is tried first.
        public var preference: UInt16

        /// Creates a target. Pure; any caller.
        public init(host: String, preference: UInt16) {
            self.host = host
            self.preference = preference
        }
    }

    /// What to do for a domain.
    public enum Plan: Sendable, Equatable {
        /// Try these hosts in order.
        case hosts([Target])
        /// The domain has no MX records: deliver to the domain's own address records.
        case implicit(host: String)
        /// The domain declares it accepts no mail (null MX): bounce with 556 5.1.10.
        case nullMX
        /// Every MX was at or above our own preference (we are the best MX): nowhere to relay.
        case loopsBackToUs
    }

    /// Hosts ordered by preference, equal preferences shuffled with `generator`. Pure.
    public static func order<G: RandomNumberGenerator>(_ targets: [Target], using generator: inout G) -> [Target] {
        let sorted = targets.sorted { $0.preference < $1.preference }
        var result: [Target] = []
        result.reserveCapacity(sorted.count)
        var start = 0
        while start < sorted.count {
            var end = start + 1
            while end < sorted.count, sorted[end].preference == sorted[start].preference { end += 1 }
            var group = Array(sorted[start..<end])
            group.shuffle(using: &generator)
            result.append(contentsOf: group)
            start = end
        }
        return result
    }

    /// The delivery plan for `domain` given its MX `records`: normalises names (lowercase, no
    /// trailing dot), drops duplicates (keeping the best preference), detects a null MX, drops
    /// hosts at or above the preference of any of `localHostnames` (RFC 5321 5.1), and orders the
    /// rest with `order`. Pure; any caller.
    public static func plan<G: RandomNumberGenerator>(domain: String, records: [Target], localHostnames: Set<String> = [],
                                                      using generator: inout G) -> Plan {
        if records.isEmpty { return .implicit(host: normalise(domain)) }
        var best: [String: UInt16] = [:]
        for record in records {
            let host = normalise(record.host)
            best[host] = min(best[host] ?? .max, record.preference)
        }
        if best.keys.contains("") {
            // A single "." MX with preference 0 is a null MX; "." mixed with real hosts is ignored.
            if best.count == 1 { return .nullMX }
            best[""] = nil
        }
        let locals = Set(localHostnames.map(normalise))
        if let ours = best.filter({ locals.contains($0.key) }).map(\.value).min() {
            best = best.filter { $0.value < ours }
            if best.isEmpty { return .loopsBackToUs }
        }
        let targets = best.map { Target(host: $0.key, preference: $0.value) }.sorted { $0.host < $1.host }
        return .hosts(order(targets, using: &generator))
    }

    private static func normalise(_ host: String) -> String {
        var host = host.lowercased()
        while host.hasSuffix(".") { host.removeLast() }
        return host
    }
}
