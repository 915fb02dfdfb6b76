import Foundation
import PGPhaseCatalog
import PGPhaseExecutor
import PGPhaseIntents
import PGPhaseModel
import PGPhasePlanner
import PGPhasePostgres
import PGPhaseSQL
import PGPhaseTestSupport
import Testing

/// alter_column and rename_column planned against the schema carry over everything the old
/// column has: after contract the live catalog is the schema before, with only the change the
/// intent asked for (the column's type, or its name in every definition), nothing lost; and the
/// old app keeps writing through the window, with every carried constraint enforced.
@Suite("Carry-over", .serialized, .enabled(if: TestServer.shouldRun, "needs PostgreSQL: run through scripts/with-pg"))
struct CarryOverTests {
  static let schema = """
    CREATE TABLE parents (id int PRIMARY KEY, name text);
    CREATE TABLE items (
      id int PRIMARY KEY,
      parent_id int REFERENCES parents (id) ON DELETE CASCADE,
      amount int NOT NULL DEFAULT 0 CONSTRAINT items_amount_check CHECK (amount >= 0),
      code text CONSTRAINT items_code_key UNIQUE,
      note text,
      tag serial NOT NULL
    );
    ALTER TABLE items ADD CONSTRAINT items_amount_bound CHECK (amount < id * 1000) NOT VALID;
    CREATE INDEX items_amount_idx ON items (amount);
    CREATE INDEX items_code_partial ON items (lower(code)) WHERE amount > 10;
    CREATE INDEX items_amount_note ON items (amount DESC) INCLUDE (note) WITH (fillfactor = 70);
    COMMENT ON INDEX items_amount_idx IS 'amount lookups';
    COMMENT ON CONSTRAINT items_amount_check ON items IS 'never negative';
    COMMENT ON COLUMN items.amount IS 'in cents';
    CREATE TABLE amount_log (item_id int, old_amount int, new_amount int);
    CREATE FUNCTION log_amount() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO amount_log VALUES (NEW.id, OLD.amount, NEW.amount);
      RETURN NEW;
    END $$;
    CREATE TRIGGER items_amount_audit AFTER UPDATE OF amount ON items FOR EACH ROW
      WHEN (OLD.amount IS DISTINCT FROM NEW.amount) EXECUTE FUNCTION log_amount();
    CREATE STATISTICS items_amount_parent (dependencies) ON amount, parent_id FROM items;
    CREATE TABLE line_items (id int PRIMARY KEY, item_id int NOT NULL REFERENCES items (id) ON DELETE CASCADE);
    INSERT INTO parents SELECT g, 'p' || g FROM generate_series(1, 20) g;
    INSERT INTO items (id, parent_id, amount, code, note) SELECT g, 1 + g % 20, g, 'c' || g, 'n' FROM generate_series(1, 300) g;
    INSERT INTO line_items SELECT g, 1 + g % 300 FROM generate_series(1, 600) g;
    """

  static let intents: [(String, String)] = [
    (
      "20260101_widen_ids",
      """
      schema: public
      changes:
        - alter_column: {table: items, column: id, type: bigint, up: "id::bigint", down: "id::integer"}
      """
    ),
    (
      "20260102_widen_amount",
      """
      schema: public
      changes:
        - alter_column: {table: items, column: amount, type: bigint, up: "amount::bigint", down: "amount::integer"}
      """
    ),
    (
      "20260103_rename_parent",
      """
      schema: public
      changes:
        - rename_column: {table: items, from: parent_id, to: parent}
      """
    ),
    (
      "20260104_rename_tag",
      """
      schema: public
      changes:
        - rename_column: {table: items, from: tag, to: label}
      """
    ),
  ]

  /// The old app's writes, run after each phase before contract: they touch every carried
  /// constraint (keys, checks, both foreign keys, the trigger).
  static func oldAppWrites(_ c: Connection, round: Int, id: String, amount: String, parent: String) throws {
    let n = 1000 + round
    try c.execute("INSERT INTO items (\(id), \(parent), \(amount), code) VALUES (\(n), 2, 5, 'new\(n)')")
    try c.execute("UPDATE items SET \(amount) = \(amount) + 1 WHERE \(id) IN (1, 2, \(n))")
    try c.execute("UPDATE items SET note = 'touched' WHERE \(id) BETWEEN 3 AND 40")
    try c.execute("INSERT INTO line_items VALUES (\(n), \(n))")
    try c.execute("DELETE FROM items WHERE \(id) = \(300 - round)")
    expectRefused(c, "INSERT INTO items (\(id), \(amount)) VALUES (\(n + 500), -1)", "23514")
    expectRefused(c, "INSERT INTO items (\(id), code) VALUES (\(n + 500), 'c5')", "23505")
    expectRefused(c, "INSERT INTO items (\(id)) VALUES (\(n))", "23505")
    expectRefused(c, "INSERT INTO line_items VALUES (\(n + 500), 999999)", "23503")
    expectRefused(c, "UPDATE items SET \(parent) = 999 WHERE \(id) = 5", "23503")
  }

  static func expectRefused(
    _ c: Connection, _ sql: String, _ sqlState: String, sourceLocation: Testing.SourceLocation = #_sourceLocation
  ) {
    do {
      try c.execute(sql)
      Issue.record("not refused: \(sql)", sourceLocation: sourceLocation)
    } catch let error as PostgresError {
      #expect(error.sqlState == sqlState, "\(sql): \(error)", sourceLocation: sourceLocation)
    } catch {
      Issue.record("\(sql): \(error)", sourceLocation: sourceLocation)
    }
  }

  @Test func everyDependentIsCarriedOverAndTheOldAppKeepsWriting() throws {
    try withTestDatabase { db in
      let c = db.connection
      try c.executeScript(Self.schema)
      let before = try CatalogSchemaReader(c).read().snapshot
      let (loaded, d1) = IntentLoader.load(Self.intents.map { IntentSource(path: "intents/\($0.0).yaml", text: $0.1) })
      let (plans, d2) = Planner.plan(loaded, schema: before)
      try #require((d1 + d2).isEmpty, "\((d1 + d2).map(\.description))")
      let executor = backfillExecutor(db)
      let names = [
        ("id", "amount", "parent_id"), ("id", "amount", "parent_id"), ("id", "amount", "parent_id"), ("id", "amount", "parent"),
      ]
      var round = 0
      for (plan, (id, amount, parent)) in zip(plans, names) {
        let lp = try LoadedPlan(plan)
        for phase in [Phase.expand, .backfill] {
          try executor.apply(phase: phase, intents: nil, plans: [lp])
          round += 1
          // A session of its own per round: a PL/pgSQL function's cached plans (the audit
          // trigger's, of NEW.id) keep the types of when they were made, and fail after a swap
          // in the session that made them (PostgreSQL's, noted in docs/intents.md).
          let app = try db.connect(applicationName: "old-app")
          defer { app.close() }
          try Self.oldAppWrites(app, round: round, id: id, amount: amount, parent: parent)
        }
        try executor.apply(phase: .contract, intents: nil, plans: [lp])
      }
      let after = try CatalogSchemaReader(c).read().snapshot

      // What the intents asked for, applied to the schema before by hand: two types, two names.
      var expected = before
      let items = QualifiedName(schema: "public", "items")
      var table = try #require(expected.tables[items])
      for (column, type) in [("id", "bigint"), ("amount", "bigint")] {
        table.updateColumn(column) { $0.type = type }
      }
      for (from, to) in [("parent_id", "parent"), ("tag", "label")] {
        table.updateColumn(from) {
          $0.name = to
          // A NOT NULL is named after its column (PostgreSQL 18 names it; 15's snapshot does too).
          $0.notNull?.name = SchemaSnapshot.NotNull.defaultName(table: "items", column: to)
        }
        for var k in table.constraints where k.columns.contains(from) {
          k.definition = try #require(ColumnRename.constraint(k.definition, from: from, to: to))
          k.columns = k.columns.map { $0 == from ? to : $0 }
          table.constraints.insert(k)
        }
        for var s in table.statistics where s.columns.contains(from) {
          s.definition = try #require(ColumnRename.statement(s.definition, from: from, to: to))
          s.columns = s.columns.map { $0 == from ? to : $0 }
          table.statistics.insert(s)
        }
      }
      // Each replaced column is now the table's last, in the order the intents replaced them.
      for name in ["id", "amount", "parent", "label"] {
        let column = try #require(table.column(name))
        table.columns.removeAll { $0.name == name }
        table.columns.append(column)
      }
      // Lists kept in column order follow the new order, as the server prints them.
      let order = table.columns.map(\.name)
      for var i in table.indexes {
        i.columns = table.inColumnOrder(i.columns)
        table.indexes.insert(i)
      }
      for var k in table.constraints where k.kind == .check {
        k.columns = table.inColumnOrder(k.columns)
        table.constraints.insert(k)
      }
      for var s in table.statistics {
        s.columns = table.inColumnOrder(s.columns)
        s.definition = try #require(ColumnRename.statisticsInColumnOrder(s.definition, order: order))
        table.statistics.insert(s)
      }
      expected.tables.insert(table)
      if var sequence = expected.sequences[QualifiedName(schema: "public", "items_tag_seq")] {
        sequence.ownedBy = .init(table: items, column: "label")
        expected.sequences.insert(sequence)
      }
      let differences = expected.differences(to: after)
      #expect(
        differences.isEmpty,
        "\(differences.map(\.description).joined(separator: "\n")); label: \(String(describing: after.tables[items]?.column("label")))"
      )

      // The recreated trigger still fires, once per update, on the new column.
      try c.execute("DELETE FROM amount_log")
      try c.execute("UPDATE items SET amount = amount + 1 WHERE id = 10")
      #expect(try c.execute("SELECT count(*) FROM amount_log").scalarInt() == 1)
      // Nothing pgphase made is left behind.
      let leftovers = try c.execute(
        """
        SELECT conname FROM pg_constraint WHERE conname LIKE '\\_pgphase%'
        UNION ALL SELECT relname FROM pg_class WHERE relname LIKE '\\_pgphase%'
        UNION ALL SELECT attname FROM pg_attribute WHERE attname LIKE '\\_pgphase%' AND NOT attisdropped
        """
      ).values
      #expect(leftovers.isEmpty, "\(leftovers)")
    }
  }
}
