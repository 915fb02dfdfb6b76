public import PGPhaseModel

extension StatementShape {
  /// Reads `sql` (one or more statements) with PostgreSQL's own parser and scanner. One
  /// `CREATE INDEX CONCURRENTLY`, `REINDEX INDEX CONCURRENTLY`, `DROP INDEX CONCURRENTLY` (RESTRICT,
  /// one index) or `ALTER TABLE ... VALIDATE CONSTRAINT` (its only command) is recognised as such;
  /// anything else, more than one statement, or text that does not parse is `.other`, noting
  /// whether CONCURRENTLY appears as a keyword (never inside a comment, a literal, a dollar-quoted
  /// body or a quoted identifier).
  public init(parsing sql: String) {
    let tokens: [SQLToken]
    switch SQLScanner.tokens(sql) {
    case .success(let scanned): tokens = scanned
    case .failure: tokens = []
    }
    let bytes = Array(sql.utf8)
    func text(_ token: SQLToken) -> String { String(decoding: bytes[token.range], as: UTF8.self) }
    let concurrently = tokens.contains { $0.kind == .keyword && text($0).lowercased() == "concurrently" }
    guard case .success(let statements) = SQLParser.parse(sql), statements.count == 1 else {
      self = .other(concurrently: concurrently)
      return
    }
    let statement = statements[0]
    let code = tokens.filter { !$0.isComment && $0.range.lowerBound >= statement.start && $0.range.upperBound <= statement.end }
    self =
      Self.index(statement, code: code, bytes: bytes) ?? Self.validate(statement) ?? .other(concurrently: concurrently)
  }

  private static func index(_ statement: ParsedStatement, code: [SQLToken], bytes: [UInt8]) -> StatementShape? {
    let fields = statement.fields
    switch statement.type {
    case "IndexStmt":
      guard fields["concurrent"]?.bool == true, let name = fields["idxname"]?.string,
        let relation = fields["relation"], let table = relation.qualifiedName, let at = relation.location
      else { return nil }
      // The definition is the text after the table's name: skip the name's one or two parts.
      guard var i = code.firstIndex(where: { $0.range.lowerBound == at }) else { return nil }
      i += 1
      if table.schema != nil { i += 2 }
      guard i < code.count else { return nil }
      let definition = String(decoding: bytes[code[i].range.lowerBound..<code[code.count - 1].range.upperBound], as: UTF8.self)
      return .createIndexConcurrently(
        unique: fields["unique"]?.bool == true, name: name, table: table, definition: definition)
    case "ReindexStmt":
      let concurrent = fields["params"]?.array.contains {
        $0.node("DefElem")?["defname"]?.string == "concurrently" && $0.node("DefElem")!.defElemBool
      }
      guard fields["kind"]?.string == "REINDEX_OBJECT_INDEX", concurrent == true,
        let name = fields["relation"]?.qualifiedName
      else { return nil }
      return .reindexIndexConcurrently(name)
    case "DropStmt":
      let objects = fields["objects"]?.array ?? []
      guard fields["removeType"]?.string == "OBJECT_INDEX", fields["concurrent"]?.bool == true,
        fields["behavior"]?.string != "DROP_CASCADE", objects.count == 1,
        let name = QualifiedName(parts: objects[0].node("List")?["items"]?.names ?? objects[0].names)
      else { return nil }
      return .dropIndexConcurrently(name)
    default:
      return nil
    }
  }

  private static func validate(_ statement: ParsedStatement) -> StatementShape? {
    guard statement.type == "AlterTableStmt", statement.fields["objtype"]?.string == "OBJECT_TABLE",
      let table = statement.fields["relation"]?.qualifiedName,
      let commands = statement.fields["cmds"]?.array, commands.count == 1,
      let command = commands[0].node("AlterTableCmd"), command["subtype"]?.string == "AT_ValidateConstraint",
      let name = command["name"]?.string
    else { return nil }
    return .validateConstraint(table: table, name: name)
  }
}

extension StatementShape {
  /// Whether the text starts `CREATE [UNIQUE] INDEX CONCURRENTLY`, whether or not the rest reads:
  /// the format-1 reader refuses such a step it cannot type rather than run it as plain SQL.
  public static func beginsIndexBuild(_ sql: String) -> Bool {
    guard case .success(let tokens) = SQLScanner.tokens(sql) else { return false }
    let bytes = Array(sql.utf8)
    var words = tokens.lazy.filter { !$0.isComment }.map { String(decoding: bytes[$0.range], as: UTF8.self).lowercased() }
      .makeIterator()
    guard words.next() == "create" else { return false }
    var word = words.next()
    if word == "unique" { word = words.next() }
    return word == "index" && words.next() == "concurrently"
  }
}
