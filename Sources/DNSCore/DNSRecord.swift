/// One resource record: owner name, type (implied by `data`), class, TTL and typed data.
///
/// OPT pseudo-records are not represented here; they live in `DNSMessage.edns`.
/// Pure value; any thread.
public struct DNSRecord: Sendable, Hashable {
    /// Typed record data. Unknown types keep their raw bytes (RFC 3597).
    public enum RData: Sendable, Hashable {
        /// IPv4 address, 4 bytes.
        case a([UInt8])
        /// IPv6 address, 16 bytes.
        case aaaa([UInt8])
        case ns(DNSName)
        case cname(DNSName)
        case ptr(DNSName)
        case mx(preference: UInt16, exchange: DNSName)
        /// Character strings, each at most 255 bytes.
        case txt([[UInt8]])
        case soa(SOA)
        /// Any other type, raw RDATA.
        case unknown(type: DNSRecordType, data: [UInt8])

        /// The record type of this data.
        public var type: DNSRecordType {
            switch self {
            case .a: .a
            case .aaaa: .aaaa
            case .ns: .ns
            case .cname: .cname
            case .ptr: .ptr
            case .mx: .mx
            case .txt: .txt
            case .soa: .soa
            case .unknown(let type, _): type
            }
        }
    }

    /// SOA record data (RFC 1035 §3.3.13).
    public struct SOA: Sendable, Hashable {
        public var primaryNameServer: DNSName
        public var responsibleMailbox: DNSName
        public var serial: UInt32
        public var refresh: UInt32
        public var retry: UInt32
        public var expire: UInt32
        /// Negative-caching TTL bound (RFC 2308).
        public var minimum: UInt32

        /// Creates SOA data. Pure.
        public init(primaryNameServer: DNSName, responsibleMailbox: DNSName, serial: UInt32,
                    refresh: UInt32, retry: UInt32, expire: UInt32, minimum: UInt32) {
            self.primaryNameServer = primaryNameServer
            self.responsibleMailbox = responsibleMailbox
            self.serial = serial
            self.refresh = refresh
            self.retry = retry
            self.expire = expire
            self.minimum = minimum
        }
    }

    public var name: DNSName
    public var dnsClass: DNSClass
    public var ttl: UInt32
    public var data: RData

    /// The record type, derived from `data`.
    public var type: DNSRecordType { data.type }

    /// Creates a record (class IN by default). Pure.
    public init(name: DNSName, dnsClass: DNSClass = .in, ttl: UInt32, data: RData) {
        self.name = name
        self.dnsClass = dnsClass
        self.ttl = ttl
        self.data = data
    }
}
