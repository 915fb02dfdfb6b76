import Foundation
import PGPhaseCatalog
import PGPhaseExecutor
import PGPhaseIntents
import PGPhaseModel
import PGPhasePlanner
import PGPhasePostgres
import PGPhaseTestSupport
import Testing

/// The operations of issue 16 on a real server: a named primary key and a table comment in
/// create_table, comment_table and comment_column (set and removed), rename_constraint,
/// set_replica_identity, create_index with per-key options and storage parameters, and
/// alter_column's unique, check and comment (in place and on a replaced column). After contract
/// the live catalog is exactly the schema the planner says the intents leave; the old app keeps
/// writing through the window; rolling back expand restores the catalog as it was.
@Suite("Catalog operations", .serialized, .enabled(if: TestServer.shouldRun, "needs PostgreSQL: run through scripts/with-pg"))
struct CatalogOperationsTests {
  static let schema = """
    CREATE TABLE customers (id bigint PRIMARY KEY, email text NOT NULL, name text, nick text);
    CREATE UNIQUE INDEX customers_email_idx ON customers (email);
    COMMENT ON COLUMN customers.name IS 'display name';
    COMMENT ON TABLE customers IS 'people';
    CREATE TABLE orders (
      id bigint PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers (id),
      status text NOT NULL DEFAULT 'open', code text, amount integer CONSTRAINT orders_amount_check CHECK (amount >= 0)
    );
    INSERT INTO customers SELECT g, 'c' || g || '@x', 'n' || g, NULL FROM generate_series(1, 200) g;
    INSERT INTO orders SELECT g, 1 + g % 200, 'open', 'code' || g, g FROM generate_series(1, 400) g;
    """

  static let intent = """
    schema: public
    settings: {backfill_batch_size: 50}
    changes:
      - create_table:
          table: tags
          comment: "Labels"
          columns:
            - {name: a, type: bigint, nullable: false}
            - {name: b, type: text, nullable: false}
          primary_key: {name: tags_pk, columns: [a, b]}
      - comment_table: {table: orders, comment: "Orders placed"}
      - comment_table: {table: customers, comment: null}
      - comment_column: {table: customers, column: name, comment: null}
      - comment_column: {table: orders, column: amount, comment: "in cents"}
      - rename_constraint: {table: orders, from: orders_amount_check, to: orders_amount_nonnegative}
      - rename_constraint: {table: customers, from: customers_pkey, to: customers_pk}
      - set_replica_identity: {table: customers, identity: index, index: customers_email_idx}
      - set_replica_identity: {table: orders, identity: full}
      - create_index:
          table: customers
          name: customers_name_idx
          columns: [{column: name, opclass: text_pattern_ops, order: desc, nulls: last}, {expression: "lower(email)", collate: "C"}]
          with: {fillfactor: 70, deduplicate_items: false}
      - alter_column: {table: orders, column: code, type: "varchar(20)", unique: true, check: "length(code) > 1", comment: "the code"}
      - alter_column: {table: orders, column: status, default: "'new'", comment: "state", check: "status <> ''"}
      - alter_column: {table: customers, column: nick, unique: true}
    """

  /// The old app's writes between phases: it knows none of the new names and still works, and
  /// what the intent adds is enforced on what it writes.
  static func oldAppWrites(_ c: Connection, round: Int) throws {
    let n = 1000 + round
    try c.execute("INSERT INTO customers (id, email, name) VALUES (\(n), 'new\(n)@x', 'N\(n)')")
    try c.execute("INSERT INTO orders (id, customer_id, code, amount) VALUES (\(n), \(n), 'k\(n)', 5)")
    try c.execute("UPDATE orders SET amount = amount + 1, code = code || 'u' WHERE id BETWEEN 1 AND 30")
    try c.execute("UPDATE customers SET name = name || '!' WHERE id BETWEEN 1 AND 30")
    try c.execute("DELETE FROM orders WHERE id = \(400 - round)")
    CarryOverTests.expectRefused(c, "INSERT INTO orders (id, customer_id, amount) VALUES (\(n + 500), 1, -1)", "23514")
    CarryOverTests.expectRefused(c, "INSERT INTO orders (id, customer_id, status) VALUES (\(n + 500), 1, '')", "23514")
  }

  static func plan(_ before: SchemaSnapshot) throws -> (LoadedPlan, SchemaSnapshot) {
    let (loaded, d1) = IntentLoader.load([IntentSource(path: "intents/20270101_catalog.yaml", text: intent)])
    let outcome = Planner.planning(loaded, schema: before)
    try #require((d1 + outcome.diagnostics).isEmpty, "\((d1 + outcome.diagnostics).map(\.description))")
    return (try LoadedPlan(try #require(outcome.plans.first)), outcome.schema)
  }

  @Test func theCatalogEndsAsPlannedAndTheOldAppKeepsWriting() throws {
    try withTestDatabase { db in
      let c = db.connection
      try c.executeScript(Self.schema)
      let (lp, planned) = try Self.plan(try CatalogSchemaReader(c).read().snapshot)
      let executor = backfillExecutor(db)
      for (round, phase) in [Phase.expand, .backfill].enumerated() {
        try executor.apply(phase: phase, intents: nil, plans: [lp])
        let app = try db.connect(applicationName: "old-app")
        defer { app.close() }
        try Self.oldAppWrites(app, round: round)
      }
      // The new app meanwhile: the new column's constraints hold what it writes.
      CarryOverTests.expectRefused(c, "INSERT INTO orders (id, customer_id, code) VALUES (5000, 1, 'code77')", "23505")
      CarryOverTests.expectRefused(c, "INSERT INTO orders (id, customer_id, code) VALUES (5000, 1, 'x')", "23514")
      CarryOverTests.expectRefused(c, "UPDATE customers SET nick = 'same' WHERE id IN (1, 2)", "23505")
      try executor.apply(phase: .contract, intents: nil, plans: [lp])

      let after = try CatalogSchemaReader(c).read().snapshot
      // The planner keeps expressions as the intent writes them: the server's spelling of them
      // (`''::text`) is what the catalog holds.
      let (normalized, failures) = try ExpressionNormalizer(c).normalize(planned, searchPath: ["public"])
      #expect(failures.isEmpty, "\(failures)")
      let differences = normalized.differences(to: after)
      #expect(differences.isEmpty, "\(differences.map(\.description).joined(separator: "\n"))")
      // What the old app wrote went through the replaced column.
      #expect(try c.execute("SELECT code FROM orders WHERE id = 1001").scalar == "k1001")
      #expect(try c.execute("SELECT status FROM orders WHERE id = 1001").scalar == "new")
      let identity = try c.execute(
        "SELECT relreplident::text FROM pg_class WHERE oid IN ('customers'::regclass, 'orders'::regclass) ORDER BY relname"
      ).values
      #expect(identity == [["i"], ["f"]])
      let key = try c.execute(
        "SELECT indisreplident FROM pg_index WHERE indexrelid = 'customers_email_idx'::regclass"
      ).scalarBool()
      #expect(key == true)
    }
  }

  @Test func rollingBackExpandRestoresTheCatalog() throws {
    try withTestDatabase { db in
      let c = db.connection
      try c.executeScript(Self.schema)
      let before = try CatalogSchemaReader(c).read().snapshot
      let (lp, _) = try Self.plan(before)
      let executor = backfillExecutor(db)
      try executor.apply(phase: .expand, intents: nil, plans: [lp])
      try executor.rollback(intent: lp.plan.intent, plans: [lp])
      let after = try CatalogSchemaReader(c).read().snapshot
      let differences = before.differences(to: after)
      #expect(differences.isEmpty, "\(differences.map(\.description).joined(separator: "\n"))")
    }
  }
}
