import Foundation
import PGPhaseModel
import PGPhasePostgres
import PGPhaseTestSupport

/// What one plan step did on a real server.
struct Measurement: Equatable, Sendable {
  /// The strongest lock the step's session held or waited for, per relation that existed before
  /// the step (tables, views, and indexes the step declares), by name as `regclass` printed it.
  var locks: [String: LockMode]
  /// What the step declares on those same relations (a declared relation that did not exist
  /// before, such as the table a step creates, is left out), by name.
  var declared: [String: LockMode]
  /// Read rows of a table that existed before (`seq_tup_read`, `idx_tup_fetch`).
  var scanned: Bool
  /// Read rows while its session held a lock that blocks writes (SHARE or stronger).
  var scannedBlockingWrites: Bool
  /// Tables and indexes that got a new `relfilenode` (rewritten), by name.
  var rewritten: [String]
  /// Tables linked by a foreign key to a relation the step declares (either direction).
  var foreignKeyNeighbours: Set<String> = []
  /// The tables of the indexes the step declares, by name.
  var indexTables: Set<String> = []
  /// Locks taken on an index once it was no longer live (`indislive` false, as DROP INDEX
  /// CONCURRENTLY leaves it before its final ACCESS EXCLUSIVE): no query can open it then, so they
  /// block nobody. Only where stronger than the lock taken while it was live; not in `summary`,
  /// because they are seen only when a sample falls in that moment.
  var deadIndexLocks: [String: LockMode] = [:]
  /// Whether a table the step works on had rows: on an empty table no scan can be seen, so the
  /// cost class is not measurable.
  var hadRows = true
  /// For a step declared non-transactional without a batched backfill: whether the server
  /// refused it inside a transaction block (SQLSTATE 25001), which is why it must run alone.
  var refusedInTransaction: Bool?

  /// The cost class these facts prove.
  var cost: CostClass {
    if !rewritten.isEmpty { return .rewrite }
    if scannedBlockingWrites { return .scanBlocksWrites }
    if scanned { return .scanNoWriteBlock }
    return .catalogOnly
  }

  /// `items: ACCESS EXCLUSIVE; no scan; no rewrite`, as docs/locks.md shows it.
  var summary: String {
    let locked =
      locks.isEmpty
      ? "no lock"
      : locks.keys.sorted().map {
        "\($0): \(locks[$0]!.rawValue)" + (foreignKeyNeighbours.contains($0) && declared[$0] == nil ? " (foreign key)" : "")
      }.joined(separator: ", ")
    let scan = scannedBlockingWrites ? "scan blocking writes" : scanned ? "scan" : "no scan"
    let rewrite = rewritten.isEmpty ? "no rewrite" : "rewrite"
    return "\(locked); \(scan); \(rewrite)"
  }
}

/// Runs plan steps one at a time on a test database and measures each (see `Measurement`).
///
/// A transactional step runs in one transaction, as the executor runs it; after each statement
/// its own session reads the locks it holds (`pg_locks`, held to commit) and what it has read
/// so far (`pg_stat_xact_user_tables`). A statement that cannot run in a transaction block
/// (CONCURRENTLY) is watched from a second session: a third holds an open write transaction on
/// the tables involved, as an app would, so the statement waits for it (every concurrent build
/// and drop waits for older writers) after taking its locks, and is seen holding them; then the
/// writer commits and the watcher keeps sampling until the statement is done. A statement that is
/// never seen waiting is reported, not guessed. Table reads of such a statement come from the
/// shared statistics, flushed on purpose before and after (`pg_stat_force_next_flush`).
/// Rewrites are `relfilenode` changes. Batched backfills run as one statement in one transaction
/// (the executor's batches are the same UPDATE on fewer rows).
final class StepMeasurer {
  let database: TestDatabase
  let stepper: Connection
  let watcher: Connection
  let writer: Connection
  let blocker: Connection

  init(_ database: TestDatabase) throws {
    self.database = database
    stepper = try database.connect(applicationName: "pgphase-locktruth-step")
    watcher = try database.connect(applicationName: "pgphase-locktruth-watch")
    writer = try database.connect(applicationName: "pgphase-locktruth-writer")
    blocker = try database.connect(applicationName: "pgphase-locktruth-blocker")
  }

  func close() {
    stepper.close()
    watcher.close()
    writer.close()
    blocker.close()
  }

  struct Relation {
    var oid: Int
    var name: String
    var kind: String
    var fileNode: Int
    /// For an index: its table's oid.
    var table: Int?
  }

  struct Failure: Error, CustomStringConvertible {
    var description: String
  }

  /// The user relations there are now, by oid.
  func relations(on c: Connection) throws -> [Int: Relation] {
    let rows = try c.execute(
      """
      SELECT c.oid::int8 AS oid, c.oid::regclass::text AS name, c.relkind::text AS kind, c.relfilenode::int8 AS node,
             i.indrelid::int8 AS tbl
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_index i ON i.indexrelid = c.oid
      WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pgphase') AND n.nspname NOT LIKE 'pg_toast%'
        AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'i', 'I')
      """
    ).rows
    var out: [Int: Relation] = [:]
    for row in rows {
      let oid = try row.int("oid") ?? 0
      out[oid] = Relation(
        oid: oid, name: row["name"] ?? "?", kind: row["kind"] ?? "?", fileNode: try row.int("node") ?? 0,
        table: try row.int("tbl"))
    }
    return out
  }

  /// Relation locks (held or awaited) of backend `pid`: oid to the strongest mode.
  func locks(of pid: Int32, on c: Connection) throws -> [Int: LockMode] {
    let rows = try c.execute(
      "SELECT relation::int8 AS oid, mode FROM pg_locks WHERE locktype = 'relation' AND pid = $1::int AND relation IS NOT NULL",
      [String(pid)]
    ).rows
    var out: [Int: LockMode] = [:]
    for row in rows {
      guard let oid = try row.int("oid"), let mode = LockMode.allCases.first(where: { $0.pgLocksName == row["mode"] })
      else { continue }
      out[oid] = max(out[oid] ?? mode, mode)
    }
    return out
  }

  /// Rows read per table: this transaction's counts so far (own session only).
  func transactionReads() throws -> [Int: Int] {
    try reads("SELECT relid::int8 AS oid, seq_tup_read + coalesce(idx_tup_fetch, 0) AS n FROM pg_stat_xact_user_tables")
  }

  /// Rows read per table from the shared statistics, after making `stepper` flush its own.
  func sharedReads() throws -> [Int: Int] {
    _ = try stepper.execute("SELECT pg_stat_force_next_flush()")
    _ = try watcher.execute("SELECT pg_stat_clear_snapshot()")
    return try reads(
      "SELECT relid::int8 AS oid, coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) AS n FROM pg_stat_user_tables",
      on: watcher)
  }

  private func reads(_ query: String, on c: Connection? = nil) throws -> [Int: Int] {
    var out: [Int: Int] = [:]
    for row in try (c ?? stepper).execute(query).rows {
      if let oid = try row.int("oid") { out[oid] = try row.int("n") ?? 0 }
    }
    return out
  }

  /// Runs `step` and measures it. Throws when a statement fails (the corpus must apply).
  func run(_ step: Step) throws -> Measurement {
    let before = try relations(on: stepper)
    var declared: [String: LockMode] = [:]
    var declaredOIDs = Set<Int>()
    for lock in step.locks {
      guard let oid = try stepper.execute("SELECT to_regclass($1)::oid::int8", [lock.relation.sql]).scalarInt(),
        let relation = before[oid]
      else { continue }
      declaredOIDs.insert(oid)
      declared[relation.name] = max(declared[relation.name] ?? lock.mode, lock.mode)
    }
    // The tables the step works on, and the tables their foreign keys link them to.
    let worked = Set(declaredOIDs.compactMap { before[$0].map { $0.table ?? $0.oid } })
    var neighbours = Set<String>()
    var hadRows = worked.isEmpty
    for oid in worked {
      let linked = try stepper.execute(
        """
        SELECT DISTINCT (CASE WHEN conrelid = $1::oid THEN confrelid ELSE conrelid END)::regclass::text
        FROM pg_constraint WHERE contype = 'f' AND (conrelid = $1::oid OR confrelid = $1::oid)
        """, [String(oid)])
      neighbours.formUnion(linked.values.compactMap { $0[0] })
      if try stepper.execute("SELECT EXISTS (SELECT 1 FROM \(before[oid]!.name))").scalarBool() == true { hadRows = true }
    }
    // Locks are reported on the relations that existed before; of indexes, only declared ones.
    func reported(_ oid: Int) -> Bool {
      guard let relation = before[oid] else { return false }
      return !relation.kind.hasPrefix("i") && relation.kind != "I" || declaredOIDs.contains(oid)
    }
    var locks: [Int: LockMode] = [:]
    var deadIndexLocks: [Int: LockMode] = [:]
    var scanned = false
    var scannedBlockingWrites = false
    var refusedInTransaction: Bool?
    let batch = step.backfill != nil
    if step.transactional || batch {
      try stepper.execute("BEGIN")
      do {
        var read = try transactionReads()
        for sql in step.sql {
          try stepper.execute(sql)
          for (oid, mode) in try self.locks(of: stepper.backendPID, on: stepper) where reported(oid) {
            locks[oid] = max(locks[oid] ?? mode, mode)
          }
          let now = try transactionReads()
          let readHere = now.contains { oid, n in before[oid] != nil && n > (read[oid] ?? 0) }
          read = now
          if readHere {
            scanned = true
            if locks.values.contains(where: \.blocksWrites) { scannedBlockingWrites = true }
          }
        }
        try stepper.execute("COMMIT")
      } catch {
        _ = try? stepper.execute("ROLLBACK")
        throw error
      }
    } else {
      guard step.sql.count == 1 else { throw Failure(description: "\(step.id): a non-transactional step has one statement") }
      let sql = step.sql[0]
      try stepper.execute("BEGIN")
      do {
        try stepper.execute(sql)
        refusedInTransaction = false
        try stepper.execute("ROLLBACK")
      } catch {
        refusedInTransaction = error.sqlState == "25001"
        _ = try? stepper.execute("ROLLBACK")
      }
      let readBefore = try sharedReads()
      // Open transactions the statement must wait for, each released when it is seen waiting for
      // it (pg_blocking_pids), so that every lock it asks for is seen held or awaited: one holding
      // SHARE UPDATE EXCLUSIVE on every table involved, which a statement that locks a table that
      // strongly waits for at once; and an app's writer (ROW EXCLUSIVE), which every concurrent
      // build and drop waits for after taking its locks.
      var tables = Set(declaredOIDs.compactMap { before[$0].map { $0.table ?? $0.oid } })
      if tables.isEmpty { tables = Set(before.values.filter { $0.kind == "r" }.map(\.oid)) }
      var holders: [Int32: Connection] = [:]
      for (holder, mode) in [(writer, "ROW EXCLUSIVE"), (blocker, "SHARE UPDATE EXCLUSIVE")] {
        try holder.execute("BEGIN")
        for oid in tables.sorted() { try holder.execute("LOCK TABLE \(before[oid]!.name) IN \(mode) MODE") }
        holders[holder.backendPID] = holder
      }
      let pid = stepper.backendPID
      let statement = UnsafeTransfer(stepper)
      let work = BackgroundWork { try statement.value.executeAlone(sql) }
      var waits = 0
      let deadline = Date().addingTimeInterval(60)
      // A lock on an index that is no longer live blocks nobody (no query can open it) and is kept
      // apart: DROP INDEX CONCURRENTLY ends with ACCESS EXCLUSIVE on the index it marked dead, for a
      // moment nothing waits on, so it is seen only sometimes.
      func sample() throws {
        for (oid, mode) in try self.locks(of: pid, on: watcher) where reported(oid) {
          if before[oid]?.table != nil,
            try watcher.execute("SELECT NOT indislive FROM pg_index WHERE indexrelid = $1::oid", [String(oid)])
              .scalarBool() ?? true
          {
            deadIndexLocks[oid] = max(deadIndexLocks[oid] ?? mode, mode)
          } else {
            locks[oid] = max(locks[oid] ?? mode, mode)
          }
        }
      }
      while !work.isFinished {
        try sample()
        let blocking = try watcher.execute("SELECT unnest(pg_blocking_pids($1::int))", [String(pid)]).values.compactMap {
          $0[0].flatMap { Int32($0) }
        }
        let ours = blocking.compactMap { holders[$0] }
        if !ours.isEmpty {
          // Waiting: everything taken so far is held, or asked for, now. Read it, then let ours go.
          try sample()
          waits += 1
          for holder in ours {
            try holder.execute("COMMIT")
            holders[holder.backendPID] = nil
          }
        }
        if Date() > deadline {
          for holder in holders.values { _ = try? holder.execute("ROLLBACK") }
          throw Failure(description: "\(step.id) did not finish within 60 s")
        }
        Thread.sleep(forTimeInterval: 0.001)
      }
      for holder in holders.values { _ = try? holder.execute("ROLLBACK") }
      _ = try work.wait()
      guard waits > 0 else {
        throw Failure(
          description:
            "\(step.id) never waited for an open transaction on its tables, so its locks could not be seen held (only sampled); measure it another way"
        )
      }
      let readAfter = try sharedReads()
      scanned = readAfter.contains { oid, n in before[oid] != nil && n > (readBefore[oid] ?? 0) }
      scannedBlockingWrites = scanned && locks.values.contains(where: \.blocksWrites)
    }
    let after = try relations(on: stepper)
    let rewritten = before.values.filter { old in after[old.oid].map { $0.fileNode != old.fileNode } ?? false }
      .map(\.name).sorted()
    var named: [String: LockMode] = [:]
    for (oid, mode) in locks { named[before[oid]!.name] = mode }
    var dead: [String: LockMode] = [:]
    for (oid, mode) in deadIndexLocks where mode > (locks[oid] ?? .accessShare) { dead[before[oid]!.name] = mode }
    return Measurement(
      locks: named, declared: declared, scanned: scanned, scannedBlockingWrites: scannedBlockingWrites, rewritten: rewritten,
      foreignKeyNeighbours: neighbours.subtracting(declared.keys),
      indexTables: Set(declaredOIDs.compactMap { before[$0]?.table }.compactMap { before[$0]?.name }),
      deadIndexLocks: dead, hadRows: hadRows, refusedInTransaction: refusedInTransaction)
  }
}

extension Error {
  var sqlState: String? { (self as? PostgresError)?.sqlState }
}
