/// One SMTP command line split into its verb and argument (RFC 5321 4.1.1). The verb is matched
/// case-insensitively without building strings; the argument is the rest of the line after the separating
/// space(s), trailing white space removed. Pure; does not block; any caller may use it.
public struct SMTPCommand: Sendable, Equatable {
    /// The command verbs the server knows.
    public enum Verb: String, Sendable, Equatable, CaseIterable {
        case ehlo = "EHLO", helo = "HELO", mail = "MAIL", rcpt = "RCPT", data = "DATA", bdat = "BDAT"
        case rset = "RSET", noop = "NOOP", quit = "QUIT", vrfy = "VRFY", expn = "EXPN", help = "HELP"
        case starttls = "STARTTLS", auth = "AUTH"
    }

    /// The verb, or nil for an unknown command.
    public var verb: Verb?
    /// The argument text; empty when the line has only a verb.
    public var argument: String

    /// Creates a command. Does not block.
    public init(verb: Verb?, argument: String) {
        self.verb = verb
        self.argument = argument
    }

    /// Why a command line could not be parsed.
    public struct SyntaxError: Error, Sendable, Equatable {
        /// The kind of failure.
        public enum Code: Sendable, Equatable {
            /// The argument is not valid UTF-8.
            case invalidUTF8
            /// A MAIL/RCPT argument lacks `FROM:` / `TO:` or its path.
            case missingPath
            /// A parameter is not `keyword[=value]`.
            case invalidParameter
        }
        /// The kind of failure.
        public var code: Code
        /// A human explanation.
        public var reason: String
        /// The offending text.
        public var input: String

        /// Creates an error. Does not block.
        public init(_ code: Code, _ reason: String, input: String) {
            self.code = code
            self.reason = reason
            self.input = input
        }
    }

    /// Parses a command line without its CRLF. Throws only when the argument is not valid UTF-8.
    public static func parse(_ line: ArraySlice<UInt8>) throws(SyntaxError) -> SMTPCommand {
        var end = line.startIndex
        while end < line.endIndex, line[end] != Byte.space, line[end] != Byte.tab { end += 1 }
        let verb = Verb.allCases.first { matches(line[line.startIndex..<end], $0.rawValue) }
        var start = end
        while start < line.endIndex, line[start] == Byte.space || line[start] == Byte.tab { start += 1 }
        var stop = line.endIndex
        while stop > start, line[stop - 1] == Byte.space || line[stop - 1] == Byte.tab { stop -= 1 }
        guard let argument = String(validating: line[start..<stop], as: UTF8.self) else {
            throw SyntaxError(.invalidUTF8, "Command is not valid UTF-8", input: String(decoding: line, as: UTF8.self))
        }
        return SMTPCommand(verb: verb, argument: argument)
    }

    private static func matches(_ bytes: ArraySlice<UInt8>, _ verb: String) -> Bool {
        guard bytes.count == verb.utf8.count else { return false }
        return zip(bytes, verb.utf8).allSatisfy { lhs, rhs in
            (lhs >= 0x61 && lhs <= 0x7A ? lhs - 0x20 : lhs) == rhs
        }
    }
}
