/// A DNS message (RFC 1035 §4): header, questions, answer/authority/additional records and an
/// optional EDNS0 OPT pseudo-record (RFC 6891).
///
/// Decode with `DNSMessage(decoding:)`, encode with `encoded()` / `encoded(limit:)`.
/// `rcode` is the full 12-bit response code: its low 4 bits go in the header, the upper 8 bits in
/// the OPT record (so codes above 15 need `edns`). Pure value; any thread.
public struct DNSMessage: Sendable, Hashable {
    /// Operation code (header bits 1-4).
    public struct Opcode: RawRepresentable, Hashable, Sendable {
        /// The 4-bit opcode.
        public var rawValue: UInt8
        /// Wraps an opcode, keeping the low 4 bits. Pure.
        public init(rawValue: UInt8) { self.rawValue = rawValue & 0x0F }
        public static let query = Opcode(rawValue: 0)
        public static let iquery = Opcode(rawValue: 1)
        public static let status = Opcode(rawValue: 2)
        public static let notify = Opcode(rawValue: 4)
        public static let update = Opcode(rawValue: 5)
    }

    /// Response code, 12 bits with EDNS (RFC 6891 §6.1.3).
    public struct RCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        /// The 12-bit response code.
        public var rawValue: UInt16
        /// Wraps a response code, keeping the low 12 bits. Pure.
        public init(rawValue: UInt16) { self.rawValue = rawValue & 0x0FFF }
        public static let noError = RCode(rawValue: 0)
        public static let formatError = RCode(rawValue: 1)
        public static let serverFailure = RCode(rawValue: 2)
        public static let nameError = RCode(rawValue: 3)
        public static let notImplemented = RCode(rawValue: 4)
        public static let refused = RCode(rawValue: 5)
        public static let badVersion = RCode(rawValue: 16)

        /// Mnemonic such as `NXDOMAIN`.
        public var description: String {
            switch rawValue {
            case 0: "NOERROR"
            case 1: "FORMERR"
            case 2: "SERVFAIL"
            case 3: "NXDOMAIN"
            case 4: "NOTIMP"
            case 5: "REFUSED"
            case 16: "BADVERS"
            default: "RCODE\(rawValue)"
            }
        }
    }

    /// One question entry.
    public struct Question: Sendable, Hashable {
        public var name: DNSName
        public var type: DNSRecordType
        public var dnsClass: DNSClass
        /// Creates a question (class IN by default). Pure.
        public init(name: DNSName, type: DNSRecordType, dnsClass: DNSClass = .in) {
            self.name = name
            self.type = type
            self.dnsClass = dnsClass
        }
    }

    public var id: UInt16
    /// QR: true for responses.
    public var isResponse: Bool
    public var opcode: Opcode
    /// AA.
    public var isAuthoritative: Bool
    /// TC.
    public var isTruncated: Bool
    /// RD.
    public var recursionDesired: Bool
    /// RA.
    public var recursionAvailable: Bool
    /// AD (RFC 4035).
    public var authenticData: Bool
    /// CD (RFC 4035).
    public var checkingDisabled: Bool
    /// Full response code (header low 4 bits + OPT extended bits).
    public var rcode: RCode
    public var questions: [Question]
    public var answers: [DNSRecord]
    public var authorities: [DNSRecord]
    /// Additional records other than OPT.
    public var additionals: [DNSRecord]
    /// The OPT pseudo-record, when present.
    public var edns: EDNS?

    /// Creates a message; every flag defaults to clear. Pure.
    public init(id: UInt16, isResponse: Bool = false, opcode: Opcode = .query,
                isAuthoritative: Bool = false, isTruncated: Bool = false,
                recursionDesired: Bool = false, recursionAvailable: Bool = false,
                authenticData: Bool = false, checkingDisabled: Bool = false,
                rcode: RCode = .noError, questions: [Question] = [], answers: [DNSRecord] = [],
                authorities: [DNSRecord] = [], additionals: [DNSRecord] = [], edns: EDNS? = nil) {
        self.id = id
        self.isResponse = isResponse
        self.opcode = opcode
        self.isAuthoritative = isAuthoritative
        self.isTruncated = isTruncated
        self.recursionDesired = recursionDesired
        self.recursionAvailable = recursionAvailable
        self.authenticData = authenticData
        self.checkingDisabled = checkingDisabled
        self.rcode = rcode
        self.questions = questions
        self.answers = answers
        self.authorities = authorities
        self.additionals = additionals
        self.edns = edns
    }
}
