/// Converts an 8-bit MIME message to 7-bit for a server without 8BITMIME (RFC 6152 section 3):
/// every leaf part whose body has 8-bit bytes is re-encoded as quoted-printable (text) or base64
/// (anything else), its Content-Transfer-Encoding replaced; multipart and message/rfc822 parts are
/// walked recursively and their "8bit" encodings relabelled "7bit". A non-MIME 8-bit message gets
/// `MIME-Version: 1.0` and `Content-Type: text/plain; charset=unknown-8bit` (RFC 1428).
///
/// Conversion is impossible (nil) when a header block contains 8-bit bytes (that needs SMTPUTF8),
/// or an 8-bit body claims to be base64 or quoted-printable already. Input lines should end in
/// CRLF; bare LF is tolerated. Pure; any thread may call it.
public enum MIMEDowngrade {
    /// The 7-bit form of `message`, or nil when it cannot be converted. Pure; any caller.
    public static func convert(_ message: [UInt8]) -> [UInt8]? {
        convertEntity(message[...], isTopLevel: true, depth: 0)
    }

    private static let maxDepth = 32

    private static func convertEntity(_ entity: ArraySlice<UInt8>, isTopLevel: Bool, depth: Int) -> [UInt8]? {
        guard depth <= maxDepth else { return nil }
        let (header, body) = splitHeader(entity)
        if containsEightBit(header) { return nil }
        var fields = parseFields(header)
        let contentType = fields.first { $0.name == "content-type" }.map { parseContentType($0.value) }
        let type = contentType?.type ?? "text/plain"
        let encoding = fields.first { $0.name == "content-transfer-encoding" }?.value
            .trimmingCharacters(in: " \t\r\n").lowercased() ?? "7bit"

        if type.hasPrefix("multipart/"), let boundary = contentType?.parameters["boundary"], !boundary.isEmpty {
            guard let newBody = convertMultipart(body, boundary: Array(boundary.utf8), depth: depth) else { return nil }
            if encoding == "8bit" || encoding == "binary" { replaceEncoding(&fields, with: "7bit") }
            return assemble(fields, body: newBody[...])
        }
        if type == "message/rfc822" || type == "message/global" {
            guard let inner = convertEntity(body, isTopLevel: false, depth: depth + 1) else { return nil }
            if encoding == "8bit" || encoding == "binary" { replaceEncoding(&fields, with: "7bit") }
            return assemble(fields, body: inner[...])
        }
        guard containsEightBit(body) else { return Array(entity) }
        guard encoding != "base64" && encoding != "quoted-printable" else { return nil }
        let isText = type.hasPrefix("text/") || contentType == nil
        if isTopLevel, !fields.contains(where: { $0.name == "mime-version" }) {
            fields.append(Field(name: "mime-version", raw: Array("MIME-Version: 1.0\r\n".utf8), value: "1.0"))
        }
        if contentType == nil {
            fields.append(Field(name: "content-type", raw: Array("Content-Type: text/plain; charset=unknown-8bit\r\n".utf8),
                                value: "text/plain; charset=unknown-8bit"))
        }
        replaceEncoding(&fields, with: isText ? "quoted-printable" : "base64")
        let encoded = isText ? QuotedPrintable.encode(Array(body)) : wrappedBase64(Array(body))
        return assemble(fields, body: encoded[...])
    }

    private static func convertMultipart(_ body: ArraySlice<UInt8>, boundary: [UInt8], depth: Int) -> [UInt8]? {
        // Split into lines, find delimiter lines "--boundary" and "--boundary--".
        var out: [UInt8] = []
        out.reserveCapacity(body.count + body.count / 4)
        var partStart: Int?
        var lineStart = body.startIndex
        var closed = false
        var index = body.startIndex
        while index <= body.endIndex {
            let atEnd = index == body.endIndex
            if atEnd || body[index] == 10 {
                let lineEnd = atEnd ? index : index + 1
                var content = body[lineStart..<lineEnd]
                while let last = content.last, last == 10 || last == 13 || last == 32 || last == 9 { content = content.dropLast() }
                if !closed, let kind = delimiterKind(content, boundary: boundary) {
                    if let start = partStart {
                        // The CRLF before the delimiter belongs to the delimiter.
                        var end = lineStart
                        if end > start, body[end - 1] == 10 { end -= 1 }
                        if end > start, body[end - 1] == 13 { end -= 1 }
                        guard let part = convertEntity(body[start..<end], isTopLevel: false, depth: depth + 1) else { return nil }
                        out.append(contentsOf: part)
                        out.append(contentsOf: body[end..<lineStart])
                    } else {
                        // Preamble: keep unless it has 8-bit bytes (readers ignore it).
                        let preamble = body[body.startIndex..<lineStart]
                        if !containsEightBit(preamble) { out.append(contentsOf: preamble) }
                    }
                    out.append(contentsOf: body[lineStart..<lineEnd])
                    if kind == .close {
                        closed = true
                        partStart = nil
                        // Epilogue.
                        let epilogue = body[lineEnd..<body.endIndex]
                        if !containsEightBit(epilogue) { out.append(contentsOf: epilogue) }
                        return out
                    }
                    partStart = lineEnd
                }
                lineStart = lineEnd
            }
            if atEnd { break }
            index += 1
        }
        // No closing delimiter: convert the last part to the end.
        if let start = partStart {
            guard let part = convertEntity(body[start..<body.endIndex], isTopLevel: false, depth: depth + 1) else { return nil }
            out.append(contentsOf: part)
            return out
        }
        // No delimiter at all: treat the whole body as opaque text.
        return containsEightBit(body) ? nil : Array(body)
    }

    private enum Delimiter { case open, close }

    private static func delimiterKind(_ line: ArraySlice<UInt8>, boundary: [UInt8]) -> Delimiter? {
        guard line.count >= boundary.count + 2,
              line[line.startIndex] == UInt8(ascii: "-"), line[line.startIndex + 1] == UInt8(ascii: "-") else { return nil }
        let nameStart = line.startIndex + 2
        guard line[nameStart..<(nameStart + boundary.count)].elementsEqual(boundary) else { return nil }
        let rest = line[(nameStart + boundary.count)...]
        if rest.isEmpty { return .open }
        if rest.elementsEqual([UInt8(ascii: "-"), UInt8(ascii: "-")]) { return .close }
        return nil
    }

    private struct Field {
        var name: String
        var raw: [UInt8]
        var value: String
    }

    private static func splitHeader(_ entity: ArraySlice<UInt8>) -> (ArraySlice<UInt8>, ArraySlice<UInt8>) {
        var index = entity.startIndex
        // An entity starting with an empty line has no header.
        if entity.starts(with: [13, 10]) { return (entity[index..<index], entity[(index + 2)...]) }
        if entity.first == 10 { return (entity[index..<index], entity[(index + 1)...]) }
        while index < entity.endIndex {
            if entity[index] == 10 {
                let next = index + 1
                if next < entity.endIndex, entity[next] == 10 { return (entity[..<next], entity[(next + 1)...]) }
                if next + 1 < entity.endIndex, entity[next] == 13, entity[next + 1] == 10 {
                    return (entity[..<next], entity[(next + 2)...])
                }
            }
            index += 1
        }
        return (entity, entity[entity.endIndex...])
    }

    private static func parseFields(_ header: ArraySlice<UInt8>) -> [Field] {
        var fields: [Field] = []
        var index = header.startIndex
        while index < header.endIndex {
            // A field runs to the next line that does not start with SP or HT.
            var end = index
            repeat {
                while end < header.endIndex, header[end] != 10 { end += 1 }
                if end < header.endIndex { end += 1 }
            } while end < header.endIndex && (header[end] == 32 || header[end] == 9)
            var raw = Array(header[index..<end])
            if raw.last != 10 { raw.append(contentsOf: [13, 10]) }
            let text = String(decoding: raw, as: UTF8.self)
            if let colon = text.firstIndex(of: ":") {
                let name = text[..<colon].trimmingCharacters(in: " \t").lowercased()
                let value = text[text.index(after: colon)...].replacingOccurrences(ofLineBreaks: " ")
                fields.append(Field(name: name, raw: raw, value: value))
            } else {
                fields.append(Field(name: "", raw: raw, value: ""))
            }
            index = end
        }
        return fields
    }

    private static func replaceEncoding(_ fields: inout [Field], with encoding: String) {
        fields.removeAll { $0.name == "content-transfer-encoding" }
        fields.append(Field(name: "content-transfer-encoding",
                            raw: Array("Content-Transfer-Encoding: \(encoding)\r\n".utf8), value: encoding))
    }

    private static func assemble(_ fields: [Field], body: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(fields.reduce(0) { $0 + $1.raw.count } + body.count + 2)
        for field in fields { out.append(contentsOf: field.raw) }
        out.append(13); out.append(10)
        out.append(contentsOf: body)
        return out
    }

    private static func parseContentType(_ value: String) -> (type: String, parameters: [String: String]) {
        var parameters: [String: String] = [:]
        let scalars = Array(value.unicodeScalars)
        var index = 0
        func skipSpace() { while index < scalars.count, scalars[index] == " " || scalars[index] == "\t" { index += 1 } }
        func token() -> String {
            var result = ""
            while index < scalars.count, scalars[index] != ";", scalars[index] != "=", scalars[index] != " ", scalars[index] != "\t" {
                result.unicodeScalars.append(scalars[index])
                index += 1
            }
            return result
        }
        skipSpace()
        let type = token().lowercased()
        while index < scalars.count {
            while index < scalars.count, scalars[index] != ";" { index += 1 }
            guard index < scalars.count else { break }
            index += 1
            skipSpace()
            let name = token().lowercased()
            skipSpace()
            guard index < scalars.count, scalars[index] == "=" else { continue }
            index += 1
            skipSpace()
            var parameterValue = ""
            if index < scalars.count, scalars[index] == "\"" {
                index += 1
                while index < scalars.count, scalars[index] != "\"" {
                    if scalars[index] == "\\", index + 1 < scalars.count { index += 1 }
                    parameterValue.unicodeScalars.append(scalars[index])
                    index += 1
                }
                index += 1
            } else {
                parameterValue = token()
            }
            if !name.isEmpty { parameters[name] = parameterValue }
        }
        return (type, parameters)
    }

    private static func wrappedBase64(_ bytes: [UInt8]) -> [UInt8] {
        let encoded = Base64.encode(bytes)
        var out: [UInt8] = []
        out.reserveCapacity(encoded.count + encoded.count / 38 + 2)
        var index = 0
        while index < encoded.count {
            let end = min(index + 76, encoded.count)
            out.append(contentsOf: encoded[index..<end])
            out.append(13); out.append(10)
            index = end
        }
        return out
    }

    private static func containsEightBit(_ bytes: ArraySlice<UInt8>) -> Bool {
        bytes.contains { $0 >= 0x80 }
    }
}

private extension StringProtocol {
    func trimmingCharacters(in set: String) -> String {
        let characters = Set(set)
        var slice = Substring(self)
        while let first = slice.first, characters.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, characters.contains(last) { slice = slice.dropLast() }
        return String(slice)
    }

    func replacingOccurrences(ofLineBreaks replacement: String) -> String {
        var result = ""
        for character in self {
            if character == "\r\n" || character == "\n" || character == "\r" {
                result += replacement
            } else {
                result.append(character)
            }
        }
        return result.trimmingCharacters(in: " \t")
    }
}
