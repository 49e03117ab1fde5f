extension SMTPCommand {
    /// An ESMTP parameter `keyword[=value]` from MAIL or RCPT; the keyword is uppercased.
    public struct Parameter: Sendable, Equatable {
        /// The keyword, uppercased.
        public var keyword: String
        /// The value, if any, exactly as sent.
        public var value: String?

        /// Creates a parameter. Does not block.
        public init(keyword: String, value: String?) {
            self.keyword = keyword
            self.value = value
        }
    }

    /// The argument of MAIL (`FROM:<path> params`) or RCPT (`TO:<path> params`).
    public struct PathArgument: Sendable, Equatable {
        /// The path text including its angle brackets (or a bare mailbox, accepted for robustness).
        public var path: String
        /// The ESMTP parameters in order.
        public var parameters: [Parameter]

        /// Splits an argument that must start with `prefix` (`FROM:` or `TO:`, case-insensitive). Spaces after
        /// the colon are tolerated; a `>` inside a quoted local part does not end the path.
        /// Pure; does not block.
        public static func parse(_ argument: String, prefix: String) throws(SyntaxError) -> PathArgument {
            let bytes = Array(argument.utf8)
            let prefixBytes = Array(prefix.utf8)
            guard bytes.count > prefixBytes.count,
                  zip(bytes, prefixBytes).allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A ? $0 - 0x20 : $0) == $1 })
            else {
                throw SyntaxError(.missingPath, "Expected \(prefix)<address>", input: argument)
            }
            var index = prefixBytes.count
            while index < bytes.count, bytes[index] == Byte.space { index += 1 }
            let pathStart = index
            if index < bytes.count, bytes[index] == Byte.lessThan {
                var inQuotes = false
                index += 1
                while index < bytes.count {
                    let byte = bytes[index]
                    if inQuotes && byte == Byte.backslash {
                        index += 2
                        continue
                    }
                    if byte == Byte.quote { inQuotes.toggle() }
                    if byte == Byte.greaterThan && !inQuotes { break }
                    index += 1
                }
                guard index < bytes.count else {
                    throw SyntaxError(.missingPath, "Unterminated <path>", input: argument)
                }
                index += 1
            } else {
                while index < bytes.count, bytes[index] != Byte.space { index += 1 }
            }
            guard index > pathStart else { throw SyntaxError(.missingPath, "Missing address", input: argument) }
            let path = String(decoding: bytes[pathStart..<index], as: UTF8.self)
            var parameters: [Parameter] = []
            if index < bytes.count {
                guard bytes[index] == Byte.space else {
                    throw SyntaxError(.invalidParameter, "Expected space after path", input: argument)
                }
                for token in bytes[index...].split(separator: Byte.space) {
                    let keyword: ArraySlice<UInt8>
                    var value: String?
                    if let equals = token.firstIndex(of: Byte.equals) {
                        keyword = token[token.startIndex..<equals]
                        value = String(decoding: token[(equals + 1)...], as: UTF8.self)
                        guard value?.isEmpty == false else {
                            throw SyntaxError(.invalidParameter, "Empty parameter value", input: argument)
                        }
                    } else {
                        keyword = token
                    }
                    guard !keyword.isEmpty, keyword.first.map(SMTPAddress.isLetterOrDigit) == true,
                          keyword.allSatisfy({ SMTPAddress.isLetterOrDigit($0) || $0 == Byte.hyphen })
                    else {
                        throw SyntaxError(.invalidParameter, "Invalid parameter keyword", input: argument)
                    }
                    parameters.append(Parameter(keyword: String(decoding: keyword, as: UTF8.self).uppercased(), value: value))
                }
            }
            return PathArgument(path: path, parameters: parameters)
        }
    }
}
