extension SchemaSnapshot.Index {
  /// The unique index a PRIMARY KEY or UNIQUE definition as `pg_get_constraintdef` prints it
  /// (`UNIQUE NULLS NOT DISTINCT (a, b) INCLUDE (c) WITH (fillfactor='70')`) stands for, named
  /// `name`; nil for a shape it does not know.
  public init?(keyConstraint definition: String, name: String) {
    var rest = Substring(definition)
    for head in ["PRIMARY KEY ", "UNIQUE "] where rest.hasPrefix(head) { rest = rest.dropFirst(head.count) }
    var nullsNotDistinct = false
    if rest.hasPrefix("NULLS NOT DISTINCT ") {
      nullsNotDistinct = true
      rest = rest.dropFirst("NULLS NOT DISTINCT ".count)
    }
    guard let keys = Self.parenthesised(&rest) else { return nil }
    var include: [String] = []
    var options: [SchemaSnapshot.Setting] = []
    while let first = rest.first, first == " " {
      rest = rest.dropFirst()
      if rest.hasPrefix("INCLUDE ") {
        rest = rest.dropFirst("INCLUDE ".count)
        guard let list = Self.parenthesised(&rest) else { return nil }
        include = list
      } else if rest.hasPrefix("WITH ") {
        rest = rest.dropFirst("WITH ".count)
        guard let list = Self.parenthesised(&rest) else { return nil }
        for item in list {
          let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
          guard parts.count == 2 else { return nil }
          var value = parts[1]
          if value.count >= 2, value.hasPrefix("'"), value.hasSuffix("'") {
            value = String(value.dropFirst().dropLast()).split(separator: "''", omittingEmptySubsequences: false).joined(
              separator: "'")
          }
          options.append(SchemaSnapshot.Setting(name: parts[0], value: value))
        }
      } else if rest.hasPrefix("USING INDEX TABLESPACE ") {
        rest = ""
      } else {
        return nil
      }
    }
    let columns = keys.map(Self.unquoted)
    guard rest.isEmpty, !columns.isEmpty else { return nil }
    self.init(
      name: name, unique: true, keys: columns.map { SchemaSnapshot.IndexKey(column: $0) }, include: include.map(Self.unquoted),
      nullsNotDistinct: nullsNotDistinct, options: options, columns: columns)
  }

  /// The comma-separated items of a parenthesised list at the start of `text`, which it consumes.
  private static func parenthesised(_ text: inout Substring) -> [String]? {
    guard text.first == "(" else { return nil }
    var depth = 0
    var quoted = false
    var items: [String] = []
    var current = ""
    var index = text.startIndex
    while index < text.endIndex {
      let ch = text[index]
      if ch == "\"" { quoted.toggle() }
      if !quoted {
        if ch == "(" {
          depth += 1
          if depth == 1 {
            index = text.index(after: index)
            continue
          }
        } else if ch == ")" {
          depth -= 1
          if depth == 0 {
            items.append(trimmed(current))
            text = text[text.index(after: index)...]
            return items
          }
        } else if ch == ",", depth == 1 {
          items.append(trimmed(current))
          current = ""
          index = text.index(after: index)
          continue
        }
      }
      current.append(ch)
      index = text.index(after: index)
    }
    return nil
  }

  private static func unquoted(_ name: String) -> String {
    guard name.hasPrefix("\""), name.hasSuffix("\""), name.count >= 2 else { return name }
    return String(name.dropFirst().dropLast()).split(separator: "\"\"", omittingEmptySubsequences: false).joined(
      separator: "\"")
  }

  private static func trimmed(_ text: String) -> String {
    var s = Substring(text)
    while s.first == " " { s = s.dropFirst() }
    while s.last == " " { s = s.dropLast() }
    return String(s)
  }
}
