import Foundation
import PGPhaseSQL
import Testing

/// The parse-tree reader (`JSONValue.parse`) against a reference decoder (Foundation's
/// JSONSerialization) over a corpus: every statement of the committed plans and examples, the
/// lint rule documentation's examples, and statements chosen for escapes, Unicode and numbers.
@Suite struct ParseTreeReaderTests {
  static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

  static let tricky = [
    #"SELECT 'tab\there', E'new\nline \u00e9 \\ "quoted"', U&'d\0061t\+000061', $$dollar ' " \ body$$"#,
    "SELECT 'café ☕ 𝄞 emoji 🎉', \"Ünïcødé ident\", 'a''b'",
    "SELECT 0, -1, 42, 2147483647, 9223372036854775807, 1.5, -2.25e10, .5, 1e-7, 0.0",
    "SELECT true, false, NULL, B'1010', X'1F'",
    "CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY (START WITH 100 INCREMENT BY -1), v numeric(12,2) DEFAULT -0.5)",
    "ALTER TABLE \"we\"\"ird\" ADD COLUMN \"col\\umn\" text DEFAULT '\\'",
    "SELECT '\u{01}\u{1F}' AS controls, 'line\u{2028}sep'",
  ]

  static func corpus() throws -> [String] {
    var statements = tricky
    let fm = FileManager.default
    for folder in ["plans", "examples", "docs/rules"] {
      let base = root.appendingPathComponent(folder).path
      for case let path as String in fm.enumerator(atPath: base)?.allObjects ?? [] {
        let full = base + "/" + path
        if path.hasSuffix(".sql") {
          statements.append(try String(contentsOfFile: full, encoding: .utf8))
        } else if path.hasSuffix(".md") {
          // ```sql blocks of the rule pages
          let text = try String(contentsOfFile: full, encoding: .utf8)
          for block in text.components(separatedBy: "```sql\n").dropFirst() {
            if let code = block.components(separatedBy: "```").first { statements.append(code) }
          }
        }
      }
    }
    return statements
  }

  @Test func readsWhatJSONSerializationReads() throws {
    var trees = 0
    for sql in try Self.corpus() {
      guard let json = SQLParser.parseTreeJSON(sql) else { continue }
      let ours = try json.withUnsafeBufferPointer { try JSONValue.parse($0) }
      let reference = try JSONSerialization.jsonObject(with: Data(json), options: [.fragmentsAllowed])
      let difference = Self.difference(ours, reference, path: "$")
      #expect(difference == nil, "\(difference ?? "") in the tree of: \(sql.prefix(200))")
      trees += 1
    }
    #expect(trees > 100, "the corpus should hold more than 100 parseable files and statements, found \(trees)")
  }

  /// The reader keeps the short strings it has read in a small cache and builds arrays and
  /// objects from a stack of open values: many distinct short strings (every length up to 16
  /// bytes, ASCII and not, so cache slots are shared and overwritten), strings that end at the
  /// end of the buffer, long arrays and deep nesting must still read as JSONSerialization reads.
  @Test func readsManyShortStringsAndDeepNesting() throws {
    var strings: [String] = []
    for i in 0..<3000 {
      let base = i % 3 == 0 ? "é\(i)ü" : "k\(i)_relname_col"
      strings.append(String(base.prefix(i % 17)))
    }
    let objects = strings.enumerated().map {
      "{\"\($0.element)\": \"\(strings[($0.offset * 7) % strings.count])\", \"n\": \($0.offset)}"
    }
    var deep = "\"end\""
    for depth in 0..<300 { deep = depth % 2 == 0 ? "[\(deep), \"d\(depth)\"]" : "{\"x\(depth)\": \(deep)}" }
    let documents = [
      "[" + objects.joined(separator: ",") + "]",
      "[" + objects.reversed().joined(separator: ",") + ", " + deep + "]",
      "[\"abc\"]", "{\"a\":\"bc\"}", "[\"0123456789abcde\"]", "\"tail\"",
    ]
    for document in documents {
      let json = Array(document.utf8)
      let ours = try json.withUnsafeBufferPointer { try JSONValue.parse($0) }
      let reference = try JSONSerialization.jsonObject(with: Data(json), options: [.fragmentsAllowed])
      let difference = Self.difference(ours, reference, path: "$")
      #expect(difference == nil, "\(difference ?? "") in \(document.prefix(80))")
    }
  }

  @Test func rejectsTruncatedJSON() throws {
    let json = try #require(SQLParser.parseTreeJSON("SELECT 'x', 1"))
    for cut in [1, json.count / 2, json.count - 1] {
      #expect(throws: JSONValue.ParseError.self) {
        _ = try Array(json.prefix(cut)).withUnsafeBufferPointer { try JSONValue.parse($0) }
      }
    }
  }

  /// The first place the two trees differ, or nil.
  static func difference(_ ours: JSONValue, _ reference: Any, path: String) -> String? {
    switch ours {
    case .null:
      return reference is NSNull ? nil : "\(path): null vs \(reference)"
    case .bool(let b):
      guard let n = reference as? NSNumber, n.boolValue == b else { return "\(path): \(b) vs \(reference)" }
      return nil
    case .number(let d):
      guard let n = reference as? NSNumber, n.doubleValue == d else { return "\(path): \(d) vs \(reference)" }
      return nil
    case .string(let s):
      return (reference as? String) == s ? nil : "\(path): \(s.debugDescription) vs \(reference)"
    case .array(let items):
      guard let other = reference as? [Any], other.count == items.count else { return "\(path): array length" }
      for (i, (a, b)) in zip(items, other).enumerated() {
        if let d = difference(a, b, path: "\(path)[\(i)]") { return d }
      }
      return nil
    case .object(let members):
      guard let other = reference as? [String: Any], other.count == members.count else { return "\(path): object keys" }
      for (key, value) in members {
        guard let b = other[key] else { return "\(path).\(key): missing in the reference" }
        if let d = difference(value, b, path: "\(path).\(key)") { return d }
      }
      return nil
    }
  }
}
