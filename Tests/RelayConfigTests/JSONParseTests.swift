import Foundation
import Testing
@testable import RelayConfig

@Suite("Config JSON syntax")
struct JSONParseTests {
    func syntaxError(_ text: String) -> String? {
        do {
            _ = try JSONValue.parse(Array(text.utf8))
            return nil
        } catch {
            return error.description
        }
    }

    @Test("syntax errors name the line and column and what was expected")
    func errors() {
        #expect(syntaxError("{\n  \"node\": {\"id\": \"n1\",}\n}") == "line 2, column 23: trailing comma before '}'")
        #expect(syntaxError("{\"a\": tru}") == "line 1, column 7: invalid literal, expected 'true'")
        #expect(syntaxError("") == "line 1, column 1: empty document")
        #expect(syntaxError("{\"a\": 1") == "line 1, column 8: unexpected end of file, expected ',' or '}'")
        #expect(syntaxError("{\"a\": 1 \"b\": 2}") == "line 1, column 9: unexpected '\"', expected ',' or '}'")
        #expect(syntaxError("{\"a\": 1, \"a\": 2}") == "line 1, column 10: duplicate key 'a'")
        #expect(syntaxError("{a: 1}") == "line 1, column 2: unexpected 'a', expected a quoted key")
        #expect(syntaxError("[1, 2,]") == "line 1, column 7: trailing comma before ']'")
        #expect(syntaxError("{} x") == "line 1, column 4: unexpected 'x' after the document")
        #expect(syntaxError("[01]") == "line 1, column 2: leading zero in number")
        #expect(syntaxError("[\"a\nb\"]") == "line 1, column 4: control character in string (escape it)")
        #expect(syntaxError("[\"\\x\"]") == "line 1, column 3: invalid escape '\\x'")
        #expect(syntaxError("[\"\\ud800\"]") != nil)
        #expect(syntaxError(String(repeating: "[", count: 100)) == "line 1, column 65: nesting deeper than 64 levels")
        // Columns count characters, not bytes.
        #expect(syntaxError("{\"ä\": x}") == "line 1, column 7: unexpected 'x', expected a value")
    }

    @Test("valid JSON parses into typed values including escapes, surrogates and numbers")
    func values() throws {
        let v = try JSONValue.parse(Array("\u{FEFF}{\"s\": \"a\\\"b\\\\c\\/\\n\\u00e4\\ud83d\\ude00\", \"i\": -12, \"d\": 1.5e2, \"t\": true, \"n\": null, \"a\": [], \"o\": {}}".utf8))
        #expect(v == .object([
            "s": .string("a\"b\\c/\nä😀"), "i": .integer(-12), "d": .number(150), "t": .bool(true),
            "n": .null, "a": .array([]), "o": .object([:]),
        ]))
    }

    @Test("load reports JSON syntax errors with position")
    func loadReportsPosition() {
        let dir = TempDir()
        defer { dir.remove() }
        let path = dir.write("c.json", "{\n  \"listen\": {\n    \"submission\": [\"0.0.0.0:587\" \"0.0.0.0:2587\"]\n  }\n}\n")
        let r = RelayConfig.check(path: path)
        #expect(r.problems.map(\.description) == ["not valid JSON: line 3, column 34: unexpected '\"', expected ',' or ']'"])
    }
}
