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
/// What the journal's plans say an intent wrote, and so what can be shown in its words: column
/// defaults (the `column_default` postconditions of done steps, the last word on each column).
/// CHECK constraints and index expressions of intents are shown in the server's form: the plan
/// records their text only inside step SQL, not as a value.
public enum SchemaDump {
  public static func read(on connection: Connection) throws -> CatalogSchema {
    var schema = try CatalogSchemaReader(connection).read()
    let written: [QualifiedName: [(column: String, text: String)]]
    do {
      written = try writtenDefaults(on: connection)
    } catch ExecutorError.journalUnusable(let problem) {
      // A dump reads and never refuses: a schema named pgphase that is no journal of pgphase's
      // stays out as its name says (the executor refuses to run there), and is said to.
      schema.leftOut.append("schema pgphase: \(problem.description); no default is shown in an intent's words")
      return schema
    }
    guard !written.isEmpty else { return schema }
    let normalizer = ExpressionNormalizer(connection)
    for (tableName, defaults) in written {
      guard let live = schema.snapshot.tables[tableName] else { continue }
      // Only what is asked about: the columns (for their types) and the intents' defaults.
      var candidate = SchemaSnapshot.Table(name: live.name)
      candidate.columns = live.columns.map { SchemaSnapshot.Column(name: $0.name, type: $0.type, collation: $0.collation) }
      for (column, text) in defaults where live.column(column)?.defaultExpression != nil {
        candidate.updateColumn(column) { $0.defaultExpression = text }
      }
      let (normalized, _) = try normalizer.normalize(candidate)
      for (column, text) in defaults {
        guard let server = live.column(column)?.defaultExpression, normalized.column(column)?.defaultExpression == server,
          candidate.column(column)?.defaultExpression == text
        else { continue }
        schema.snapshot.tables[tableName]?.updateColumn(column) { $0.defaultExpression = text }
      }
    }
    return schema
  }

  /// The default each column got last from a done step, as its intent wrote it, by table.
  static func writtenDefaults(on connection: Connection) throws -> [QualifiedName: [(column: String, text: String)]] {
    let expectations = try JournalPlans.read(on: connection).expectations().expected
    var out: [QualifiedName: [(column: String, text: String)]] = [:]
    var resolved: [QualifiedName: QualifiedName?] = [:]
    for expectation in expectations {
      guard case .columnDefault(let table, let column, let text?) = expectation.postcondition else { continue }
      if resolved[table] == nil {
        // As the step ran: an unqualified name along the session's search_path.
        let row = try connection.execute(
          """
          SELECT n.nspname, c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
          WHERE c.oid = pg_catalog.to_regclass($1)
          """, [table.sql]
        ).first
        resolved[table] = row.flatMap { r in r["nspname"].map { QualifiedName(schema: $0, r["relname"] ?? table.name) } }
      }
      guard let name = resolved[table] ?? nil else { continue }
      out[name, default: []].append((column, text))
    }
    return out
  }
}
