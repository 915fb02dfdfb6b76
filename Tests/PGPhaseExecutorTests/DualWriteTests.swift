import Foundation
import PGPhaseExecutor
import PGPhaseModel
import PGPhasePostgres
import PGPhaseTestSupport
import Testing

/// What the concurrent writers did: the value each row must end with, per writer (each writer
/// owns the ids congruent to its number, so the last write to a row is known).
final class WriterLedger: @unchecked Sendable {
  // Safety: guarded by `lock`.
  private let lock = NSLock()
  private var finalValues: [Int: Int] = [:]
  private var counts: [String: Int] = [:]

  func record(_ values: [Int: Int], _ counts: [String: Int]) {
    lock.lock()
    finalValues.merge(values) { _, new in new }
    self.counts.merge(counts, uniquingKeysWith: +)
    lock.unlock()
  }

  var values: [Int: Int] {
    lock.lock()
    defer { lock.unlock() }
    return finalValues
  }

  var operations: [String: Int] {
    lock.lock()
    defer { lock.unlock() }
    return counts
  }
}

/// A flag the test sets to stop the writers.
final class StopFlag: @unchecked Sendable {
  // Safety: guarded by `lock`.
  private let lock = NSLock()
  private var stopped = false
  func stop() {
    lock.lock()
    stopped = true
    lock.unlock()
  }
  var isStopped: Bool {
    lock.lock()
    defer { lock.unlock() }
    return stopped
  }
}

@Suite("Dual-write", .serialized)
struct DualWriteTests {
  /// `alter_column` with a content change (integer cents to numeric(12,2) units): while the
  /// batched backfill runs, four writers insert and update through the old column and through
  /// the new one. Afterwards every row has new = up(old) and old = down(new), and the whole table
  /// equals what the writers' last writes say (no row missed, none converted twice).
  @Test(.enabled(if: TestServer.shouldRun))
  func alterColumnStaysInSyncUnderConcurrentWrites() throws {
    let initial = 20_000
    try withTestDatabase { db in
      try db.connection.executeScript(
        """
        CREATE TABLE orders (id bigint PRIMARY KEY, amount int NOT NULL DEFAULT 0, note text);
        INSERT INTO orders SELECT g, (g * 7919) % 1000000, 'n' || g FROM generate_series(1, \(initial)) g;
        ANALYZE orders;
        """)
      let lp = try planIntent(
        "20260101_amount_units",
        """
        schema: public
        settings:
          backfill_batch_size: 100
        changes:
          - alter_column:
              table: orders
              column: amount
              type: numeric(12,2)
              up: "amount::numeric / 100"
              down: "(amount * 100)::integer"
              nullable: false
              default: "0"
        """)
      let shadow = "_pgphase_new_amount"
      let executor = backfillExecutor(db, target: 0.002)
      try executor.apply(phase: .expand, intents: nil, plans: [lp])
      #expect(
        try db.connection.execute(
          "SELECT count(*) FROM pg_attribute WHERE attrelid = 'orders'::regclass AND attname = $1", [shadow]
        )
        .scalarInt() == 1)

      let writers = 4
      let ledger = WriterLedger()
      let stop = StopFlag()
      let started = DispatchSemaphore(value: 0)
      var work: [BackgroundWork<Void>] = []
      for w in 0..<writers {
        let c = UnsafeTransfer(try db.connect(applicationName: "writer-\(w)"))
        work.append(
          BackgroundWork {
            let conn = c.value
            defer { conn.close() }
            var mine: [Int: Int] = [:]
            var counts: [String: Int] = [:]
            var nextID = 1_000_000 + w
            var generator = SystemRandomNumberGenerator()
            var i = 0
            started.signal()
            while !stop.isStopped || i < 200 {
              i += 1
              let cents = Int.random(in: 0..<5_000_000, using: &generator)
              // Rows of this writer: ids ≡ w (mod writers), old ones and the ones it inserted.
              let target = Int.random(in: 0..<(initial / writers), using: &generator) * writers + w + 1
              switch Int.random(in: 0..<4, using: &generator) {
              case 0:
                try conn.execute("INSERT INTO orders (id, amount) VALUES ($1::bigint, $2::int)", [String(nextID), String(cents)])
                mine[nextID] = cents
                nextID += writers
                counts["insert old", default: 0] += 1
              case 1:
                try conn.execute(
                  "INSERT INTO orders (id, \(shadow)) VALUES ($1::bigint, $2::numeric / 100)", [String(nextID), String(cents)])
                mine[nextID] = cents
                nextID += writers
                counts["insert new", default: 0] += 1
              case 2:
                try conn.execute("UPDATE orders SET amount = $2::int WHERE id = $1::bigint", [String(target), String(cents)])
                mine[target] = cents
                counts["update old", default: 0] += 1
              default:
                try conn.execute(
                  "UPDATE orders SET \(shadow) = $2::numeric / 100 WHERE id = $1::bigint", [String(target), String(cents)])
                mine[target] = cents
                counts["update new", default: 0] += 1
              }
            }
            ledger.record(mine, counts)
          })
      }
      for _ in 0..<writers { started.wait() }
      let output = Lines()
      let runner = UnsafeTransfer(backfillExecutor(db, target: 0.002, output: output))
      let backfill = BackgroundWork { try runner.value.apply(phase: .backfill, intents: nil, plans: [lp]) }
      var backfillError: (any Error)?
      do { try backfill.wait(timeout: 120) } catch { backfillError = error }
      stop.stop()
      for w in work { try w.wait(timeout: 60) }
      if let backfillError { throw backfillError }

      let step = try backfillStepID(lp)
      let journal = try BackfillJournal.read(lp.plan.intent, step, on: db.connection)
      #expect(journal.state == "done")
      #expect(journal.batches > 10, "the backfill must overlap the writes over many batches: \(journal.batches)")
      let ops = ledger.operations
      for kind in ["insert old", "insert new", "update old", "update new"] {
        #expect((ops[kind] ?? 0) > 0, "no \(kind) happened: \(ops)")
      }

      // Every row: new = up(old) and old = down(new).
      #expect(
        try db.connection.execute(
          "SELECT count(*) FROM orders WHERE \(shadow) IS DISTINCT FROM (amount::numeric / 100)::numeric(12,2) OR amount IS DISTINCT FROM (\(shadow) * 100)::integer"
        ).scalarInt() == 0)

      // The whole table against the writers' ledger: initial values, overridden by last writes.
      try db.connection.execute("CREATE TEMP TABLE expected (id bigint PRIMARY KEY, amount int NOT NULL)")
      try db.connection.execute(
        "INSERT INTO expected SELECT g, (g * 7919) % 1000000 FROM generate_series(1, \(initial)) g")
      let overrides = ledger.values.sorted { $0.key < $1.key }
      for chunk in stride(from: 0, to: overrides.count, by: 1000) {
        let slice = overrides[chunk..<min(overrides.count, chunk + 1000)]
        try db.connection.execute(
          """
          INSERT INTO expected SELECT * FROM unnest($1::bigint[], $2::int[])
          ON CONFLICT (id) DO UPDATE SET amount = excluded.amount
          """,
          [
            "{" + slice.map { String($0.key) }.joined(separator: ",") + "}",
            "{" + slice.map { String($0.value) }.joined(separator: ",") + "}",
          ])
      }
      let actual = try checksum(db.connection, "SELECT id, amount, \(shadow) FROM orders ORDER BY id")
      let wanted = try checksum(
        db.connection, "SELECT id, amount, (amount::numeric / 100)::numeric(12,2) FROM expected ORDER BY id")
      #expect(actual == wanted)
      #expect(
        try db.connection.execute("SELECT count(*) FROM orders").scalarInt()
          == initial + ops["insert old", default: 0] + ops["insert new", default: 0])

      // Contract swaps the new column in; the data stays the writers'.
      try executor.apply(phase: .contract, intents: nil, plans: [lp])
      #expect(
        try checksum(db.connection, "SELECT id, amount FROM orders ORDER BY id")
          == checksum(db.connection, "SELECT id, (amount::numeric / 100)::numeric(12,2) FROM expected ORDER BY id"))
      #expect(
        try db.connection.execute("SELECT count(*) FROM pg_trigger WHERE tgrelid = 'orders'::regclass AND NOT tgisinternal")
          .scalarInt() == 0)
    }
  }

  /// `rename_column`: writes through either name during the backfill end up in both.
  @Test(.enabled(if: TestServer.shouldRun))
  func renameColumnStaysInSyncUnderConcurrentWrites() throws {
    let initial = 10_000
    try withTestDatabase { db in
      try db.connection.executeScript(
        """
        CREATE TABLE people (id bigint PRIMARY KEY, mail text);
        INSERT INTO people SELECT g, 'u' || g || '@x' FROM generate_series(1, \(initial)) g;
        """)
      let lp = try planIntent(
        "20260101_rename_mail",
        """
        schema: public
        settings:
          backfill_batch_size: 100
        changes:
          - rename_column:
              table: people
              from: mail
              to: email
              type: text
        """)
      let executor = backfillExecutor(db, target: 0.002)
      try executor.apply(phase: .expand, intents: nil, plans: [lp])
      let stop = StopFlag()
      let ledger = WriterLedger()
      var work: [BackgroundWork<Void>] = []
      for w in 0..<3 {
        let c = UnsafeTransfer(try db.connect())
        work.append(
          BackgroundWork {
            let conn = c.value
            defer { conn.close() }
            var mine: [Int: Int] = [:]
            var i = 0
            while !stop.isStopped || i < 100 {
              i += 1
              let id = Int.random(in: 0..<(initial / 3)) * 3 + w + 1
              let value = Int.random(in: 0..<1_000_000)
              let column = i % 2 == 0 ? "mail" : "email"
              try conn.execute(
                "UPDATE people SET \(column) = 'v' || $2::text WHERE id = $1::bigint", [String(id), String(value)])
              mine[id] = value
            }
            ledger.record(mine, ["updates": i])
          })
      }
      let runner = UnsafeTransfer(backfillExecutor(db, target: 0.002))
      var backfillError: (any Error)?
      do {
        try BackgroundWork { try runner.value.apply(phase: .backfill, intents: nil, plans: [lp]) }.wait(timeout: 120)
      } catch { backfillError = error }
      stop.stop()
      for w in work { try w.wait(timeout: 60) }
      if let backfillError { throw backfillError }
      #expect(try db.connection.execute("SELECT count(*) FROM people WHERE mail IS DISTINCT FROM email").scalarInt() == 0)
      try db.connection.execute(
        "CREATE TEMP TABLE expected AS SELECT g AS id, 'u' || g || '@x' AS mail FROM generate_series(1, \(initial)) g")
      for (id, value) in ledger.values {
        try db.connection.execute(
          "UPDATE expected SET mail = 'v' || $2::text WHERE id = $1::bigint", [String(id), String(value)])
      }
      #expect(
        try checksum(db.connection, "SELECT id, mail, email FROM people ORDER BY id")
          == checksum(db.connection, "SELECT id, mail, mail FROM expected ORDER BY id"))
    }
  }
}

@Suite("Trigger bypass", .serialized)
struct TriggerBypassTests {
  /// The sync trigger of 20261122 is skipped only in a session whose `pgphase.bypass_trigger`
  /// names it (the backfill's), and fires for everyone else; the backfill itself never calls it
  /// (counted by pg_stat_user_functions), and leaves every row in sync.
  @Test(.enabled(if: TestServer.shouldRun))
  func backfillSkipsItsOwnTriggerAndNobodyElseDoes() throws {
    try withTestDatabase { db in
      let id = "20261122_incident_impact_bigint"
      try db.connection.runSQLFile(schemaFile)
      try db.connection.execute(
        "INSERT INTO incidents (title, status, created_at, impact) SELECT 'bulk ' || g, 'open', now(), g FROM generate_series(1, 5000) g"
      )
      try db.connection.executeAlone("ALTER DATABASE \(db.name) SET track_functions = 'pl'")
      // This intent alone on the base schema, not after the intents before it, which its plan
      // assumes (the drift guard would refuse): what is tested is the trigger, so without `assumes`.
      let plans = try LoadedPlan.loadAll(from: plansDir).filter { $0.plan.intent == id }.map { loaded in
        var plan = loaded.plan
        plan.assumes = nil
        return try LoadedPlan(plan)
      }
      let lp = try #require(plans.first)
      let spec = try #require(lp.plan.steps(in: .backfill).compactMap(\.backfill).first)
      let trigger = try #require(spec.bypassTrigger)
      let executor = makeExecutor(db)
      try executor.apply(phase: .expand, intents: nil, plans: plans)

      let other = try db.connect()
      try other.execute("UPDATE incidents SET impact = 7 WHERE title = 'bulk 1'")
      #expect(try other.execute("SELECT _pgphase_new_impact FROM incidents WHERE title = 'bulk 1'").scalar == "7")
      let bypassing = try db.connect()
      try bypassing.execute("SELECT set_config('pgphase.bypass_trigger', $1, false)", [trigger])
      // Fired, the trigger would set the new column to up(8) = 8, since impact changed.
      try bypassing.execute("UPDATE incidents SET impact = 8, _pgphase_new_impact = 1000 WHERE title = 'bulk 2'")
      #expect(try bypassing.execute("SELECT _pgphase_new_impact FROM incidents WHERE title = 'bulk 2'").scalar == "1000")
      try bypassing.execute("UPDATE incidents SET _pgphase_new_impact = 8 WHERE title = 'bulk 2'")
      try bypassing.execute("SELECT set_config('pgphase.bypass_trigger', 'some_other_trigger', false)")
      try bypassing.execute("UPDATE incidents SET impact = 9 WHERE title = 'bulk 3'")
      #expect(try bypassing.execute("SELECT _pgphase_new_impact FROM incidents WHERE title = 'bulk 3'").scalar == "9")
      bypassing.close()
      other.close()

      func calls() throws -> Int {
        try db.connection.execute("SELECT pg_stat_clear_snapshot()")
        return try db.connection.execute(
          "SELECT coalesce(sum(calls), 0)::int FROM pg_stat_user_functions WHERE funcname = $1", [trigger]
        ).scalarInt() ?? -1
      }
      // The two other sessions' updates were counted when they ended.
      try db.connection.waitUntil(
        "SELECT coalesce(sum(calls), 0) >= 2 FROM pg_stat_user_functions WHERE funcname = $1", [trigger], timeout: 15)
      let before = try calls()
      // The executor's connections end with the call, which flushes their function counts.
      try executor.apply(phase: .backfill, intents: nil, plans: plans)
      Thread.sleep(forTimeInterval: 0.5)
      #expect(try calls() == before, "the backfill called its own trigger")
      #expect(
        try db.connection.execute("SELECT count(*) FROM incidents WHERE _pgphase_new_impact IS DISTINCT FROM impact::bigint")
          .scalarInt() == 0)
    }
  }
}
