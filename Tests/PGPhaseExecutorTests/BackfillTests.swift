import Foundation
import PGPhaseExecutor
import PGPhaseIntents
import PGPhaseModel
import PGPhasePlanner
import PGPhasePostgres
import PGPhaseTestSupport
import Testing

/// Plans one intent (YAML, id `intent`) in-process, as `pgphase plan` would, failing on diagnostics.
func planIntent(_ intent: String, _ yaml: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> LoadedPlan
{
  let (intents, d1) = IntentLoader.load([IntentSource(path: "intents/\(intent).yaml", text: yaml)])
  let (plans, d2) = Planner.plan(intents)
  #expect((d1 + d2).isEmpty, "\((d1 + d2).map(\.description))", sourceLocation: sourceLocation)
  return try LoadedPlan(try #require(plans.first, sourceLocation: sourceLocation))
}

/// The journal's backfill columns for one step.
struct BackfillJournal {
  var state: String
  var rowsDone: Int
  var rowsScanned: Int
  var batches: Int
  var checkpoint: [String: Any]

  static func read(_ intent: String, _ step: String, on c: Connection) throws -> BackfillJournal {
    let row = try #require(
      try c.execute(
        "SELECT state, rows_done, rows_scanned, batches, coalesce(checkpoint::text, '{}') AS cp FROM pgphase.steps WHERE intent = $1 AND step_id = $2",
        [intent, step]
      ).first)
    let checkpoint = try JSONSerialization.jsonObject(with: Data((row["cp"] ?? "{}").utf8)) as? [String: Any] ?? [:]
    return BackfillJournal(
      state: row["state"] ?? "", rowsDone: try row.int("rows_done") ?? -1, rowsScanned: try row.int("rows_scanned") ?? -1,
      batches: try row.int("batches") ?? -1, checkpoint: checkpoint)
  }
}

/// `t (id int PRIMARY KEY, amount int NOT NULL)` with `rows` rows, analyzed: the table of
/// `widenAmountPlan`.
func widenAmountSetup(rows: Int) -> String {
  """
  CREATE TABLE t (id int PRIMARY KEY, amount int NOT NULL);
  INSERT INTO t SELECT g, (g * 7919) % 100000 FROM generate_series(1, \(rows)) g;
  ANALYZE t;
  """
}

/// `t.amount` int -> bigint, the new value three times the old (so a copy that skipped the
/// expression shows): expand adds `_pgphase_new_amount` and its sync trigger, backfill fills it.
func widenAmountPlan() throws -> LoadedPlan {
  try planIntent(
    "20260101_widen",
    """
    schema: public
    settings:
      backfill_batch_size: 200
    changes:
      - alter_column:
          table: t
          column: amount
          type: bigint
          up: "amount::bigint * 3"
          down: "(amount / 3)::integer"
          nullable: false
    """)
}

/// The id of the plan's (only) batched backfill step.
func backfillStepID(_ lp: LoadedPlan) throws -> String {
  try #require(lp.plan.steps(in: .backfill).first { $0.backfill != nil }).id
}

/// An executor whose batches aim at `target` seconds (tiny: many batches on small tables).
func backfillExecutor(_ db: TestDatabase, target: Double = 0.0005, output: Lines = Lines(), log: Lines = Lines()) -> Executor {
  var options = ExecutorOptions()
  options.backfill = BackfillOptions(batchTarget: target)
  return makeExecutor(db, options: options, output: output, log: log)
}

/// md5 of a query's rows in order: a full-table checksum.
func checksum(_ c: Connection, _ query: String) throws -> String {
  try #require(try c.execute("SELECT md5(coalesce(string_agg(q::text, '|'), '')) FROM (\(query)) q").scalar)
}

@Suite("Backfill", .serialized)
struct BackfillTests {
  static let copyIntent = """
    schema: public
    settings:
      backfill_batch_size: 10
    changes:
      - backfill:
          table: t
          set:
            b: "upper(a)"
    """

  /// Keyset batches on a primary key: every row updated once, many batches, the checkpoint
  /// stops at the largest key, and rows_done/rows_scanned add up.
  @Test(.enabled(if: TestServer.shouldRun))
  func keysetBatchesOnPrimaryKey() throws {
    try withTestDatabase { db in
      try db.connection.executeScript(
        """
        CREATE TABLE t (id int PRIMARY KEY, a text, b text);
        INSERT INTO t SELECT g, 'v' || g, NULL FROM generate_series(1, 3000) g;
        """)
      let lp = try planIntent("20260101_copy", Self.copyIntent)
      let step = try backfillStepID(lp)
      let output = Lines()
      let log = Lines()
      var options = ExecutorOptions(progressInterval: 0)
      options.backfill = BackfillOptions(batchTarget: 0.0005)
      let executor = makeExecutor(db, options: options, output: output, log: log)
      for phase in Phase.allCases where phase != .contract {
        try executor.apply(phase: phase, intents: nil, plans: [lp])
      }
      #expect(try db.connection.execute("SELECT count(*) FROM t WHERE b IS DISTINCT FROM upper(a)").scalarInt() == 0)
      let journal = try BackfillJournal.read(lp.plan.intent, step, on: db.connection)
      #expect(journal.state == "done")
      #expect(journal.rowsDone == 3000)
      #expect(journal.rowsScanned == 3000)
      #expect(journal.batches > 5, "batches: \(journal.batches)")
      #expect(journal.checkpoint["mode"] as? String == "key")
      #expect(journal.checkpoint["columns"] as? [String] == ["id"])
      #expect(journal.checkpoint["last"] as? [String] == ["3000"])
      #expect(journal.checkpoint["max"] as? [String] == ["3000"])
      #expect(output.all.contains { $0.contains(step) && $0.contains("(3000 rows)") }, "\(output.all)")
      // Progress lines: rows done/estimated, rate and ETA, then a summary.
      #expect(
        log.all.contains { $0.contains(step) && $0.contains("/3000 rows") && $0.contains("rows/s") && $0.contains("ETA") },
        "\(log.all)")
      #expect(
        log.all.contains { $0.contains("3000 rows updated, 3000 rows scanned in \(journal.batches) batches") }, "\(log.all)")
    }
  }

  /// The walk reads each key of the index a bounded number of times, whatever the statistics say.
  /// On a table never analyzed (as a backfill often meets one right after a bulk load) the planner
  /// guessed a few thousand rows for any key range and found a batch's upper bound by reading and
  /// sorting every key left to the end of the range, on every batch: quadratic in the table's size
  /// (bench/backfill: 40 of 58 s on 2M rows). Counted in the index's `idx_tup_read`.
  @Test(.enabled(if: TestServer.shouldRun))
  func keyWalkIsLinearOnATableNeverAnalyzed() throws {
    let rows = 20_000
    try withTestDatabase { db in
      try db.connection.executeScript(
        """
        CREATE TABLE t (id int PRIMARY KEY, amount int NOT NULL);
        INSERT INTO t SELECT g, (g * 7919) % 100000 FROM generate_series(1, \(rows)) g;
        ALTER TABLE t SET (autovacuum_enabled = off);
        """)
      let lp = try widenAmountPlan()
      var options = ExecutorOptions(progressInterval: 0)
      // 200-row batches throughout: 100 batches over the table.
      options.backfill = BackfillOptions(batchTarget: 10, maxBatchSize: 200)
      try makeExecutor(db, options: options).apply(phase: .expand, intents: nil, plans: [lp])
      #expect(try db.connection.execute("SELECT reltuples FROM pg_class WHERE relname = 't'").scalarInt() == -1)
      let read = {
        // A backend's index counters reach the shared statistics when it exits: wait for the
        // executor's sessions to end, then read afresh.
        for _ in 0..<200 {
          let others = try db.connection.execute(
            """
            SELECT count(*) FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
            """
          ).scalarInt()
          if others == 0 { break }
          Thread.sleep(forTimeInterval: 0.05)
        }
        try db.connection.execute("SELECT pg_stat_clear_snapshot()")
        return try db.connection.execute("SELECT idx_tup_read FROM pg_stat_user_indexes WHERE indexrelname = 't_pkey'")
          .scalarInt() ?? -1
      }
      let before = try read()
      try makeExecutor(db, options: options).apply(phase: .backfill, intents: nil, plans: [lp])
      let keysRead = try read() - before
      #expect(
        try db.connection.execute("SELECT count(*) FROM t WHERE _pgphase_new_amount IS DISTINCT FROM amount * 3").scalarInt() == 0
      )
      let batches = try BackfillJournal.read(lp.plan.intent, try backfillStepID(lp), on: db.connection).batches
      #expect(batches >= 100, "batches: \(batches)")
      // The bounds walk each key once and the UPDATEs read each once more; the reads of the
      // range's end and of a row count add at most one more pass.
      #expect(keysRead > 0 && keysRead <= 4 * rows, "index entries read: \(keysRead) for \(rows) rows in \(batches) batches")
    }
  }

  /// Rows inserted after the backfill fixed its key range are not scanned: the run ends at the
  /// max key it saw, even when more rows keep arriving (triggers or defaults own those).
  @Test(.enabled(if: TestServer.shouldRun))
  func scanIsBoundedByTheMaxKeySeenAtStart() throws {
    try withTestDatabase { db in
      try db.connection.executeScript(
        """
        CREATE TABLE t (id int PRIMARY KEY, a text, b text);
        INSERT INTO t SELECT g, 'v' || g, NULL FROM generate_series(1, 2000) g;
        """)
      let lp = try planIntent("20260101_copy", Self.copyIntent)
      let step = try backfillStepID(lp)
      // Every batch adds rows above the max key (through a trigger on the journal's checkpoint
      // write); an unbounded walk would never end.
      try db.connection.executeScript(
        """
        CREATE FUNCTION grow() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.checkpoint IS DISTINCT FROM OLD.checkpoint THEN
            INSERT INTO public.t SELECT m + g, 'late', 'LATE' FROM (SELECT max(id) AS m FROM public.t) x, generate_series(1, 20) g;
          END IF;
          RETURN NEW;
        END $$;
        """)
      let executor = backfillExecutor(db, target: 0.01)
      try executor.apply(phase: .expand, intents: nil, plans: [lp])
      try db.connection.execute("CREATE TRIGGER grow BEFORE UPDATE ON pgphase.steps FOR EACH ROW EXECUTE FUNCTION grow()")
      try executor.apply(phase: .backfill, intents: nil, plans: [lp])
      let journal = try BackfillJournal.read(lp.plan.intent, step, on: db.connection)
      #expect(journal.checkpoint["max"] as? [String] == ["2000"])
      #expect(journal.rowsScanned == 2000)
      #expect(
        try db.connection.execute("SELECT count(*) FROM t WHERE id <= 2000 AND b IS DISTINCT FROM upper(a)").scalarInt() == 0)
      #expect(try db.connection.execute("SELECT count(*) FROM t WHERE id > 2000").scalarInt()! > 0)
    }
  }

  /// A walk that reached its max key but left the step failing (rows behind it made pending again,
  /// here by a trigger writing rows the backfill's `set` does not cover) is not "resumed" at its
  /// end on the rerun: the rerun walks a fresh range and fixes those rows.
  @Test(.enabled(if: TestServer.shouldRun))
  func rerunAfterACompletedWalkStartsOver() throws {
    try withTestDatabase { db in
      try db.connection.executeScript(
        """
        CREATE TABLE t (id int PRIMARY KEY, a text, b text);
        INSERT INTO t SELECT g, 'v' || g, NULL FROM generate_series(1, 1000) g;
        CREATE FUNCTION spoil() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.checkpoint IS DISTINCT FROM OLD.checkpoint THEN
            UPDATE public.t SET b = NULL WHERE id = 1;
          END IF;
          RETURN NEW;
        END $$;
        """)
      let lp = try planIntent("20260101_copy", Self.copyIntent)
      let step = try backfillStepID(lp)
      let executor = backfillExecutor(db, target: 0.01)
      try executor.apply(phase: .expand, intents: nil, plans: [lp])
      try db.connection.execute("CREATE TRIGGER spoil BEFORE UPDATE ON pgphase.steps FOR EACH ROW EXECUTE FUNCTION spoil()")
      let error = #expect(throws: ExecutorError.self) { try executor.apply(phase: .backfill, intents: nil, plans: [lp]) }
      // The check after the walk counts what is left: row 1, spoiled by every checkpoint write.
      let text = "\(try #require(error))"
      #expect(text.contains("postcondition violated after the step ran: 1 row of public.t still matches"), "\(text)")
      #expect(try BackfillJournal.read(lp.plan.intent, step, on: db.connection).state == "failed")
      try db.connection.execute("DROP TRIGGER spoil ON pgphase.steps")
      try executor.apply(phase: .backfill, intents: nil, plans: [lp])
      #expect(try db.connection.execute("SELECT count(*) FROM t WHERE b IS DISTINCT FROM upper(a)").scalarInt() == 0)
      let journal = try BackfillJournal.read(lp.plan.intent, step, on: db.connection)
      #expect(journal.state == "done")
      #expect(journal.rowsScanned == 2000)
    }
  }

  @Test(.enabled(if: TestServer.shouldRun))
  func emptyTable() throws {
    try withTestDatabase { db in
      try db.connection.execute("CREATE TABLE t (id int PRIMARY KEY, a text, b text)")
      let lp = try planIntent("20260101_copy", Self.copyIntent)
      let output = Lines()
      let executor = backfillExecutor(db, output: output)
      try executor.apply(phase: .expand, intents: nil, plans: [lp])
      try executor.apply(phase: .backfill, intents: nil, plans: [lp])
      let journal = try BackfillJournal.read(lp.plan.intent, try backfillStepID(lp), on: db.connection)
      #expect(journal.state == "done")
      #expect(journal.batches == 0)
      #expect(journal.rowsDone == 0)
    }
  }

  /// No primary key and no usable unique index (a nullable unique column does not count): ctid
  /// ranges, bounded by the table's size at the start.
  @Test(.enabled(if: TestServer.shouldRun))
  func tableWithoutPrimaryKeyWalksCtidRanges() throws {
    try withTestDatabase { db in
      try db.connection.executeScript(
        """
        CREATE TABLE t (u int UNIQUE, a text, b text);
        INSERT INTO t SELECT CASE WHEN g % 10 = 0 THEN NULL ELSE g END, 'v' || (g % 37), NULL FROM generate_series(1, 5000) g;
        ANALYZE t;
        """)
      let lp = try planIntent("20260101_copy", Self.copyIntent)
      let step = try backfillStepID(lp)
      let executor = backfillExecutor(db)
      try executor.apply(phase: .expand, intents: nil, plans: [lp])
      try executor.apply(phase: .backfill, intents: nil, plans: [lp])
      #expect(try db.connection.execute("SELECT count(*) FROM t WHERE b IS DISTINCT FROM upper(a)").scalarInt() == 0)
      #expect(try db.connection.execute("SELECT count(*) FROM t").scalarInt() == 5000)
      let journal = try BackfillJournal.read(lp.plan.intent, step, on: db.connection)
      #expect(journal.state == "done")
      #expect(journal.checkpoint["mode"] as? String == "ctid")
      #expect(journal.rowsDone == 5000)
      #expect(journal.batches > 1, "batches: \(journal.batches)")
      let end = try #require(journal.checkpoint["end_block"] as? Int)
      #expect(end > 1)
      #expect(journal.checkpoint["next_block"] as? Int == end)
    }
  }

  /// PostgreSQL 18: a NOT NULL added `NOT VALID` sets `attnotnull` while old rows are still NULL,
  /// which a backfill then fills (18's cheaper way to make a column NOT NULL). A unique index on
  /// that column is no keyset: a keyset walk never visits NULL keys, so exactly the rows to fill
  /// were skipped and the backfill ended with them still NULL. Now the walk takes ctid ranges.
  @Test(.enabled(if: TestServer.major >= 18, "NOT NULL ... NOT VALID is new in PostgreSQL 18"))
  func notValidNotNullColumnIsNoKeyset() throws {
    try withTestDatabase { db in
      try db.connection.executeScript(
        """
        CREATE TABLE t (u int UNIQUE, n int);
        INSERT INTO t SELECT CASE WHEN g % 10 = 0 THEN NULL ELSE g END, g FROM generate_series(1, 5000) g;
        ALTER TABLE t ADD CONSTRAINT t_u_nn NOT NULL u NOT VALID;
        ANALYZE t;
        """)
      let attnotnull = "SELECT attnotnull FROM pg_attribute WHERE attrelid = 't'::regclass AND attname = 'u'"
      #expect(try db.connection.execute(attnotnull).scalarBool() == true)
      let lp = try planIntent(
        "20260101_fill",
        """
        schema: public
        settings:
          backfill_batch_size: 100
        changes:
          - backfill: {table: t, set: {u: "coalesce(u, -n)"}, where: "u IS NULL"}
        """)
      let step = try backfillStepID(lp)
      let executor = backfillExecutor(db)
      try executor.apply(phase: .expand, intents: nil, plans: [lp])
      try executor.apply(phase: .backfill, intents: nil, plans: [lp])
      #expect(try db.connection.execute("SELECT count(*) FROM t WHERE u IS NULL").scalarInt() == 0)
      let journal = try BackfillJournal.read(lp.plan.intent, step, on: db.connection)
      #expect(journal.state == "done")
      #expect(journal.checkpoint["mode"] as? String == "ctid")
      #expect(journal.rowsDone == 500)
      try db.connection.execute("ALTER TABLE t VALIDATE CONSTRAINT t_u_nn")
    }
  }

  /// A partitioned table with a primary key walks it across partitions; without any key the step
  /// fails with a message saying why (ctid ranges cannot span partitions), not with a silent no-op.
  @Test(.enabled(if: TestServer.shouldRun))
  func partitionedTables() throws {
    try withTestDatabase { db in
      try db.connection.executeScript(
        """
        CREATE TABLE t (id int, a text, b text, PRIMARY KEY (id)) PARTITION BY RANGE (id);
        CREATE TABLE t1 PARTITION OF t FOR VALUES FROM (0) TO (500);
        CREATE TABLE t2 PARTITION OF t FOR VALUES FROM (500) TO (1000);
        INSERT INTO t SELECT g, 'v' || g, NULL FROM generate_series(0, 999) g;
        """)
      let lp = try planIntent("20260101_copy", Self.copyIntent)
      let executor = backfillExecutor(db)
      try executor.apply(phase: .expand, intents: nil, plans: [lp])
      try executor.apply(phase: .backfill, intents: nil, plans: [lp])
      #expect(try db.connection.execute("SELECT count(*) FROM t WHERE b IS DISTINCT FROM upper(a)").scalarInt() == 0)
      #expect(try BackfillJournal.read(lp.plan.intent, try backfillStepID(lp), on: db.connection).rowsDone == 1000)
    }
    try withTestDatabase { db in
      try db.connection.executeScript(
        """
        CREATE TABLE t (id int, a text, b text) PARTITION BY RANGE (id);
        CREATE TABLE t1 PARTITION OF t FOR VALUES FROM (0) TO (1000);
        INSERT INTO t SELECT g, 'v' || g, NULL FROM generate_series(0, 999) g;
        """)
      let lp = try planIntent("20260101_copy", Self.copyIntent)
      let executor = backfillExecutor(db)
      try executor.apply(phase: .expand, intents: nil, plans: [lp])
      do {
        try executor.apply(phase: .backfill, intents: nil, plans: [lp])
        Issue.record("the backfill of a key-less partitioned table did not fail")
      } catch let e as ExecutorError {
        #expect(e.description.contains("has partitions or child tables"), "\(e)")
      }
    }
  }

  /// Composite primary key with many rows per leading value: row comparison `(a, b) > (...)`
  /// must neither skip nor repeat rows at batch edges inside a run of equal leading values.
  @Test(.enabled(if: TestServer.shouldRun))
  func compositePrimaryKey() throws {
    try withTestDatabase { db in
      try db.connection.executeScript(
        """
        CREATE TABLE t (g int, n text, a text, b text, PRIMARY KEY (g, n));
        INSERT INTO t SELECT i % 7, 'n' || i, 'v' || i, NULL FROM generate_series(1, 2100) i;
        """)
      try db.connection.execute("CREATE TABLE hits (g int, n text)")
      let lp = try planIntent(
        "20260101_copy",
        """
        schema: public
        settings:
          backfill_batch_size: 13
        changes:
          - backfill:
              table: t
              set:
                b: "upper(a)"
        """)
      let step = try backfillStepID(lp)
      let executor = backfillExecutor(db)
      try executor.apply(phase: .expand, intents: nil, plans: [lp])
      // Count how many times each row is updated.
      try db.connection.executeScript(
        """
        CREATE FUNCTION hit() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN INSERT INTO hits VALUES (NEW.g, NEW.n); RETURN NEW; END $$;
        CREATE TRIGGER hit BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION hit();
        """)
      try executor.apply(phase: .backfill, intents: nil, plans: [lp])
      #expect(try db.connection.execute("SELECT count(*) FROM t WHERE b IS DISTINCT FROM upper(a)").scalarInt() == 0)
      #expect(try db.connection.execute("SELECT count(*) FROM hits").scalarInt() == 2100)
      #expect(try db.connection.execute("SELECT count(DISTINCT (g, n)) FROM hits").scalarInt() == 2100)
      let journal = try BackfillJournal.read(lp.plan.intent, step, on: db.connection)
      #expect(journal.checkpoint["columns"] as? [String] == ["g", "n"])
      let largest = try db.connection.execute("SELECT g::text, n FROM t ORDER BY g DESC, n DESC LIMIT 1").values.first
      #expect((journal.checkpoint["max"] as? [String]).map { $0.map { Optional($0) } } == largest)
      #expect(journal.batches > 10)
    }
  }

  /// NULLs in the source column of a type change: they stay NULL in the new column, count as
  /// done (the pending predicate uses IS DISTINCT FROM), and the run terminates.
  @Test(.enabled(if: TestServer.shouldRun))
  func nullsInTheSourceColumn() throws {
    try withTestDatabase { db in
      try db.connection.executeScript(
        """
        CREATE TABLE t (id int PRIMARY KEY, amount int);
        INSERT INTO t SELECT g, CASE WHEN g % 3 = 0 THEN NULL ELSE g * 10 END FROM generate_series(1, 1500) g;
        """)
      let lp = try planIntent(
        "20260101_widen",
        """
        schema: public
        settings:
          backfill_batch_size: 50
        changes:
          - alter_column:
              table: t
              column: amount
              type: bigint
              up: "amount::bigint"
              down: "amount::integer"
        """)
      let step = try backfillStepID(lp)
      let executor = backfillExecutor(db)
      try executor.apply(phase: .expand, intents: nil, plans: [lp])
      try executor.apply(phase: .backfill, intents: nil, plans: [lp])
      let journal = try BackfillJournal.read(lp.plan.intent, step, on: db.connection)
      #expect(journal.state == "done")
      #expect(journal.rowsDone == 1000)
      #expect(journal.rowsScanned == 1500)
      try executor.apply(phase: .contract, intents: nil, plans: [lp])
      #expect(try db.connection.execute("SELECT count(*) FROM t WHERE amount IS NULL").scalarInt() == 500)
      #expect(try db.connection.execute("SELECT count(*) FROM t WHERE amount = id * 10").scalarInt() == 1000)
      #expect(
        try db.connection.execute(
          "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 't'::regclass AND attname = 'amount'"
        ).scalar
          == "bigint")
    }
  }

  /// A text key whose unique index uses a linguistic collation while the column's own collation
  /// is "C": mixed case and accents sort differently in the two. The walk must follow the
  /// index's order in SQL, so tiny batches neither skip nor repeat a row.
  @Test(.enabled(if: TestServer.shouldRun))
  func textKeyWithCollationSensitiveOrdering() throws {
    try withTestDatabase { db in
      let icu =
        try db.connection.execute("SELECT EXISTS (SELECT 1 FROM pg_collation WHERE collname = 'en-x-icu')").scalarBool() ?? false
      let collation = icu ? "\"en-x-icu\"" : "\"POSIX\""
      try db.connection.executeScript(
        """
        CREATE TABLE t (k text COLLATE "C" NOT NULL, a text, b text);
        CREATE UNIQUE INDEX t_k ON t (k COLLATE \(collation));
        INSERT INTO t SELECT w || i, 'v' || i, NULL
        FROM generate_series(1, 60) i, unnest(ARRAY['apple', 'Apple', 'APPLE', 'banana', 'Banana', 'éclair', 'eclair', 'Zed', 'zed', '_x', '1a']) w;
        CREATE TABLE hits (k text);
        CREATE FUNCTION hit() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN INSERT INTO hits VALUES (NEW.k); RETURN NEW; END $$;
        """)
      if icu {
        // The two orders really differ (else the test proves nothing).
        let c = try db.connection.execute("SELECT string_agg(k, ',' ORDER BY k COLLATE \"C\") FROM t").scalar
        let l = try db.connection.execute("SELECT string_agg(k, ',' ORDER BY k COLLATE \"en-x-icu\") FROM t").scalar
        #expect(c != l)
      }
      let lp = try planIntent(
        "20260101_copy",
        """
        schema: public
        settings:
          backfill_batch_size: 3
        changes:
          - backfill:
              table: t
              set:
                b: "upper(a)"
        """)
      let step = try backfillStepID(lp)
      let executor = backfillExecutor(db)
      try executor.apply(phase: .expand, intents: nil, plans: [lp])
      try db.connection.execute("CREATE TRIGGER hit BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION hit()")
      try executor.apply(phase: .backfill, intents: nil, plans: [lp])
      #expect(try db.connection.execute("SELECT count(*) FROM t WHERE b IS DISTINCT FROM upper(a)").scalarInt() == 0)
      #expect(try db.connection.execute("SELECT count(*), count(DISTINCT k) FROM hits").values.first == ["660", "660"])
      let journal = try BackfillJournal.read(lp.plan.intent, step, on: db.connection)
      #expect(journal.checkpoint["columns"] as? [String] == ["k"])
      let largest = try db.connection.execute("SELECT k FROM t ORDER BY k COLLATE \(collation) DESC LIMIT 1").scalar
      #expect(journal.checkpoint["max"] as? [String] == [largest ?? ""])
      #expect(journal.rowsScanned == 660)
    }
  }

  /// A rerun after the backfill's rows were reset by an undo (rollback) starts over: undoing a
  /// step clears its checkpoint.
  @Test(.enabled(if: TestServer.shouldRun))
  func rollbackClearsTheCheckpoint() throws {
    try withTestDatabase { db in
      try db.connection.executeScript(
        """
        CREATE TABLE t (id int PRIMARY KEY, amount int NOT NULL);
        INSERT INTO t SELECT g, g FROM generate_series(1, 500) g;
        """)
      let lp = try planIntent(
        "20260101_widen",
        """
        schema: public
        changes:
          - alter_column:
              table: t
              column: amount
              type: bigint
              up: "amount::bigint"
              down: "amount::integer"
              nullable: false
        """)
      let step = try backfillStepID(lp)
      let executor = backfillExecutor(db)
      try executor.apply(phase: .expand, intents: nil, plans: [lp])
      try executor.apply(phase: .backfill, intents: nil, plans: [lp])
      try executor.rollback(intent: lp.plan.intent, plans: [lp])
      let undone = try BackfillJournal.read(lp.plan.intent, step, on: db.connection)
      #expect(undone.state == "undone")
      #expect(undone.checkpoint.isEmpty)
      try executor.apply(phase: .expand, intents: nil, plans: [lp])
      try executor.apply(phase: .backfill, intents: nil, plans: [lp])
      let again = try BackfillJournal.read(lp.plan.intent, step, on: db.connection)
      #expect(again.state == "done")
      #expect(again.rowsDone == 500)
    }
  }

  static let lockIntent = """
    schema: public
    settings:
      lock_timeout: 100ms
      backfill_batch_size: 50
    changes:
      - backfill:
          table: t
          set:
            b: "upper(a)"
    """

  /// A batch that waits for a row lock longer than lock_timeout fails with 55P03 and is retried;
  /// once the app's transaction ends, the backfill completes.
  @Test(.enabled(if: TestServer.shouldRun))
  func batchRetriesAfterLockTimeout() throws {
    try withTestDatabase { db in
      try db.connection.executeScript(
        """
        CREATE TABLE t (id int PRIMARY KEY, a text, b text);
        INSERT INTO t SELECT g, 'v' || g, NULL FROM generate_series(1, 300) g;
        """)
      let lp = try planIntent("20260101_copy", Self.lockIntent)
      let log = Lines()
      var options = ExecutorOptions(retry: RetryPolicy(baseDelay: 0.1, maxDelay: 0.3, maxRetries: 20, deadline: 30))
      options.backfill = BackfillOptions(batchTarget: 0.01)
      let executor = makeExecutor(db, options: options, log: log)
      try executor.apply(phase: .expand, intents: nil, plans: [lp])
      let app = try db.connect()
      defer { app.close() }
      try app.execute("BEGIN")
      try app.execute("SELECT * FROM t WHERE id = 120 FOR UPDATE")
      let holder = UnsafeTransfer(app)
      let release = BackgroundWork {
        Thread.sleep(forTimeInterval: 0.8)
        try holder.value.execute("COMMIT")
      }
      try executor.apply(phase: .backfill, intents: nil, plans: [lp])
      try release.wait()
      #expect(log.all.contains { $0.contains("SQLSTATE 55P03") && $0.contains("retry 1/20") }, "\(log.all)")
      #expect(try db.connection.execute("SELECT count(*) FROM t WHERE b IS DISTINCT FROM upper(a)").scalarInt() == 0)
      let journal = try BackfillJournal.read(lp.plan.intent, try backfillStepID(lp), on: db.connection)
      #expect(journal.state == "done")
      #expect(journal.rowsDone == 300)
    }
  }

  /// Retries are bounded: a lock never released fails the step with 55P03 in the journal, and
  /// the batches committed before stay (the checkpoint is before the locked row).
  @Test(.enabled(if: TestServer.shouldRun))
  func retriesAreBounded() throws {
    try withTestDatabase { db in
      try db.connection.executeScript(
        """
        CREATE TABLE t (id int PRIMARY KEY, a text, b text);
        INSERT INTO t SELECT g, 'v' || g, NULL FROM generate_series(1, 300) g;
        """)
      let lp = try planIntent("20260101_copy", Self.lockIntent)
      let log = Lines()
      var options = ExecutorOptions(retry: RetryPolicy(baseDelay: 0.02, maxDelay: 0.05, maxRetries: 2, deadline: 30))
      options.backfill = BackfillOptions(batchTarget: 0.01)
      let executor = makeExecutor(db, options: options, log: log)
      try executor.apply(phase: .expand, intents: nil, plans: [lp])
      let app = try db.connect()
      defer { app.close() }
      try app.execute("BEGIN")
      try app.execute("SELECT * FROM t WHERE id = 120 FOR UPDATE")
      #expect(throws: ExecutorError.self) { try executor.apply(phase: .backfill, intents: nil, plans: [lp]) }
      try app.execute("ROLLBACK")
      let step = try backfillStepID(lp)
      let journal = try BackfillJournal.read(lp.plan.intent, step, on: db.connection)
      #expect(journal.state == "failed")
      #expect(
        try db.connection.execute("SELECT error_sqlstate FROM pgphase.steps WHERE step_id = $1", [step]).scalar == "55P03")
      #expect(log.all.filter { $0.contains("SQLSTATE 55P03") && $0.contains("retry ") }.count == 2, "\(log.all)")
      let last = try #require((journal.checkpoint["last"] as? [String])?.first.flatMap { Int($0) })
      #expect(last < 120)
      #expect(try db.connection.execute("SELECT count(*) FROM t WHERE b IS NOT NULL").scalarInt() == last)
    }
  }

  /// SIGKILL a `pgphase apply --phase backfill` mid-way, rerun: the rerun starts after the
  /// checkpoint (the journal shows it scanned only the rest), and the data equals an
  /// uninterrupted run's.
  @Test(.enabled(if: TestServer.shouldRun))
  func resumesFromTheCheckpointAfterSIGKILL() throws {
    let rows = 200_000
    let setup = widenAmountSetup(rows: rows)
    let lp = try widenAmountPlan()
    let step = try backfillStepID(lp)
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pgphase-resume-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: dir) }
    try writePlans([lp], to: dir.appendingPathComponent("plans"))
    let plans = dir.appendingPathComponent("plans").path
    let dataQuery = "SELECT id, amount, _pgphase_new_amount FROM t ORDER BY id"

    // Uninterrupted run, for the reference checksum.
    let reference = try withTestDatabase { db in
      try db.connection.executeScript(setup)
      for phase in ["expand", "backfill"] {
        let r = try runPGPhase(["apply", "--phase", phase, "--dsn", db.conninfo, plans])
        #expect(r.status == 0, "\(r.stderr)")
      }
      return try checksum(db.connection, dataQuery)
    }

    try withTestDatabase { db in
      try db.connection.executeScript(setup)
      let expand = try runPGPhase(["apply", "--phase", "expand", "--dsn", db.conninfo, plans])
      #expect(expand.status == 0, "\(expand.stderr)")
      // Start the backfill with small batches, kill it once some batches are committed.
      let process = try startPGPhase(["apply", "--phase", "backfill", "--batch-target", "5ms", "--dsn", db.conninfo, plans])
      let watcher = try db.connect()
      defer { watcher.close() }
      do {
        try watcher.waitUntil(
          "SELECT coalesce((SELECT rows_scanned >= 20000 FROM pgphase.steps WHERE intent = $1 AND step_id = $2), false)",
          [lp.plan.intent, step], timeout: 60)
      } catch {
        process.terminate()
        throw error
      }
      kill(process.processIdentifier, SIGKILL)
      process.waitUntilExit()
      #expect(process.terminationReason == .uncaughtSignal)
      // The server finishes (and commits) a batch already sent; wait until the killed runner's
      // backend is gone before reading where it stopped.
      try watcher.waitUntil(
        "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'pgphase apply%')",
        timeout: 30)

      let killed = try BackfillJournal.read(lp.plan.intent, step, on: db.connection)
      #expect(killed.state == "running")
      #expect(killed.rowsScanned >= 20000)
      #expect(killed.rowsScanned < rows, "the kill came too late to prove anything")
      let last = try #require((killed.checkpoint["last"] as? [String])?.first.flatMap { Int($0) })
      // Batch and checkpoint commit together: exactly the rows up to the checkpoint are done.
      #expect(try db.connection.execute("SELECT count(*) FROM t WHERE _pgphase_new_amount IS NOT NULL").scalarInt() == last)
      #expect(killed.rowsScanned == last)
      #expect(killed.rowsDone == last)

      // status shows where the killed backfill stands.
      let status = try StatusReader.read(plans: [lp], on: db.connection)
      let shown = try #require(status.first?.active.first { $0.step == step }?.backfill)
      #expect(shown.rowsScanned == Int64(last))
      let shownCheckpoint = try JSONSerialization.jsonObject(with: Data((shown.checkpoint ?? "{}").utf8)) as? [String: Any]
      #expect(shownCheckpoint?["last"] as? [String] == [String(last)], "\(shown.checkpoint ?? "nil")")
      #expect(StatusReader.render(status).contains("backfill: \(last)/~\(rows) scanned"), "\(StatusReader.render(status))")

      let batchLog = dir.appendingPathComponent("batches.tsv").path
      let rerun = try runPGPhase(["apply", "--phase", "backfill", "--batch-log", batchLog, "--dsn", db.conninfo, plans])
      #expect(rerun.status == 0, "\(rerun.stderr)")
      #expect(rerun.stderr.contains("resuming from checkpoint"), "\(rerun.stderr)")
      let done = try BackfillJournal.read(lp.plan.intent, step, on: db.connection)
      #expect(done.state == "done")
      #expect(done.rowsScanned == rows)
      // What the rerun itself scanned, from its batch log: the rest only, not a restart's `rows`.
      let logged = try String(contentsOfFile: batchLog, encoding: .utf8).split(separator: "\n").map {
        Int($0.split(separator: "\t")[0]) ?? 0
      }
      #expect(logged.reduce(0, +) == rows - last)
      #expect(logged.reduce(0, +) < rows)
      #expect(try checksum(db.connection, dataQuery) == reference)
    }
  }
}
