public import PGPhaseModel
public import PGPhasePostgres

/// Puts a table's expressions into the form the server stores them in, by asking the server:
/// the table's columns are created as a scratch temporary table, each default, generation
/// expression, CHECK or exclusion constraint and index is applied to it, and what `pg_get_expr`,
/// `pg_get_constraintdef` and `pg_get_indexdef` then print is read back, all in a transaction
/// (or savepoint) that is rolled back. Nothing of the user's is touched or locked beyond an
/// ACCESS SHARE on what the expressions name.
///
/// `'minor'` becomes `'minor'::text`, `x IN (1, 2)` becomes `(x = ANY (ARRAY[1, 2]))`: two texts
/// are the same expression exactly when their normalised forms are equal, whatever their
/// spelling, which is how a drift check or `verify` compares what a plan wrote with what the
/// catalog holds.
///
/// Not `Sendable`: it uses its connection, which belongs to one task at a time.
public struct ExpressionNormalizer {
  public let connection: Connection

  public init(_ connection: Connection) { self.connection = connection }

  /// A part of the table the server would not take, and why; that part is left as it was.
  public struct Failure: Sendable, Equatable, CustomStringConvertible {
    /// `column public.t.amount default`, `constraint c`, `index i`, `the table's columns`.
    public var object: String
    /// The text that failed.
    public var text: String
    public var error: PostgresError

    public var description: String { "\(object): \(text): \(error.message)" }
  }

  /// `table` with every column type (as `format_type` prints it), default, generation
  /// expression, CHECK and exclusion constraint definition and index key and predicate in the
  /// server's form, and what could not be put in it. Names in the expressions resolve along `searchPath` (nil: the session's), as they would
  /// where the expressions are used; the result names everything schema-qualified, as the live
  /// reader and pg_dump do. Keys, foreign keys, triggers and statistics are left as they are.
  public func normalize(_ table: SchemaSnapshot.Table, searchPath: [String]? = nil) throws -> (
    table: SchemaSnapshot.Table, failures: [Failure]
  ) {
    var run = Run(connection: connection, table: table, searchPath: searchPath)
    try run.inScratchTransaction { try $0.normalizeAll() }
    return (run.table, run.failures)
  }

  /// Every table and domain of `snapshot` normalised (see `normalize(_:searchPath:)`).
  public func normalize(_ snapshot: SchemaSnapshot, searchPath: [String]? = nil) throws -> (
    snapshot: SchemaSnapshot, failures: [Failure]
  ) {
    var out = snapshot
    var failures: [Failure] = []
    for table in snapshot.tables {
      let (normalized, problems) = try normalize(table, searchPath: searchPath)
      out.tables.insert(normalized)
      failures += problems
    }
    for type in snapshot.types {
      guard case .domain(let domain) = type.kind else { continue }
      let (normalized, problems) = try normalize(domain, named: type.name, searchPath: searchPath)
      out.types[type.name]?.kind = .domain(normalized)
      failures += problems
    }
    return (out, failures)
  }

  /// A domain's default and CHECK constraints in the server's form (a scratch domain in pg_temp).
  public func normalize(_ domain: SchemaSnapshot.Domain, named name: QualifiedName, searchPath: [String]? = nil) throws -> (
    domain: SchemaSnapshot.Domain, failures: [Failure]
  ) {
    var run = Run(connection: connection, table: SchemaSnapshot.Table(name: name), searchPath: searchPath)
    var out = domain
    try run.inScratchTransaction { run in
      if let searchPath { try run.setSearchPath(searchPath) }
      let scratch = "pg_temp.pgphase_normalize_domain"
      var create = "CREATE DOMAIN \(scratch) AS \(domain.baseType)"
      if let collation = domain.collation { create += " COLLATE \(collation.sql)" }
      if let expression = domain.defaultExpression { create += " DEFAULT \(expression)" }
      guard try run.attempt("domain \(name)", create, create) else { return }
      var added: [Int: String] = [:]
      for (i, check) in domain.checks.enumerated() {
        let temporary = "pgphase_n_d\(i)"
        let sql = "ALTER DOMAIN \(scratch) ADD CONSTRAINT \(temporary) \(check.definition)\(check.validated ? "" : " NOT VALID")"
        if try run.attempt("check \(SQL.quoteIdentifier(check.name)) of domain \(name)", check.definition, sql) {
          added[i] = temporary
        }
      }
      try connection.execute("SELECT pg_catalog.set_config('search_path', '', true)")
      let typeOID = "'\(scratch)'::pg_catalog.regtype"
      if domain.defaultExpression != nil {
        out.defaultExpression =
          try connection.execute("SELECT pg_catalog.pg_get_expr(typdefaultbin, 0) FROM pg_catalog.pg_type WHERE oid = \(typeOID)")
          .scalar ?? domain.defaultExpression
      }
      for (i, temporary) in added {
        guard
          var definition = try connection.execute(
            "SELECT pg_catalog.pg_get_constraintdef(oid) FROM pg_catalog.pg_constraint WHERE contypid = \(typeOID) AND conname = $1",
            [temporary]
          ).scalar
        else { continue }
        if !domain.checks[i].validated, definition.hasSuffix(" NOT VALID") { definition.removeLast(" NOT VALID".count) }
        out.checks[i].definition = definition
      }
    }
    return (out, run.failures)
  }
}

/// One normalisation: the scratch table, and the table being rewritten.
private struct Run {
  let connection: Connection
  var table: SchemaSnapshot.Table
  let searchPath: [String]?
  var failures: [ExpressionNormalizer.Failure] = []
  let scratch = QualifiedName(schema: "pg_temp", "pgphase_normalize")
  var savepoints = 0

  init(connection: Connection, table: SchemaSnapshot.Table, searchPath: [String]?) {
    self.connection = connection
    self.table = table
    self.searchPath = searchPath
  }

  /// Runs `body` in a transaction that is always rolled back (a savepoint when the connection is
  /// already in one).
  mutating func inScratchTransaction(_ body: (inout Run) throws -> Void) throws {
    let nested = connection.transactionStatus == .inTransaction
    try connection.execute(nested ? "SAVEPOINT pgphase_normalize" : "BEGIN")
    do {
      try body(&self)
    } catch {
      _ = try? connection.execute(nested ? "ROLLBACK TO SAVEPOINT pgphase_normalize" : "ROLLBACK")
      if nested { _ = try? connection.execute("RELEASE SAVEPOINT pgphase_normalize") }
      throw error
    }
    try connection.execute(nested ? "ROLLBACK TO SAVEPOINT pgphase_normalize" : "ROLLBACK")
    if nested { try connection.execute("RELEASE SAVEPOINT pgphase_normalize") }
  }

  /// Runs one statement under its own savepoint: true when it worked; a failure is recorded.
  mutating func attempt(_ object: String, _ text: String, _ sql: String) throws -> Bool {
    savepoints += 1
    let name = "pgphase_n\(savepoints)"
    try connection.execute("SAVEPOINT \(name)")
    do {
      try connection.execute(sql)
      try connection.execute("RELEASE SAVEPOINT \(name)")
      return true
    } catch {
      if error.connectionLost { throw error }
      try connection.execute("ROLLBACK TO SAVEPOINT \(name)")
      try connection.execute("RELEASE SAVEPOINT \(name)")
      failures.append(.init(object: object, text: text, error: error))
      return false
    }
  }

  func setSearchPath(_ schemas: [String]) throws {
    try connection.execute(
      "SELECT pg_catalog.set_config('search_path', $1, true)", [schemas.map(SQL.quoteIdentifier).joined(separator: ", ")])
  }

  mutating func normalizeAll() throws {
    let originalPath = try connection.execute("SHOW search_path").scalar ?? ""
    if let searchPath { try setSearchPath(searchPath) }
    let columns = table.columns.map { c in
      "\(SQL.quoteIdentifier(c.name)) \(c.type)" + (c.collation.map { " COLLATE \($0.sql)" } ?? "")
    }
    guard
      try attempt(
        "the columns of \(table.name)", columns.joined(separator: ", "),
        "CREATE TEMP TABLE \(scratch.sql) (\(columns.joined(separator: ", ")))")
    else { return }
    var defaults: [String] = []
    for column in table.columns {
      let name = SQL.quoteIdentifier(column.name)
      if let generated = column.generated {
        let dropped = try attempt("column \(column.name)", generated.expression, "ALTER TABLE \(scratch.sql) DROP COLUMN \(name)")
        if dropped,
          try attempt(
            "generated column \(table.name).\(name)", generated.expression,
            "ALTER TABLE \(scratch.sql) ADD COLUMN \(name) \(column.type) GENERATED ALWAYS AS (\(generated.expression)) STORED")
        {
          defaults.append(column.name)
        }
      } else if let expression = column.defaultExpression {
        if try attempt(
          "default of \(table.name).\(name)", expression,
          "ALTER TABLE \(scratch.sql) ALTER COLUMN \(name) SET DEFAULT \(expression)")
        {
          defaults.append(column.name)
        }
      }
    }
    var constraints: [String: String] = [:]
    for constraint in table.constraints where constraint.kind == .check || constraint.kind == .exclusion {
      let temporary = "pgphase_n_c\(constraints.count)"
      if try attempt(
        "\(constraint.kind.words) \(SQL.quoteIdentifier(constraint.name)) on \(table.name)", constraint.definition,
        "ALTER TABLE \(scratch.sql) ADD CONSTRAINT \(temporary) \(constraint.definition)")
      {
        constraints[constraint.name] = temporary
      }
    }
    var indexes: [String: String] = [:]
    for index in table.indexes {
      var copy = index
      copy.name = "pgphase_n_i\(indexes.count)"
      if try attempt(
        "index \(table.name.sibling(index.name))", index.createStatement(on: table.name), copy.createStatement(on: scratch))
      {
        indexes[index.name] = copy.name
      }
    }
    // Read back schema-qualified, as the live reader reads.
    try connection.execute("SELECT pg_catalog.set_config('search_path', '', true)")
    try readTypes()
    for column in defaults {
      let expression = try connection.execute(
        """
        SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid) FROM pg_catalog.pg_attrdef d
        JOIN pg_catalog.pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
        WHERE d.adrelid = 'pg_temp.pgphase_normalize'::pg_catalog.regclass AND a.attname = $1
        """, [column]
      ).scalar
      guard let expression else { continue }
      table.updateColumn(column) { c in
        if c.generated != nil { c.generated?.expression = expression } else { c.defaultExpression = expression }
      }
    }
    for (name, temporary) in constraints {
      guard
        let definition = try connection.execute(
          """
          SELECT pg_catalog.pg_get_constraintdef(oid) FROM pg_catalog.pg_constraint
          WHERE conrelid = 'pg_temp.pgphase_normalize'::pg_catalog.regclass AND conname = $1
          """, [temporary]
        ).scalar
      else { continue }
      table.constraints[name]?.definition = definition
    }
    for (name, temporary) in indexes {
      guard var index = table.indexes[name] else { continue }
      try readIndex(temporary, into: &index)
      table.indexes.insert(index)
    }
    try connection.execute("SELECT pg_catalog.set_config('search_path', $1, true)", [originalPath])
  }

  /// Each column's type as `format_type` prints it (`int` becomes `integer`, `varchar(40)`
  /// `character varying(40)`), as the live reader has it.
  mutating func readTypes() throws {
    let rows = try connection.execute(
      """
      SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type FROM pg_catalog.pg_attribute a
      WHERE a.attrelid = 'pg_temp.pgphase_normalize'::pg_catalog.regclass AND a.attnum > 0 AND NOT a.attisdropped
      """
    ).rows
    for row in rows {
      guard let name = row["attname"], let type = row["type"] else { continue }
      table.updateColumn(name) { $0.type = type }
    }
  }

  /// The keys and predicate of the scratch index as the server prints them.
  func readIndex(_ temporary: String, into index: inout SchemaSnapshot.Index) throws {
    let oid = "pg_temp.\(SQL.quoteIdentifier(temporary))"
    guard
      let row = try connection.execute(
        """
        SELECT pg_catalog.pg_get_indexdef(i.indexrelid) AS def, pg_catalog.pg_get_expr(i.indpred, i.indrelid) AS pred,
               (SELECT pg_catalog.json_agg(pg_catalog.pg_get_indexdef(i.indexrelid, k, false) ORDER BY k)
                FROM pg_catalog.generate_series(1, i.indnkeyatts) k) AS keys
        FROM pg_catalog.pg_index i WHERE i.indexrelid = $1::pg_catalog.regclass
        """, [oid]
      ).first, let definition = row["def"]
    else { return }
    let elements = try IndexDefinitionParts.keyElements(of: definition)
    let keyTexts = try IndexDefinitionParts.jsonStrings(row["keys"])
    for (position, key) in index.keys.enumerated() where position < elements.count && position < keyTexts.count {
      let options = try IndexDefinitionParts.options(of: elements[position], after: keyTexts[position], in: definition)
      index.keys[position] =
        key.column != nil ? .init(column: key.column!, options: options) : .init(expression: keyTexts[position], options: options)
    }
    index.predicate = row["pred"]
  }
}
