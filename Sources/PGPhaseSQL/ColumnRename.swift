public import PGPhaseModel

/// Rewrites SQL text to use another column: what carrying an index, constraint, trigger or
/// statistics object over to a replacement column needs. Only references to the column change:
/// ColumnRef nodes of libpg_query's tree (found by the byte offsets it records) and the plain
/// column lists of key, foreign key, trigger and statistics definitions (found by the scanner),
/// never a string, a type or a function that happens to share the name.
public enum ColumnRename {
  /// `expression` (a CHECK's, an index key's or predicate) with each reference to `from` (bare,
  /// or qualified, e.g. `NEW.from`) made a reference to `to`; nil when it does not parse.
  public static func expression(_ expression: String, from: String, to: String) -> String? {
    let prefix = "SELECT (\n"
    let wrapped = prefix + expression + "\n)"
    guard let edited = statement(wrapped, from: from, to: to, lists: []) else { return nil }
    return String(edited.dropFirst(prefix.count).dropLast(2))
  }

  /// A constraint definition as `pg_get_constraintdef` prints it (`CHECK ((a > 0))`,
  /// `FOREIGN KEY (a) REFERENCES t(b) ON DELETE CASCADE`, `UNIQUE (a, b) INCLUDE (c)`) with its
  /// own table's column `from` renamed `to`: in expressions, the key list and INCLUDE list, and a
  /// foreign key's local columns. nil when it does not parse.
  public static func constraint(_ definition: String, from: String, to: String) -> String? {
    let prefix = "ALTER TABLE t ADD CONSTRAINT c "
    guard let edited = statement(prefix + definition, from: from, to: to, lists: [.keyColumns, .include]) else {
      return nil
    }
    return String(edited.dropFirst(prefix.count))
  }

  /// A foreign key definition with the referenced column `from` renamed `to` (the list after
  /// `REFERENCES table`); nil when it does not parse.
  public static func referencedColumn(_ definition: String, from: String, to: String) -> String? {
    let prefix = "ALTER TABLE t ADD CONSTRAINT c "
    let text = prefix + definition
    guard case .success = SQLParser.parse(text), case .success(let tokens) = SQLScanner.tokens(text) else { return nil }
    let bytes = Array(text.utf8)
    guard let references = tokens.firstIndex(where: { word($0, bytes) == "references" }) else { return nil }
    var edits: [(Range<Int>, String)] = []
    // REFERENCES name[.name] ( columns )
    var i = references + 1
    while i < tokens.count, tokens[i].kind != .openParen {
      if tokens[i].kind == .keyword, ["on", "match", "deferrable", "not", "initially"].contains(word(tokens[i], bytes)) {
        return nil  // no column list: it references the primary key, which has no name here
      }
      i += 1
    }
    edits += listEdits(tokens, bytes, openAt: i, from: from, to: to)
    return String(apply(edits, to: text).dropFirst(prefix.count))
  }

  /// A whole statement (`CREATE TRIGGER ...`, `CREATE STATISTICS ...`) with its table's column
  /// `from` renamed `to`: every ColumnRef, a trigger's `UPDATE OF` list and a statistics
  /// object's column list. nil when it does not parse.
  public static func statement(_ sql: String, from: String, to: String) -> String? {
    statement(sql, from: from, to: to, lists: [.triggerColumns, .statisticsColumns])
  }

  /// The plain column lists of a definition that name columns without a ColumnRef.
  enum ColumnList {
    /// `PRIMARY KEY (...)`, `UNIQUE [NULLS [NOT] DISTINCT] (...)`, `FOREIGN KEY (...)`.
    case keyColumns
    /// `INCLUDE (...)`.
    case include
    /// `UPDATE OF a, b ON`.
    case triggerColumns
    /// `CREATE STATISTICS name [(kinds)] ON a, b FROM`.
    case statisticsColumns
  }

  static func statement(_ sql: String, from: String, to: String, lists: Set<ColumnList>) -> String? {
    guard case .success(let statements) = SQLParser.parse(sql), case .success(let tokens) = SQLScanner.tokens(sql) else {
      return nil
    }
    let bytes = Array(sql.utf8)
    let starts = Dictionary(tokens.enumerated().map { ($0.element.range.lowerBound, $0.offset) }, uniquingKeysWith: { a, _ in a })
    var edits: [(Range<Int>, String)] = []
    for statement in statements {
      statement.fields.walk { node in
        guard let ref = node.node("ColumnRef") else { return }
        let fields = ref["fields"]?.array ?? []
        guard let last = fields.last?.node("String")?["sval"]?.string, last == from,
          let location = ref.location, let first = starts[location]
        else { return }
        // The reference spans `name (. name)*`; its last name is the column.
        var index = first
        for _ in 1..<max(fields.count, 1) {
          guard index + 2 < tokens.count, text(tokens[index + 1], bytes) == "." else { return }
          index += 2
        }
        guard name(tokens[index], bytes) == from else { return }
        edits.append((tokens[index].range, SQL.quoteIdentifier(to)))
      }
    }
    for (i, token) in tokens.enumerated() {
      let w = word(token, bytes)
      if lists.contains(.keyColumns), w == "key" || w == "unique" {
        var j = i + 1
        while j < tokens.count, ["nulls", "not", "distinct"].contains(word(tokens[j], bytes)) { j += 1 }
        if j < tokens.count, tokens[j].kind == .openParen { edits += listEdits(tokens, bytes, openAt: j, from: from, to: to) }
      }
      if lists.contains(.include), w == "include", i + 1 < tokens.count, tokens[i + 1].kind == .openParen {
        edits += listEdits(tokens, bytes, openAt: i + 1, from: from, to: to)
      }
      if lists.contains(.triggerColumns), w == "of", i > 0, word(tokens[i - 1], bytes) == "update" {
        var j = i + 1
        while j < tokens.count, word(tokens[j], bytes) != "on", word(tokens[j], bytes) != "or" {
          if tokens[j].kind != .comma, name(tokens[j], bytes) == from { edits.append((tokens[j].range, SQL.quoteIdentifier(to))) }
          j += 1
        }
      }
      if lists.contains(.statisticsColumns), w == "statistics", i > 0, word(tokens[i - 1], bytes) == "create" {
        guard let on = tokens[i...].firstIndex(where: { word($0, bytes) == "on" }) else { continue }
        var depth = 0
        var j = on + 1
        while j < tokens.count {
          let t = tokens[j]
          if t.kind == .openParen { depth += 1 }
          if t.kind == .closeParen { depth -= 1 }
          if depth == 0, word(t, bytes) == "from" { break }
          // A bare column at depth 0 is a StatsElem name; expressions are in parentheses.
          if depth == 0, t.kind == .identifier || t.kind == .keyword, name(t, bytes) == from {
            edits.append((t.range, SQL.quoteIdentifier(to)))
          }
          j += 1
        }
      }
    }
    return apply(edits, to: sql)
  }

  /// Edits renaming `from` in the parenthesised list of plain names opening at token `open`.
  private static func listEdits(_ tokens: [SQLToken], _ bytes: [UInt8], openAt open: Int, from: String, to: String)
    -> [(Range<Int>, String)]
  {
    guard open < tokens.count, tokens[open].kind == .openParen else { return [] }
    var edits: [(Range<Int>, String)] = []
    var j = open + 1
    while j < tokens.count, tokens[j].kind != .closeParen {
      if tokens[j].kind == .identifier || tokens[j].kind == .keyword, name(tokens[j], bytes) == from {
        edits.append((tokens[j].range, SQL.quoteIdentifier(to)))
      }
      j += 1
    }
    return edits
  }

  private static func apply(_ edits: [(Range<Int>, String)], to sql: String) -> String {
    var bytes = Array(sql.utf8)
    var seen = Set<Int>()
    for (range, replacement) in edits.sorted(by: { $0.0.lowerBound > $1.0.lowerBound })
    where seen.insert(range.lowerBound).inserted {
      bytes.replaceSubrange(range, with: Array(replacement.utf8))
    }
    return String(decoding: bytes, as: UTF8.self)
  }

  fileprivate static func text(_ token: SQLToken, _ bytes: [UInt8]) -> String {
    String(decoding: bytes[token.range], as: UTF8.self)
  }

  /// A keyword's text, lowercased ("" for other tokens).
  fileprivate static func word(_ token: SQLToken, _ bytes: [UInt8]) -> String {
    token.kind == .keyword ? text(token, bytes).lowercased() : ""
  }

  /// The name an identifier or keyword token stands for: unquoted and case-folded as PostgreSQL does.
  fileprivate static func name(_ token: SQLToken, _ bytes: [UInt8]) -> String? {
    guard token.kind == .identifier || token.kind == .keyword else { return nil }
    let raw = text(token, bytes)
    if raw.hasPrefix("\""), raw.hasSuffix("\""), raw.count >= 2 {
      return String(raw.dropFirst().dropLast()).split(separator: "\"\"", omittingEmptySubsequences: false).joined(
        separator: "\"")
    }
    return raw.lowercased()
  }
}

extension ColumnRename {
  /// A `CREATE STATISTICS` definition with its plain columns in `order` (the table's column
  /// order), as `pg_get_statisticsobjdef` prints them, expressions after them; nil when it does
  /// not parse.
  public static func statisticsInColumnOrder(_ sql: String, order: [String]) -> String? {
    guard case .success(let tokens) = SQLScanner.tokens(sql) else { return nil }
    let bytes = Array(sql.utf8)
    guard let create = tokens.firstIndex(where: { word($0, bytes) == "statistics" }),
      let on = tokens[create...].firstIndex(where: { word($0, bytes) == "on" })
    else { return nil }
    var items: [(text: String, column: String?)] = []
    var depth = 0
    var start = on + 1
    var end = on + 1
    while end < tokens.count {
      let t = tokens[end]
      if t.kind == .openParen { depth += 1 }
      if t.kind == .closeParen { depth -= 1 }
      if depth == 0, t.kind == .comma || word(t, bytes) == "from" {
        guard start < end else { return nil }
        let range = tokens[start].range.lowerBound..<tokens[end - 1].range.upperBound
        let single = end - start == 1 ? name(tokens[start], bytes) : nil
        items.append((String(decoding: bytes[range], as: UTF8.self), single))
        if word(t, bytes) == "from" { break }
        start = end + 1
      }
      end += 1
    }
    guard end < tokens.count, on + 1 < end else { return nil }
    let first = tokens[on + 1]
    let last = tokens[end - 1]
    let rank = Dictionary(order.enumerated().map { ($0.element, $0.offset) }, uniquingKeysWith: { a, _ in a })
    let columns = items.filter { $0.column != nil }.sorted { (rank[$0.column!] ?? .max) < (rank[$1.column!] ?? .max) }
    let expressions = items.filter { $0.column == nil }
    let list = (columns + expressions).map(\.text).joined(separator: ", ")
    let head = String(decoding: bytes[..<first.range.lowerBound], as: UTF8.self)
    let tail = String(decoding: bytes[last.range.upperBound...], as: UTF8.self)
    return head + list + tail
  }
}

extension ColumnRename {
  /// The columns an expression names (a ColumnRef's last name; `t.c` gives `c`), outside
  /// subqueries, which name other tables' columns; nil when it does not parse. For a CHECK or an
  /// index expression, every one is a column of the table.
  public static func columnReferences(inExpression expression: String) -> [String]? {
    guard let tree = SQLParser.parseExpression(expression) else { return nil }
    var names: [String] = []
    func visit(_ value: JSONValue) {
      if let n = value.node {
        if n.type == "SubLink" { return }
        if n.type == "ColumnRef" {
          let fields = n.fields["fields"]?.array ?? []
          if let last = fields.last?.node("String")?["sval"]?.string, !names.contains(last) { names.append(last) }
          return
        }
      }
      switch value {
      case .array(let items): for item in items { visit(item) }
      case .object(let members): for (_, member) in members { visit(member) }
      default: break
      }
    }
    visit(tree)
    return names
  }
}
