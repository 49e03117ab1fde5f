extension DNSResponder {
    /// The authoritative cluster zone served by `DNSResponder`.
    ///
    /// Contents served: SOA and NS at `origin` (NS = every node's name), MX at `origin` pointing at
    /// `ingressName`, A/AAAA for `ingressName` (healthy nodes only, routed by region), A/AAAA for
    /// each node's own name (always, healthy or not, so NS targets resolve), and TXT records from
    /// `txt`. Names outside `origin` (including a node name or ingress name outside it) are not
    /// served. Every record uses `ttl`. Pure value; build it anywhere and hand it to the server.
    public struct Zone: Sendable, Hashable {
        /// One cluster node.
        public struct Node: Sendable, Hashable {
            public var id: String
            /// The node's own host name, e.g. `n1.relay.example`.
            public var name: DNSName
            /// IPv4 addresses, 4 bytes each.
            public var ipv4: [[UInt8]]
            /// IPv6 addresses, 16 bytes each.
            public var ipv6: [[UInt8]]
            /// Region label matching `Zone.Region.region`; nil for none.
            public var region: String?
            /// Unhealthy nodes are left out of the ingress name's answers.
            public var healthy: Bool

            /// Creates a node. Pure.
            public init(id: String, name: DNSName, ipv4: [[UInt8]] = [], ipv6: [[UInt8]] = [],
                        region: String? = nil, healthy: Bool = true) {
                self.id = id
                self.name = name
                self.ipv4 = ipv4.filter { $0.count == 4 }
                self.ipv6 = ipv6.filter { $0.count == 16 }
                self.region = region
                self.healthy = healthy
            }

            /// Convenience: parses the host name and IPv4/IPv6 address texts. Throws `DNSError`
            /// (`.invalidText` for an address that is not an IP literal). Pure.
            public init(id: String, name: String, addresses: [String], region: String? = nil, healthy: Bool = true) throws {
                var v4: [[UInt8]] = [], v6: [[UInt8]] = []
                for text in addresses {
                    guard let bytes = DNSIPAddress.parse(text) else {
                        throw DNSError(.invalidText, "node \(id): \"\(text)\" is not an IP address")
                    }
                    if bytes.count == 4 { v4.append(bytes) } else { v6.append(bytes) }
                }
                self.init(id: id, name: try DNSName(name), ipv4: v4, ipv6: v6, region: region, healthy: healthy)
            }
        }

        /// A client network assigned to a region.
        public struct Region: Sendable, Hashable {
            /// Network address, 4 or 16 bytes (masked to the prefix on init).
            public var network: [UInt8]
            public var prefixLength: Int
            public var region: String

            /// Creates a region network; the address is masked to `prefixLength`. Pure.
            public init(network: [UInt8], prefixLength: Int, region: String) {
                let bits = max(0, min(prefixLength, network.count * 8))
                self.network = DNSMessage.ClientSubnet.mask(network, bits: bits)
                self.prefixLength = bits
                self.region = region
            }

            /// Parses `192.0.2.0/24` / `2001:db8::/32`; nil when invalid. Pure.
            public init?(cidr: String, region: String) {
                guard let parsed = DNSIPAddress.parseNetwork(cidr) else { return nil }
                self.init(network: parsed.address, prefixLength: parsed.prefixLength, region: region)
            }

            /// Converts the config shape `{"eu": ["192.0.2.0/24"], ...}` into regions (sorted by
            /// region then network text, so the result is deterministic). Throws
            /// `DNSError(.invalidText)` naming the first bad network. Pure.
            public static func list(from map: [String: [String]]) throws -> [Region] {
                var out: [Region] = []
                for region in map.keys.sorted() {
                    for cidr in map[region]!.sorted() {
                        guard let parsed = Region(cidr: cidr, region: region) else {
                            throw DNSError(.invalidText, "region \(region): \"\(cidr)\" is not a network")
                        }
                        out.append(parsed)
                    }
                }
                return out
            }
        }

        /// SOA timers and names (RFC 1035 §3.3.13).
        public struct SOAFields: Sendable, Hashable {
            /// MNAME; nil means the first node's name (or the origin when there are no nodes).
            public var primaryNameServer: DNSName?
            /// RNAME; nil means `hostmaster.<origin>`.
            public var responsibleMailbox: DNSName?
            public var serial: UInt32
            public var refresh: UInt32
            public var retry: UInt32
            public var expire: UInt32
            /// Negative-caching bound; negative answers use min(minimum, zone ttl) (RFC 2308).
            public var minimum: UInt32

            /// Creates SOA fields with conventional defaults. Pure.
            public init(primaryNameServer: DNSName? = nil, responsibleMailbox: DNSName? = nil, serial: UInt32 = 1,
                        refresh: UInt32 = 3600, retry: UInt32 = 600, expire: UInt32 = 604_800, minimum: UInt32 = 60) {
                self.primaryNameServer = primaryNameServer
                self.responsibleMailbox = responsibleMailbox
                self.serial = serial
                self.refresh = refresh
                self.retry = retry
                self.expire = expire
                self.minimum = minimum
            }
        }

        public var origin: DNSName
        public var ingressName: DNSName
        /// TTL of every record, default 60.
        public var ttl: UInt32
        public var soa: SOAFields
        public var nodes: [Node]
        public var regions: [Region]
        /// TXT records by owner name; each string is one TXT record (split into 255-byte
        /// character-strings as needed).
        public var txt: [DNSName: [String]]
        /// Preference of the apex MX record.
        public var mxPreference: UInt16
        /// More MX records by owner name (e.g. the return-path names of sending domains inside the
        /// zone), each pointing at the given exchange with `mxPreference`.
        public var mx: [DNSName: DNSName] = [:]

        /// Creates a zone. Pure.
        public init(origin: DNSName, ingressName: DNSName, ttl: UInt32 = 60, soa: SOAFields = SOAFields(),
                    nodes: [Node] = [], regions: [Region] = [], txt: [DNSName: [String]] = [:], mxPreference: UInt16 = 10) {
            self.origin = origin
            self.ingressName = ingressName
            self.ttl = ttl
            self.soa = soa
            self.nodes = nodes
            self.regions = regions
            self.txt = txt
            self.mxPreference = mxPreference
        }

        /// Convenience: parses the origin and ingress names from text. Throws `DNSError` for bad names.
        public init(origin: String, ingressName: String, ttl: UInt32 = 60, soa: SOAFields = SOAFields(),
                    nodes: [Node] = [], regions: [Region] = [], txt: [DNSName: [String]] = [:]) throws {
            self.init(origin: try DNSName(origin), ingressName: try DNSName(ingressName), ttl: ttl, soa: soa,
                      nodes: nodes, regions: regions, txt: txt)
        }

        /// The TTL used for NXDOMAIN/NODATA answers and their SOA: min(SOA minimum, SOA TTL).
        public var negativeTTL: UInt32 { min(soa.minimum, ttl) }
    }
}
