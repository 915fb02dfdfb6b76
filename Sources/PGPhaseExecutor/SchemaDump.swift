public import PGPhaseCatalog
import PGPhaseModel
public import PGPhasePostgres

/// What `pgphase schema dump` prints: the live schema, except that an expression pgphase itself
/// wrote is shown as its intent wrote it, when the server confirms that it is the same expression
/// as the one in the catalog (so `plans/schema.sql`, which shows intents' expressions as written,
/// can equal the dump of the migrated database byte for byte). Whatever the server does not
/// confirm — changed by hand since, or not an expression pgphase wrote — is shown as the server
/// prints it.
///
/// What the journal's plans say an intent wrote, and so what can be shown in its words (the last
/// done step's word on each object, followed through table renames): column defaults (the
/// `column_default` postconditions), CHECK constraints and index keys and predicates (the steps'
/// `writes`).
public enum SchemaDump {
  public static func read(on connection: Connection) throws -> CatalogSchema {
    var schema = try CatalogSchemaReader(connection).read()
    let journal: JournalPlans
    do {
      journal = try JournalPlans.read(on: connection)
    } catch ExecutorError.journalUnusable(let problem) {
      // A dump reads and never refuses: a schema named pgphase that is no journal of pgphase's
      // stays out as its name says (the executor refuses to run there), and is said to.
      schema.leftOut.append("schema pgphase: \(problem.description); no expression is shown in an intent's words")
      return schema
    }
    var resolver = TableResolver(connection: connection)
    var written: [QualifiedName: Written] = [:]
    for (table, column, text) in writtenDefaults(journal) {
      guard let name = try resolver.resolve(table) else { continue }
      written[name, default: Written()].defaults.append((column, text))
    }
    for expression in writtenExpressions(journal) {
      guard let name = try resolver.resolve(expression.table) else { continue }
      written[name, default: Written()].expressions.append(expression)
    }
    if connection.serverVersionNumber < 180000 {
      for (table, names) in renamedNotNulls(journal) {
        guard let name = try resolver.resolve(table), var live = schema.snapshot.tables[name] else { continue }
        for i in live.columns.indices {
          guard let kept = names[live.columns[i].name],
            live.columns[i].notNull?.name == SchemaSnapshot.NotNull.defaultName(table: name.name, column: live.columns[i].name)
          else { continue }
          live.columns[i].notNull?.name = kept
        }
        schema.snapshot.tables[name] = live
      }
    }
    guard !written.isEmpty else { return schema }
    let normalizer = ExpressionNormalizer(connection)
    for (tableName, words) in written.sorted(by: { $0.key < $1.key }) {
      guard let live = schema.snapshot.tables[tableName] else { continue }
      let candidate = words.candidate(live)
      let (normalized, failures) = try normalizer.normalize(candidate)
      // What the server could not confirm is shown in its own words; say so rather than differ
      // silently from what the plans wrote.
      for failure in failures {
        schema.leftOut.append("\(tableName): \(failure); shown as the server prints it, not as the intent wrote it")
      }
      schema.snapshot.tables[tableName] = words.confirmed(in: live, candidate: candidate, normalized: normalized)
    }
    return schema
  }

  /// What pgphase wrote on one table, in its intents' words.
  struct Written {
    var defaults: [(column: String, text: String)] = []
    var expressions: [WrittenExpression] = []

    /// The live table's columns (for their types) with the intents' expressions on them, where
    /// the live table has the object they belong to, of the same shape.
    func candidate(_ live: SchemaSnapshot.Table) -> SchemaSnapshot.Table {
      var candidate = SchemaSnapshot.Table(name: live.name)
      candidate.columns = live.columns.map { SchemaSnapshot.Column(name: $0.name, type: $0.type, collation: $0.collation) }
      for (column, text) in defaults where live.column(column)?.defaultExpression != nil {
        candidate.updateColumn(column) { $0.defaultExpression = text }
      }
      for expression in expressions {
        switch expression {
        case .check(_, let name, let text):
          guard live.constraints[name]?.kind == .check else { continue }
          candidate.constraints.insert(.init(name: name, kind: .check, definition: "CHECK (\(text))", columns: []))
        case .index(let index, _, let keys, let predicate):
          guard var copy = live.indexes[index.name], Self.sameShape(copy, keys: keys, predicate: predicate) else { continue }
          for (position, key) in keys.enumerated() {
            if let key { copy.keys[position].expression = key }
          }
          copy.predicate = predicate
          candidate.indexes.insert(copy)
        }
      }
      return candidate
    }

    /// Whether the live index has a key where the intent wrote one, an expression exactly where
    /// it wrote one, and a predicate exactly when it wrote one.
    static func sameShape(_ index: SchemaSnapshot.Index, keys: [String?], predicate: String?) -> Bool {
      index.keys.count == keys.count && (index.predicate == nil) == (predicate == nil)
        && zip(index.keys, keys).allSatisfy { ($0.expression != nil) == ($1 != nil) }
    }

    /// `live` with each intent's text where its normalised form is what the server holds.
    func confirmed(
      in live: SchemaSnapshot.Table, candidate: SchemaSnapshot.Table, normalized: SchemaSnapshot.Table
    ) -> SchemaSnapshot.Table {
      var out = live
      for (column, text) in defaults {
        guard let server = live.column(column)?.defaultExpression, normalized.column(column)?.defaultExpression == server,
          candidate.column(column)?.defaultExpression == text
        else { continue }
        out.updateColumn(column) { $0.defaultExpression = text }
      }
      for constraint in candidate.constraints {
        guard let server = live.constraints[constraint.name],
          normalized.constraints[constraint.name]?.definition == server.definition
        else { continue }
        out.constraints[constraint.name]?.definition = constraint.definition
      }
      for index in candidate.indexes {
        guard let server = live.indexes[index.name], let n = normalized.indexes[index.name],
          n.keys == server.keys, n.predicate == server.predicate
        else { continue }
        out.indexes[index.name]?.keys = index.keys
        out.indexes[index.name]?.predicate = index.predicate
      }
      return out
    }
  }

  /// Names as a step wrote them, resolved to the table they name now.
  struct TableResolver {
    let connection: Connection
    var resolved: [QualifiedName: QualifiedName?] = [:]

    /// The table `name` names (an unqualified name along the session's search_path, as the step
    /// ran it), or nil when none does.
    mutating func resolve(_ name: QualifiedName) throws -> QualifiedName? {
      if let known = resolved[name] { return known }
      let row = try connection.execute(
        """
        SELECT n.nspname, c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE c.oid = pg_catalog.to_regclass($1)
        """, [name.sql]
      ).first
      let found = row.flatMap { r in r["nspname"].map { QualifiedName(schema: $0, r["relname"] ?? name.name) } }
      resolved[name] = .some(found)
      return found
    }
  }

  /// Before PostgreSQL 18 a NOT NULL has no name, and the live reader gives it the one 18 gives a
  /// NOT NULL made on the table under its present name. On 18 a table renamed keeps its NOT NULLs'
  /// names, as it keeps every constraint's: for the tables done `rename_table` steps renamed, the
  /// names their plan assumed the table's NOT NULLs had (its `assumes`), by column, followed
  /// through later renames. A later done step that sets or drops the column's NOT NULL, drops the
  /// column or the table, ends that (18 names a NOT NULL made then after the table's new name).
  static func renamedNotNulls(_ journal: JournalPlans) -> [QualifiedName: [String: String]] {
    var names: [QualifiedName: [String: String]] = [:]
    func find(_ table: QualifiedName) -> QualifiedName? {
      names.keys.first { JournalPlans.norm($0) == JournalPlans.norm(table) }
    }
    for (lp, step) in journal.orderedSteps where journal.state(lp.plan.intent, step.id)?.state == .done {
      if let rename = step.tableRename {
        var kept = find(rename.from).flatMap { names.removeValue(forKey: $0) } ?? [:]
        let assumed = lp.plan.assumes?.first { JournalPlans.norm($0.name) == JournalPlans.norm(rename.from) }
        for column in assumed?.columns ?? [] where kept[column.name] == nil {
          if let notNull = column.notNull { kept[column.name] = notNull.name }
        }
        if !kept.isEmpty { names[rename.to] = kept }
      }
      for p in step.postconditions {
        switch p {
        case .columnExists(let t, let c, _, .some), .columnAbsent(let t, let c):
          if let key = find(t) { names[key]?[c] = nil }
        case .tableAbsent(let t):
          if let key = find(t) { names[key] = nil }
        default: break
        }
      }
    }
    return names
  }

  /// The default each column got last from a done step, as its intent wrote it.
  static func writtenDefaults(_ journal: JournalPlans) -> [(table: QualifiedName, column: String, text: String)] {
    journal.expectations().expected.compactMap { expectation in
      guard case .columnDefault(let table, let column, let text?) = expectation.postcondition else { return nil }
      return (table, column, text)
    }
  }

  /// The CHECK and index expressions done steps wrote, the last word on each object: a later
  /// step's on the same object replaces it, a table renamed takes them to its new name, and an
  /// object or table made absent drops them.
  static func writtenExpressions(_ journal: JournalPlans) -> [WrittenExpression] {
    func key(_ e: WrittenExpression) -> String {
      switch e {
      case .check(let table, let name, _): "con|\(JournalPlans.norm(table))|\(name)"
      case .index(let index, let table, _, _): "idx|\(JournalPlans.norm(index.schema == nil ? table.sibling(index.name) : index))"
      }
    }
    var entries: [(key: String, value: WrittenExpression)] = []
    for (lp, step) in journal.orderedSteps where journal.state(lp.plan.intent, step.id)?.state == .done {
      if let rename = step.tableRename {
        for i in entries.indices where JournalPlans.norm(entries[i].value.table) == JournalPlans.norm(rename.from) {
          let moved = entries[i].value.onTable(rename.to)
          entries[i] = (key(moved), moved)
        }
      }
      for p in step.postconditions {
        switch p {
        case .tableAbsent(let t):
          entries.removeAll { JournalPlans.norm($0.value.table) == JournalPlans.norm(t) }
        case .constraintAbsent(let t, let n):
          entries.removeAll { $0.key == "con|\(JournalPlans.norm(t))|\(n)" }
        case .indexAbsent(let i):
          entries.removeAll {
            i.schema == nil ? $0.key.hasPrefix("idx|") && $0.key.hasSuffix(".\(i.name)") : $0.key == "idx|\(JournalPlans.norm(i))"
          }
        default: break
        }
      }
      for expression in step.writes {
        entries.removeAll { $0.key == key(expression) }
        entries.append((key(expression), expression))
      }
    }
    return entries.map(\.value)
  }
}
