import Foundation
import PGPhaseCatalog
import PGPhaseModel
import PGPhasePostgres
import PGPhaseSchema
import PGPhaseTestSupport
import Testing

private typealias S = SchemaSnapshot

private let setUp = """
  CREATE TYPE mood AS ENUM ('sad', 'ok');
  CREATE SEQUENCE tickets_id_seq;
  CREATE TABLE orders (
    id bigint NOT NULL,
    status text NOT NULL,
    amount numeric(12,2),
    tags text[],
    feeling mood,
    email text,
    score integer
  );
  """

/// The live `orders` table with `change` applied to it.
private func orders(_ db: TestDatabase, _ change: (inout S.Table) -> Void) throws -> S.Table {
  var table = try #require(
    try CatalogSchemaReader(db.connection).read().snapshot.tables[QualifiedName(schema: "public", "orders")])
  change(&table)
  return table
}

@Suite(.enabled(if: TestServer.shouldRun, "needs PostgreSQL: run through scripts/with-pg"))
struct ExpressionNormalizerTests {
  @Test func defaultsComeOutAsTheServerStoresThem() throws {
    try withTestDatabase { db in
      try db.connection.executeScript(setUp)
      let written: [(column: String, expression: String, server: String)] = [
        ("status", "'minor'", "'minor'::text"),
        ("status", "('minor')", "'minor'::text"),
        ("status", "'minor'::text", "'minor'::text"),
        ("amount", "0", "0"),
        ("amount", "1.50", "1.50"),
        ("tags", "'{}'", "'{}'::text[]"),
        ("feeling", "'ok'", "'ok'::public.mood"),
        ("id", "nextval('tickets_id_seq')", "nextval('public.tickets_id_seq'::regclass)"),
        ("score", "(random()*1000)::int", "((random() * (1000)::double precision))::integer"),
        ("email", "lower('A' || 'B')", "lower(('A'::text || 'B'::text))"),
      ]
      for (column, expression, server) in written {
        let table = try orders(db) { t in t.updateColumn(column) { $0.defaultExpression = expression } }
        let (normalized, failures) = try ExpressionNormalizer(db.connection).normalize(table)
        #expect(failures.isEmpty)
        #expect(normalized.column(column)?.defaultExpression == server, "\(expression)")
      }
    }
  }

  @Test func checksIndexesAndGeneratedColumns() throws {
    try withTestDatabase { db in
      try db.connection.executeScript(setUp)
      let table = try orders(db) { t in
        t.constraints.insert(
          .init(name: "status_known", kind: .check, definition: "CHECK (status IN ('open', 'closed'))", columns: ["status"]))
        t.constraints.insert(
          .init(
            name: "amount_positive", kind: .check, definition: "CHECK (amount > 0) NOT VALID", columns: ["amount"],
            validated: false))
        t.constraints.insert(
          .init(name: "score_small", kind: .check, definition: "CHECK (score < 10) NO INHERIT", columns: ["score"]))
        t.indexes.insert(
          .init(
            name: "orders_open_email", keys: [.init(expression: "lower(email)"), .init(column: "id", options: "DESC")],
            predicate: "status = 'open' AND amount IS NOT NULL", columns: ["id", "status", "amount", "email"]))
        t.indexes.insert(.init(name: "orders_sum", keys: [.init(expression: "(amount + score)")], columns: ["amount", "score"]))
        t.columns.append(
          S.Column(name: "email_lower", type: "text", generated: .init(expression: "lower(email)", columns: ["email"])))
      }
      let (normalized, failures) = try ExpressionNormalizer(db.connection).normalize(table)
      #expect(failures.isEmpty)
      #expect(
        normalized.constraints["status_known"]?.definition == "CHECK ((status = ANY (ARRAY['open'::text, 'closed'::text])))")
      #expect(normalized.constraints["amount_positive"]?.definition == "CHECK ((amount > (0)::numeric)) NOT VALID")
      #expect(normalized.constraints["score_small"]?.definition == "CHECK ((score < 10)) NO INHERIT")
      #expect(
        normalized.indexes["orders_open_email"]?.keys == [
          .init(expression: "lower(email)"), .init(column: "id", options: "DESC"),
        ])
      #expect(normalized.indexes["orders_open_email"]?.predicate == "((status = 'open'::text) AND (amount IS NOT NULL))")
      #expect(normalized.indexes["orders_sum"]?.keys == [.init(expression: "((amount + (score)::numeric))")])
      #expect(normalized.column("email_lower")?.generated?.expression == "lower(email)")
      // What is not an expression stays as it was.
      #expect(normalized.columns.map(\.name) == table.columns.map(\.name))
      #expect(normalized.indexes["orders_open_email"]?.name == "orders_open_email")
    }
  }

  /// Nothing is left behind: no scratch table, the real table unchanged; inside a caller's
  /// transaction the normaliser uses a savepoint and leaves the transaction usable; what the
  /// server refuses is reported and the rest still normalised; a role without superuser can do it.
  @Test func leavesNothingBehindAndReportsWhatFails() throws {
    try withTestDatabase { db in
      try db.connection.executeScript(setUp)
      let before = try CatalogSchemaReader(db.connection).read().snapshot
      let table = try orders(db) { t in
        t.updateColumn("status") { $0.defaultExpression = "no_such_function()" }
        t.updateColumn("amount") { $0.defaultExpression = "(1)" }
        t.constraints.insert(.init(name: "bad", kind: .check, definition: "CHECK (no_such_column > 0)", columns: []))
      }
      try db.connection.execute("BEGIN")
      try db.connection.execute("CREATE TABLE inside_caller (x int)")
      let (normalized, failures) = try ExpressionNormalizer(db.connection).normalize(table)
      #expect(db.connection.transactionStatus == .inTransaction)
      try db.connection.execute("INSERT INTO inside_caller VALUES (1)")
      try db.connection.execute("COMMIT")
      #expect(failures.map(\.object) == ["default of public.orders.status", "check constraint bad on public.orders"])
      #expect(failures.first?.error.sqlState == "42883")
      #expect(normalized.column("status")?.defaultExpression == "no_such_function()")
      #expect(normalized.column("amount")?.defaultExpression == "1")
      #expect(try db.connection.execute("SELECT count(*) FROM pg_class WHERE relname LIKE 'pgphase_n%'").scalarInt() == 0)
      var after = try CatalogSchemaReader(db.connection).read().snapshot
      after.tables.remove(QualifiedName(schema: "public", "inside_caller"))
      #expect(after == before)

      // Roles are the whole server's: one of this test's own, dropped after.
      let role = "pgphase_plain_\(db.name.suffix(8))"
      try db.connection.execute("CREATE ROLE \(role) LOGIN")
      defer { _ = try? db.connection.executeScript("DROP OWNED BY \(role); DROP ROLE \(role)") }
      try db.connection.execute("GRANT SELECT ON orders TO \(role)")
      let plain = try Connection.connect(dsn: db.conninfo + " user=\(role)", applicationName: "pgphase-tests")
      defer { plain.close() }
      let (byPlain, plainFailures) = try ExpressionNormalizer(plain).normalize(table)
      #expect(byPlain.column("amount")?.defaultExpression == "1")
      #expect(plainFailures.count == 2)
    }
  }

  /// A hand-written schema file, read by the file reader and normalised on a server that has it
  /// loaded, is exactly the live snapshot: the file reader keeps expressions as written, the
  /// normaliser puts them in the server's form, and everything else already agrees.
  @Test func aHandWrittenSchemaNormalisedIsTheLiveSchema() throws {
    try withTestDatabase { db in
      let tools = try PostgresTools.matching(db.connection)
      let path = fixture("handwritten.sql")
      try tools.load(path, into: db)
      let live = try CatalogSchemaReader(db.connection).read().snapshot
      let file = SchemaFileReader.read(try String(contentsOfFile: path, encoding: .utf8), file: "handwritten.sql")
      #expect(file.diagnostics.isEmpty)
      // As written, the file differs from the server in expression text only.
      #expect(
        file.snapshot.differences(to: live).map(\.object) == [
          "public.checks.region", "check constraint checks_interval_whitelist on public.checks", "public.incidents.status",
        ])
      let (normalized, failures) = try ExpressionNormalizer(db.connection).normalize(file.snapshot, searchPath: ["public"])
      #expect(failures.isEmpty)
      let same = normalized == live
      #expect(same, "\(explain(live, normalized))")
    }
  }
}
