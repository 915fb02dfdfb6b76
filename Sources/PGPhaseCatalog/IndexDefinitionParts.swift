import Foundation

/// Reads the key list out of `pg_get_indexdef` text: the server prints each key's collation,
/// operator class, order and nulls placement only where they differ from the defaults, and that
/// decision (a key expression's own collation, the type's default operator class) is not in
/// the catalog in a form SQL can compare, so the reader takes it from the server's text.
///
/// Works on server-printed text only: identifiers in double quotes, literals in single quotes
/// (standard_conforming_strings), parentheses balanced outside both.
enum IndexDefinitionParts {
  /// The comma-separated elements of the parenthesised list after `USING method`, each trimmed.
  static func keyElements(of definition: String) throws -> [Substring] {
    let chars = Array(definition.utf8)
    // The key list is the parenthesised group after " USING method".
    let using = Array(" USING ".utf8)
    var listStart: Int?
    outsideQuotes(chars, from: 0) { i, _ in
      guard chars[i...].starts(with: using) else { return true }
      var j = i + using.count
      while j < chars.count, chars[j] != UInt8(ascii: "(") { j += 1 }
      listStart = j
      return false
    }
    guard let start = listStart, start < chars.count else { throw CatalogReadError("no key list in \(definition)") }
    let text = definition.utf8
    func slice(_ from: Int, _ to: Int) -> Substring {
      let lower = text.index(text.startIndex, offsetBy: from)
      let upper = text.index(text.startIndex, offsetBy: to)
      return Substring(definition[lower..<upper]).trimmingSpaces()
    }
    var elements: [Substring] = []
    var elementStart = start + 1
    var closed = false
    outsideQuotes(chars, from: start) { i, depth in
      if chars[i] == UInt8(ascii: ")"), depth == 0 {
        elements.append(slice(elementStart, i))
        closed = true
        return false
      }
      if chars[i] == UInt8(ascii: ","), depth == 1 {
        elements.append(slice(elementStart, i))
        elementStart = i + 1
      }
      return true
    }
    guard closed else { throw CatalogReadError("unbalanced key list in \(definition)") }
    return elements
  }

  /// Calls `visit` with each byte offset from `start` that is outside quotes (identifiers in
  /// double quotes, literals in single quotes) and the parenthesis depth after that byte, until
  /// it returns false.
  static func outsideQuotes(_ chars: [UInt8], from start: Int, _ visit: (Int, Int) -> Bool) {
    var quote: UInt8?
    var depth = 0
    for i in start..<chars.count {
      let c = chars[i]
      if let q = quote {
        if c == q { quote = nil }
        continue
      }
      if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
        quote = c
        continue
      }
      if c == UInt8(ascii: "(") { depth += 1 }
      if c == UInt8(ascii: ")") { depth -= 1 }
      if !visit(i, depth) { return }
    }
  }

  /// What follows the key in an element (`COLLATE "C" text_pattern_ops DESC`), nil when nothing.
  /// `key` is the key alone (`pg_get_indexdef(index, n, false)`); a column key is its quoted name.
  static func options(of element: Substring, after key: String, in definition: String) throws -> String? {
    guard element.hasPrefix(key) else {
      throw CatalogReadError("key \(key) is not where pg_get_indexdef printed it in \(definition)")
    }
    let rest = element.dropFirst(key.count).trimmingSpaces()
    return rest.isEmpty ? nil : String(rest)
  }
}

extension Substring {
  fileprivate func trimmingSpaces() -> Substring {
    var s = self
    while let c = s.first, c == " " { s = s.dropFirst() }
    while let c = s.last, c == " " { s = s.dropLast() }
    return s
  }
}

extension IndexDefinitionParts {
  /// A JSON array of strings (`json_agg` of text) as strings; [] for NULL.
  static func jsonStrings(_ text: String?) throws -> [String] {
    guard let text else { return [] }
    return try JSONDecoder().decode([String].self, from: Data(text.utf8))
  }
}
