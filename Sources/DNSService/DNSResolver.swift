import DNSCore
import Glibc
import Synchronization

/// Stub resolver for the delivery engine: asks recursive nameservers over UDP (TCP when the
/// reply is truncated), with a per-try timeout, moving to the next nameserver on timeout,
/// SERVFAIL/REFUSED or a mismatched reply. Results are cached by TTL in one cache shared by all
/// callers.
///
/// Lead-engineer entry points: `resolveMX(_:)` → `DNSResolution`, `resolveHost(_:)` /
/// `resolveAddresses(_:)` for an exchanger's addresses, `lookup(_:_:)` for anything else.
///
/// Every `resolve…`/`lookup` call BLOCKS the calling thread until an answer or until all tries
/// time out (worst case ≈ nameservers × attempts × timeout). Safe to call from any number of
/// threads at once; never call it from an event-loop thread that must not block.
public final class DNSResolver: Sendable {
    /// Nameservers in the order they are tried.
    public let nameservers: [DNSSocketAddress]
    /// Seconds to wait for one reply from one nameserver.
    public let timeout: Double
    /// Rounds over the whole nameserver list.
    public let attempts: Int

    private let cache: Mutex<DNSCache>

    /// Creates a resolver. `nameservers` are `"127.0.0.1:5353"` / `"[::1]:53"` / `"10.0.0.1"`;
    /// when empty, the `nameserver` lines of `resolvConf` are used. Throws `DNSServiceError`
    /// (`.invalidAddress`, `.noNameservers`). `failureCacheSeconds` remembers a temporary failure
    /// briefly so concurrent deliveries to a dead domain don't each wait out every timeout.
    /// Reads resolv.conf only when needed; any thread.
    public init(nameservers: [String] = [], timeout: Double = 2.0, attempts: Int = 2,
                cacheCapacity: Int = 10_000, failureCacheSeconds: Double = 5,
                resolvConf: String = "/etc/resolv.conf") throws {
        var list = nameservers
        if list.isEmpty { list = DNSResolver.nameservers(fromResolvConf: resolvConf) }
        guard !list.isEmpty else { throw DNSServiceError(.noNameservers, "no nameserver configured or in \(resolvConf)") }
        self.nameservers = try list.map { try DNSSocketAddress($0) }
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self.cache = Mutex(DNSCache(capacity: cacheCapacity, failureTTL: failureCacheSeconds))
    }

    /// The `nameserver` addresses listed in a resolv.conf file (empty when unreadable).
    /// Blocks on file I/O; any thread.
    public static func nameservers(fromResolvConf path: String) -> [String] {
        guard let file = fopen(path, "r") else { return [] }
        defer { fclose(file) }
        var result: [String] = []
        var line = [CChar](repeating: 0, count: 1024)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" })
            if fields.count >= 2, fields[0] == "nameserver" {
                var host = String(fields[1])
                if let percent = host.firstIndex(of: "%") { host = String(host[..<percent]) } // drop IPv6 zone
                if DNSIPAddress.parse(host) != nil {
                    result.append(host.contains(":") ? "[\(host)]:53" : "\(host):53")
                }
            }
        }
        return result
    }

    /// Resolves the mail exchangers of `domain` (MX, null MX, implicit MX via A/AAAA).
    /// BLOCKS (network I/O); any thread.
    public func resolveMX(_ domain: String) -> DNSResolution {
        guard let name = try? DNSName(domain), !name.isRoot else { return .nxdomain }
        var random = SystemRandomNumberGenerator()
        let mx = lookup(name, .mx)
        if let resolution = DNSResolverCore.resolution(forMX: mx, domain: name, random: &random) {
            return resolution
        }
        return DNSResolverCore.implicitMX(domain: name, a: lookup(name, .a), aaaa: lookup(name, .aaaa))
    }

    /// The host's IPv4 addresses followed by its IPv6 addresses, as text; an IP literal
    /// (optionally in brackets) is returned as is. Empty when none or on failure (use
    /// `resolveHost` to tell the two apart). BLOCKS (network I/O); any thread.
    public func resolveAddresses(_ host: String) -> [String] {
        resolveHost(host).addresses
    }

    /// Like `resolveAddresses`, but says why there is no address: a temporary failure (retry
    /// later), NXDOMAIN, or a name without A/AAAA. BLOCKS (network I/O); any thread.
    public func resolveHost(_ host: String) -> DNSAddressResult {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if let literal = DNSIPAddress.parse(bare), let text = DNSIPAddress.format(literal) {
            return DNSAddressResult(addresses: [text])
        }
        guard let name = try? DNSName(bare), !name.isRoot else { return DNSAddressResult(addresses: [], nxdomain: true) }
        return DNSResolverCore.addressResult(a: lookup(name, .a), aaaa: lookup(name, .aaaa))
    }

    /// The PTR names of an IP address text (reverse DNS), empty when none or on failure.
    /// BLOCKS (network I/O); any thread.
    public func resolvePTR(_ address: String) -> [String] {
        guard let bytes = DNSIPAddress.parse(address), let name = DNSName.reverse(address: bytes) else { return [] }
        return DNSResolverCore.ptrNames(from: lookup(name, .ptr))
    }

    /// The TXT records of `name`, each joined into one string (SPF, DMARC, DKIM keys); empty when
    /// none or on failure (use `lookup(_:_:)` to tell the two apart). BLOCKS; any thread.
    public func resolveTXT(_ name: String) -> [String] {
        guard let parsed = try? DNSName(name), !parsed.isRoot else { return [] }
        return DNSResolverCore.texts(from: lookup(parsed, .txt))
    }

    /// One lookup of (name, type), following CNAMEs, using and filling the cache.
    /// BLOCKS (network I/O); any thread.
    public func lookup(_ name: DNSName, _ type: DNSRecordType) -> DNSLookup.Outcome {
        if let cached = cache.withLock({ $0.lookup(name, type, now: DNSSocket.now()) }) { return cached }
        var machine = DNSLookup(name: name, type: type)
        var question = machine.question
        while true {
            let reply = exchange(question)
            switch machine.advance(with: reply) {
            case .query(let next):
                question = next
            case .done(let outcome):
                cache.withLock { $0.store(outcome, for: name, type, now: DNSSocket.now()) }
                return outcome
            }
        }
    }

    /// Drops every cached answer. Any thread.
    public func flushCache() {
        cache.withLock { $0.removeAll() }
    }

    /// Asks each nameserver in turn (for `attempts` rounds) until one gives a usable reply. A server
    /// that rejects EDNS is asked again at once without it.
    func exchange(_ question: DNSMessage.Question) -> DNSResolverCore.Reply {
        var lastFailure = "no nameserver answered"
        for _ in 0..<attempts {
            for server in nameservers {
                var reply: DNSResolverCore.Reply
                switch ask(question, server: server, edns: true) {
                case .success(let r): reply = r
                case .failure(let reason):
                    lastFailure = reason
                    continue
                }
                if case .ednsRejected = reply {
                    switch ask(question, server: server, edns: false) {
                    case .success(let r): reply = r
                    case .failure(let reason):
                        lastFailure = reason
                        continue
                    }
                }
                switch reply {
                case .failure(let reason), .ednsRejected(let reason):
                    lastFailure = "\(server): \(reason)"
                    continue
                case .truncated:
                    lastFailure = "\(server): truncated even over TCP"
                    continue
                default:
                    return reply
                }
            }
        }
        return .failure(lastFailure)
    }

    /// One question to one server over UDP, and over TCP when the UDP reply was truncated.
    private func ask(_ question: DNSMessage.Question, server: DNSSocketAddress, edns: Bool) -> Attempt {
        let id = UInt16.random(in: 0...UInt16.max)
        let query = DNSResolverCore.makeQuery(id: id, question: question, udpPayloadSize: edns ? 1232 : nil)
        switch udpExchange(query, id: id, question: question, server: server) {
        case .success(.truncated):
            switch tcpExchange(query, id: id, question: question, server: server) {
            case .success(let r): return .success(r)
            case .failure(let reason): return .failure("\(server) (TCP): \(reason)")
            }
        case .success(let r): return .success(r)
        case .failure(let reason): return .failure("\(server): \(reason)")
        }
    }
}
