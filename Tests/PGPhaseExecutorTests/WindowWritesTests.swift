import Foundation
import PGPhaseExecutor
import PGPhaseModel
import PGPhasePostgres
import PGPhaseTestSupport
import Testing

/// Reproducers of issue 13, findings 1 and 4, as reported; the compatibility harness
/// (Compatibility/) attacks the same promises broadly.
@Suite("Writes between expand and contract", .serialized)
struct WindowWritesTests {
  /// Finding 1: after expand of 20261121_checks_endpoint, an old-app UPDATE of another column
  /// of a row the copy has not reached failed the NOT VALID NOT NULL check on endpoint.
  @Test(.enabled(if: TestServer.shouldRun))
  func oldAppUpdateOfAnotherColumnOnARowNotYetCopied() throws {
    try withTestDatabase { db in
      try db.connection.runSQLFile(schemaFile)
      let plans = try LoadedPlan.loadAll(from: plansDir).filter { $0.plan.intent <= "20261121_checks_endpoint" }
      let executor = makeExecutor(db)
      try executor.advance(intents: nil, to: .contract, plans: Array(plans.dropLast()))
      try executor.apply(phase: .expand, intents: ["20261121_checks_endpoint"], plans: plans)
      #expect(try db.connection.execute("SELECT endpoint IS NULL FROM checks WHERE id = 1").scalarBool() == true)
      try db.connection.execute("UPDATE checks SET enabled = false WHERE id = 1")
      #expect(try db.connection.execute("SELECT endpoint = url FROM checks WHERE id = 1").scalarBool() == true)
    }
  }

  /// Finding 1, inside one intent: another column's backfill updates rows the copy of `order`
  /// has not reached, and met the NOT VALID NOT NULL check on `order`'s shadow column.
  @Test(.enabled(if: TestServer.shouldRun))
  func anotherChangesBackfillPassesTheNotNullCheckOfTheFirst() throws {
    try withTestDatabase { db in
      try db.connection.executeScript(
        """
        CREATE TABLE "user" (id bigint PRIMARY KEY, "order" int NOT NULL, nick text);
        INSERT INTO "user" SELECT g, g, CASE WHEN g % 2 = 0 THEN 'n' || g END FROM generate_series(1, 500) g;
        """)
      let lp = try planIntent(
        "20270101_user_order",
        """
        schema: public
        settings:
          backfill_batch_size: 50
        changes:
          - backfill:
              table: user
              set: {nick: "'user ' || id"}
              where: "nick IS NULL"
          - alter_column:
              table: user
              column: order
              type: bigint
              down: '"order"::integer'
              nullable: false
        """)
      let executor = backfillExecutor(db)
      try executor.apply(phase: .expand, intents: nil, plans: [lp])
      try executor.apply(phase: .backfill, intents: nil, plans: [lp])
      #expect(
        try db.connection.execute(
          #"SELECT count(*) FROM "user" WHERE nick IS NULL OR "_pgphase_new_order" IS DISTINCT FROM "order"::bigint"#
        ).scalarInt() == 0)
    }
  }

  /// Finding 4: rename_table with other changes to the same table in one intent. The backfill
  /// walked the compatibility view (0 rows in 0 batches) and failed its postcondition; `verify`
  /// reported drift. Now every change acts on the renamed table, the old name shows the old app
  /// exactly its columns, and nothing is left behind.
  @Test(.enabled(if: TestServer.shouldRun))
  func renameTableWithOtherChangesActsOnTheTable() throws {
    try withTestDatabase { db in
      try db.connection.executeScript(
        """
        CREATE TABLE orders (id bigint PRIMARY KEY, amount int NOT NULL, note text);
        INSERT INTO orders SELECT g, g, 'n' || g FROM generate_series(1, 400) g;
        """)
      let lp = try planIntent(
        "20270101_rename_orders",
        """
        schema: public
        settings:
          backfill_batch_size: 50
        changes:
          - add_column:
              table: orders
              column: {name: doubled, type: int, nullable: false}
              backfill: "amount * 2"
          - rename_column: {table: orders, from: note, to: remark, type: text}
          - create_index: {table: orders, name: purchases_doubled_idx, columns: [doubled]}
          - rename_table: {from: orders, to: purchases}
        """)
      let executor = backfillExecutor(db)
      try executor.apply(phase: .expand, intents: nil, plans: [lp])
      #expect(
        try db.connection.execute(
          "SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'orders'::regclass AND attnum > 0"
        ).scalar == "id,amount,note")
      try db.connection.execute("INSERT INTO orders (id, amount, note) VALUES (1000, 7, 'old app')")
      try executor.apply(phase: .backfill, intents: nil, plans: [lp])
      // The first batched step walks the table. Its UPDATEs fire the other change's sync trigger
      // (only its own is bypassed), which brings each row's copy in step: the second step then
      // finds nothing left to do.
      let batched = lp.plan.steps(in: .backfill).filter { $0.backfill != nil }
      #expect(
        batched.map { $0.backfill?.table } == [
          QualifiedName(schema: "public", "purchases"), QualifiedName(schema: "public", "purchases"),
        ])
      let walk = try BackfillJournal.read(lp.plan.intent, try #require(batched.first).id, on: db.connection)
      #expect(walk.rowsDone == 400, "\(walk.rowsDone) rows updated")
      #expect(walk.batches >= 8, "\(walk.batches) batches")
      #expect(
        try db.connection.execute(
          "SELECT count(*) FROM purchases WHERE doubled IS DISTINCT FROM amount * 2 OR remark IS DISTINCT FROM note"
        ).scalarInt() == 0)
      var report = try Verifier.verify(on: db.connection)
      #expect(report.isClean, "\(report.render())")
      try executor.apply(phase: .contract, intents: nil, plans: [lp])
      report = try Verifier.verify(on: db.connection)
      #expect(report.isClean, "\(report.render())")
      #expect(try db.connection.execute("SELECT to_regclass('public.orders') IS NULL").scalarBool() == true)
      #expect(
        try db.connection.execute(
          "SELECT string_agg(attname, ',' ORDER BY attname) FROM pg_attribute WHERE attrelid = 'purchases'::regclass AND attnum > 0 AND NOT attisdropped"
        ).scalar == "amount,doubled,id,remark")
      #expect(
        try db.connection.execute(
          "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'purchases'::regclass AND NOT tgisinternal"
        ).scalarInt() == 0)
      #expect(try db.connection.execute("SELECT count(*) FROM pg_proc WHERE proname LIKE 'pgphase%'").scalarInt() == 0)
    }
  }
}
