extension DNSMessage {
    /// EDNS0 OPT pseudo-record contents (RFC 6891). The extended RCODE bits are carried in
    /// `DNSMessage.rcode`, not here. Pure value; any thread.
    public struct EDNS: Sendable, Hashable {
        /// One EDNS option (code, raw data).
        public struct Option: Sendable, Hashable {
            public var code: UInt16
            public var data: [UInt8]
            /// Creates an option. Pure.
            public init(code: UInt16, data: [UInt8]) {
                self.code = code
                self.data = data
            }
            /// EDNS Client Subnet option code (RFC 7871).
            public static let clientSubnetCode: UInt16 = 8
        }

        /// Requestor's / responder's UDP payload size (OPT CLASS field).
        public var udpPayloadSize: UInt16
        /// EDNS version; only 0 is defined.
        public var version: UInt8
        /// DO bit (RFC 3225).
        public var dnssecOK: Bool
        /// Options in wire order.
        public var options: [Option]

        /// Creates EDNS data. Pure.
        public init(udpPayloadSize: UInt16 = 1232, version: UInt8 = 0, dnssecOK: Bool = false, options: [Option] = []) {
            self.udpPayloadSize = udpPayloadSize
            self.version = version
            self.dnssecOK = dnssecOK
            self.options = options
        }

        /// The first Client Subnet option, decoded. Throws `DNSError(.badOPT)` when the option is
        /// present but malformed (RFC 7871 §7.1.1 asks for FORMERR); nil when absent. Pure.
        public func clientSubnet() throws -> ClientSubnet? {
            guard let option = options.first(where: { $0.code == Option.clientSubnetCode }) else { return nil }
            return try ClientSubnet(optionData: option.data)
        }

        /// Size of the encoded OPT record in bytes.
        var encodedSize: Int {
            var size = 11
            for option in options { size += 4 + option.data.count }
            return size
        }
    }

    /// EDNS Client Subnet option value (RFC 7871 §6). Pure value; any thread.
    public struct ClientSubnet: Sendable, Hashable {
        /// Address family: 1 = IPv4, 2 = IPv6.
        public var family: UInt16
        public var sourcePrefixLength: UInt8
        public var scopePrefixLength: UInt8
        /// Full-length address (4 or 16 bytes), bits beyond the source prefix zero.
        public var address: [UInt8]

        /// Builds an option value from an address (4 or 16 bytes) and prefix length, masking the
        /// address to the prefix. Pure.
        public init(address: [UInt8], sourcePrefixLength: UInt8, scopePrefixLength: UInt8 = 0) {
            self.family = address.count == 4 ? 1 : 2
            let maxBits = address.count * 8
            let source = min(Int(sourcePrefixLength), maxBits)
            self.sourcePrefixLength = UInt8(source)
            self.scopePrefixLength = scopePrefixLength
            self.address = ClientSubnet.mask(address, bits: source)
        }

        /// Decodes option data; throws `DNSError(.badOPT)` for an unknown family, a prefix longer
        /// than the family allows, an address of the wrong length, or non-zero bits past the prefix.
        public init(optionData data: [UInt8]) throws {
            guard data.count >= 4 else { throw DNSError(.badOPT, "client subnet option shorter than 4 bytes") }
            let family = UInt16(data[0]) << 8 | UInt16(data[1])
            let source = data[2], scope = data[3]
            let fullLength: Int
            switch family {
            case 1: fullLength = 4
            case 2: fullLength = 16
            default: throw DNSError(.badOPT, "client subnet family \(family) unsupported")
            }
            guard Int(source) <= fullLength * 8, Int(scope) <= fullLength * 8 else {
                throw DNSError(.badOPT, "client subnet prefix longer than the address")
            }
            let addressBytes = (Int(source) + 7) / 8
            guard data.count - 4 == addressBytes else {
                throw DNSError(.badOPT, "client subnet address has \(data.count - 4) bytes, prefix needs \(addressBytes)")
            }
            var address = Array(data[4...])
            if source % 8 != 0, let last = address.last {
                let keep = UInt8(truncatingIfNeeded: 0xFF << (8 - Int(source) % 8))
                guard last & ~keep == 0 else { throw DNSError(.badOPT, "client subnet address has bits past the prefix") }
            }
            address.append(contentsOf: repeatElement(0, count: fullLength - address.count))
            self.family = family
            self.sourcePrefixLength = source
            self.scopePrefixLength = scope
            self.address = address
        }

        /// The option data (family, prefixes, address truncated to the source prefix). Pure.
        public var optionData: [UInt8] {
            let count = (Int(sourcePrefixLength) + 7) / 8
            var out: [UInt8] = [UInt8(family >> 8), UInt8(family & 0xFF), sourcePrefixLength, scopePrefixLength]
            out.append(contentsOf: address.prefix(count))
            return out
        }

        /// The option as an `EDNS.Option`. Pure.
        public var option: EDNS.Option { EDNS.Option(code: EDNS.Option.clientSubnetCode, data: optionData) }

        /// `address` with every bit past `bits` cleared. Pure.
        static func mask(_ address: [UInt8], bits: Int) -> [UInt8] {
            var out = address
            for i in 0..<out.count {
                let start = i * 8
                if start >= bits { out[i] = 0 }
                else if start + 8 > bits { out[i] &= UInt8(truncatingIfNeeded: 0xFF << (8 - (bits - start))) }
            }
            return out
        }
    }
}
