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
    var i = 0
    var quote: UInt8?
    // Find " USING " outside quotes; the key list is the parenthesised group after the method.
    let using = Array(" USING ".utf8)
    var listStart: Int?
    while i < chars.count {
      let c = chars[i]
      if let q = quote {
        if c == q { quote = nil }
      } else if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
        quote = c
      } else if chars[i...].starts(with: using) {
        var j = i + using.count
        while j < chars.count, chars[j] != UInt8(ascii: "(") { j += 1 }
        listStart = j
        break
      }
      i += 1
    }
    guard let start = listStart, start < chars.count else { throw CatalogReadError("no key list in \(definition)") }
    var elements: [Substring] = []
    var depth = 0
    var elementStart = start + 1
    quote = nil
    i = start
    let text = definition.utf8
    func slice(_ from: Int, _ to: Int) -> Substring {
      let lower = text.index(text.startIndex, offsetBy: from)
      let upper = text.index(text.startIndex, offsetBy: to)
      return Substring(definition[lower..<upper]).trimmingSpaces()
    }
    while i < chars.count {
      let c = chars[i]
      if let q = quote {
        if c == q { quote = nil }
      } else if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
        quote = c
      } else if c == UInt8(ascii: "(") {
        depth += 1
      } else if c == UInt8(ascii: ")") {
        depth -= 1
        if depth == 0 {
          elements.append(slice(elementStart, i))
          return elements
        }
      } else if c == UInt8(ascii: ","), depth == 1 {
        elements.append(slice(elementStart, i))
        elementStart = i + 1
      }
      i += 1
    }
    throw CatalogReadError("unbalanced key list in \(definition)")
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
