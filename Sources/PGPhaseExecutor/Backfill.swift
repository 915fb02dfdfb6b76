import Foundation
import PGPhaseModel
package import PGPhasePostgres

extension StepRunner {
  // MARK: - Backfills

  /// Runs a backfill in short batches, each its own transaction that updates the pending rows of
  /// one key range and writes the checkpoint.
  ///
  /// Batches walk the primary key (or a unique NOT NULL index), read from the catalog now, up to
  /// the largest key seen at the first run: rows inserted later are the triggers' or defaults'
  /// job, so the scan ends under concurrent inserts. Tables with neither walk ctid ranges up to
  /// the table's size at the start. All key comparisons happen in SQL with the index's collation.
  /// A rerun resumes after the checkpoint; `pending` keeps every batch idempotent anyway.
  /// - Returns: rows updated by this run.
  func runBackfill(_ spec: BackfillSpec, step: Step, of lp: LoadedPlan) throws -> Int {
    var run = try BackfillRun(spec: spec, step: step, plan: lp, options: options.backfill, connection: c)
    let progress = makeProgress(label: "\(lp.plan.intent) \(step.id)")
    let batchLog = try BatchLog(path: options.backfill.batchLogPath)
    try c.execute("SELECT set_config('lock_timeout', $1, false)", [lp.plan.lockTimeout])
    // A batch and its checkpoint commit together, so losing the last commits in a server crash
    // only moves the checkpoint back with the data: no need to wait for the WAL flush.
    try c.execute("SET synchronous_commit = off")
    // Skip the plan's own fill or sync trigger for this session's batches: each batch sets the
    // column itself, and the trigger's PL/pgSQL call per row would cost more than the update.
    if let trigger = spec.bypassTrigger {
      try c.execute("SELECT set_config('pgphase.bypass_trigger', $1, false)", [trigger])
    }
    defer {
      _ = try? c.execute("RESET lock_timeout")
      _ = try? c.execute("RESET synchronous_commit")
      if spec.bypassTrigger != nil { _ = try? c.execute("RESET pgphase.bypass_trigger") }
    }
    if run.resumed { self.log("\(lp.plan.intent) \(step.id): resuming from checkpoint \(run.checkpoint.summary)") }
    var updated = 0
    let label = "\(lp.plan.intent) \(step.id)"
    var detail = ""
    while !run.finished {
      try checkInterrupted()
      // Replicas first: a batch is WAL that a lagging standby would have to replay too.
      try pace(label) { reason in
        progress.update(done: run.scanned, total: run.estimated, unit: run.unit, detail: reason ?? detail)
      }
      var outcome: BatchOutcome?
      // A batch is one short transaction, so a serialization failure is as safe to retry as a
      // lock timeout or deadlock.
      let retryable = { (e: PostgresError) in RetryPolicy.isRetryable(e) || e.isSerializationFailure }
      try withLockRetries(step, of: lp, label: "batch ", retryable: retryable) { outcome = try run.runBatch() }
      guard let outcome else { break }
      updated += outcome.updated
      batchLog.write(outcome)
      let rate = Double(run.scannedThisRun) / max(0.001, progress.elapsed)
      detail = "\(Int(rate)) \(run.unit)/s, batch \(outcome.size) in \(Int((outcome.seconds * 1000).rounded()))ms"
      if let total = run.estimated, rate > 0 {
        detail += ", ETA \(formatSeconds(max(0, Double(total - run.scanned)) / rate))"
      }
      progress.update(done: run.scanned, total: run.estimated, unit: run.unit, detail: detail)
      if !run.finished, options.backfill.batchPause > 0 { Thread.sleep(forTimeInterval: options.backfill.batchPause) }
    }
    progress.finish(
      "\(updated) rows updated, \(run.scannedThisRun) \(run.unit) scanned in \(run.batchesThisRun) batches, \(formatSeconds(progress.elapsed))"
    )
    return updated
  }
}

/// How backfills size and pace their batches.
public struct BackfillOptions: Sendable, Equatable {
  /// Seconds one batch should take; the batch size adapts to it. Short batches hold row locks
  /// briefly, so app writes to the same rows wait at most about this long.
  public var batchTarget: Double
  /// Seconds to sleep between batches (gives replicas and autovacuum room).
  public var batchPause: Double
  /// Rows a batch never exceeds, whatever the timing says.
  public var maxBatchSize: Int
  /// When set, one line per batch (tab-separated: rows scanned, rows updated, milliseconds, size)
  /// is appended to this file, for benchmarks.
  public var batchLogPath: String?

  /// The defaults of `apply` and `advance`: 100 ms batches, no pause, at most 200,000 rows.
  public init(batchTarget: Double = 0.1, batchPause: Double = 0, maxBatchSize: Int = 200_000, batchLogPath: String? = nil) {
    self.batchTarget = batchTarget
    self.batchPause = batchPause
    self.maxBatchSize = maxBatchSize
    self.batchLogPath = batchLogPath
  }
}

/// The resume point of a backfill, stored as JSON in `pgphase.steps.checkpoint`.
///
/// Keyset mode: `columns` of the key walked, `last` the key of the last row done (nil before the
/// first batch) and `max` the largest key at the start, as PostgreSQL's text output (read back
/// with a cast to the column's type, so comparisons stay in SQL). Ctid mode: next block to do and
/// the table's block count at the start.
struct BackfillCheckpoint: Codable, Equatable {
  var mode: String
  var columns: [String]?
  var last: [String]?
  var max: [String]?
  var nextBlock: Int64?
  var endBlock: Int64?

  enum CodingKeys: String, CodingKey {
    case mode, columns, last, max
    case nextBlock = "next_block"
    case endBlock = "end_block"
  }

  var json: String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return String(decoding: (try? encoder.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
  }

  var summary: String {
    if mode == "ctid" { return "block \(nextBlock ?? 0) of \(endBlock ?? 0)" }
    let keys = (columns ?? []).joined(separator: ", ")
    return "(\(keys)) > (\((last ?? []).joined(separator: ", "))) up to (\((max ?? []).joined(separator: ", ")))"
  }
}

/// One key column: its name, type (for casting the checkpoint's text) and the index's collation.
struct BackfillKeyColumn: Equatable {
  var name: String
  var type: String
  /// Quoted collation name, nil for non-collatable columns.
  var collation: String?

  /// The column as compared and sorted: with the index's collation, so the index serves it.
  var expression: String {
    SQL.quoteIdentifier(name) + (collation.map { " COLLATE \($0)" } ?? "")
  }
}

/// What one batch did.
struct BatchOutcome {
  /// Rows (keyset) or blocks (ctid) covered.
  var size: Int64
  var updated: Int
  var seconds: Double
}

/// The state of one backfill run: key, checkpoint, batch size.
struct BackfillRun {
  let spec: BackfillSpec
  let step: Step
  let plan: LoadedPlan
  let options: BackfillOptions
  let c: Connection
  let key: [BackfillKeyColumn]?
  var checkpoint: BackfillCheckpoint
  var resumed = false
  var finished = false
  /// Rows (keyset) or blocks (ctid) per batch.
  var size: Int64
  /// Sizes the batches from their timings.
  var sizer: BatchSizer
  var scanned: Int64 = 0
  var scannedThisRun: Int64 = 0
  var batchesThisRun = 0
  var estimated: Int64?
  var rowsPerBlock: Double = 50

  var unit: String { key == nil ? "pages" : "rows" }

  init(spec: BackfillSpec, step: Step, plan: LoadedPlan, options: BackfillOptions, connection c: Connection) throws {
    self.spec = spec
    self.step = step
    self.plan = plan
    self.options = options
    self.c = c
    let table = spec.table.sql
    key = try BackfillRun.walkKey(of: table, on: c)
    let stored = try c.execute(
      "SELECT checkpoint::text AS checkpoint, rows_scanned FROM pgphase.steps WHERE intent = $1 AND step_id = $2",
      [plan.plan.intent, step.id])
    let previous = stored.first?["checkpoint"].flatMap { try? JSONDecoder().decode(BackfillCheckpoint.self, from: Data($0.utf8)) }
    let stats = try c.execute(
      """
      SELECT reltuples::float8 AS tuples, relpages::int8 AS pages,
             pg_relation_size(oid) / current_setting('block_size')::int8 AS blocks,
             relkind = 'p' OR relhassubclass AS has_children
      FROM pg_class WHERE oid = $1::regclass
      """, [table])
    if key == nil, try stats.first?.bool("has_children") == true {
      // ctid ranges are per physical table: the parent's block range says nothing of its children.
      throw StepRefusal.backfillNeedsKey(table: table)
    }
    let tuples = try stats.first?.double("tuples") ?? -1
    let pages = Int64(try stats.first?.int("pages") ?? 0)
    let blocks = Int64(try stats.first?.int("blocks") ?? 0)
    if tuples > 0, pages > 0 { rowsPerBlock = max(1, tuples / Double(pages)) }
    let initial = Int64(max(1, plan.plan.backfillBatchSize ?? 1000))
    if let key {
      size = min(initial, Int64(options.maxBatchSize))
      let columns = key.map(\.name)
      // A walk that reached its end and still left the step failing (rows made pending again
      // behind it) starts over with a fresh range; an unfinished one resumes.
      if let previous, previous.mode == "key", previous.columns == columns, previous.max != nil, previous.last != previous.max {
        checkpoint = previous
        resumed = previous.last != nil
        scanned = Int64(try stored.first?.int("rows_scanned") ?? 0)
      } else {
        let order = key.map { "\($0.expression) DESC" }.joined(separator: ", ")
        // Aliased: ORDER BY a bare name would pick the text output column over the key itself.
        let select = key.enumerated().map { i, k in "\(SQL.quoteIdentifier(k.name))::text AS max_\(i)" }.joined(separator: ", ")
        let top = try c.execute("SELECT \(select) FROM \(table) ORDER BY \(order) LIMIT 1")
        let max = top.values.first.map { $0.map { $0 ?? "" } }
        checkpoint = BackfillCheckpoint(mode: "key", columns: columns, last: nil, max: max)
        if max == nil { finished = true }
      }
      if let max = checkpoint.max, !finished {
        if tuples >= 0 {
          estimated = Int64(tuples)
        } else {
          let bound = "(\(key.map(\.expression).joined(separator: ", "))) <= (\(BackfillRun.params(key, from: 1)))"
          estimated = Int64(try c.execute("SELECT count(*) FROM \(table) WHERE \(bound)", max).scalarInt() ?? 0)
        }
        estimated = Swift.max(estimated ?? 0, scanned)
      }
    } else {
      size = Swift.max(1, Int64((Double(initial) / rowsPerBlock).rounded(.up)))
      if let previous, previous.mode == "ctid", let end = previous.endBlock, (previous.nextBlock ?? 0) < end {
        checkpoint = previous
        resumed = (previous.nextBlock ?? 0) > 0
        scanned = previous.nextBlock ?? 0
      } else {
        checkpoint = BackfillCheckpoint(mode: "ctid", nextBlock: 0, endBlock: blocks)
      }
      estimated = checkpoint.endBlock
      if (checkpoint.nextBlock ?? 0) >= (checkpoint.endBlock ?? 0) { finished = true }
    }
    let limit = key == nil ? Double(options.maxBatchSize) / rowsPerBlock : Double(options.maxBatchSize)
    sizer = BatchSizer(target: options.batchTarget, limit: limit)
  }

  /// `$from::type, $from+1::type, ...` for the key's columns.
  static func params(_ key: [BackfillKeyColumn], from first: Int) -> String {
    key.enumerated().map { i, k in "$\(first + i)::\(k.type)" }.joined(separator: ", ")
  }

  /// The primary key, else the narrowest valid, immediate, non-partial unique index on plain NOT
  /// NULL columns whose NOT NULL is validated; nil when there is neither (the caller walks ctid ranges).
  static func walkKey(of table: String, on c: Connection) throws -> [BackfillKeyColumn]? {
    let result = try c.execute(
      """
      WITH candidates AS (
        SELECT i.indexrelid, i.indisprimary, i.indnkeyatts
        FROM pg_index i
        WHERE i.indrelid = $1::regclass AND i.indisunique AND i.indisvalid AND i.indimmediate
          AND i.indpred IS NULL AND i.indexprs IS NULL
          AND (SELECT am.amname FROM pg_class ic JOIN pg_am am ON am.oid = ic.relam WHERE ic.oid = i.indexrelid) = 'btree'
          AND NOT EXISTS (
            SELECT 1 FROM generate_series(0, i.indnkeyatts - 1) s(n)
            JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[s.n]
            WHERE NOT a.attnotnull
              -- PostgreSQL 18: a NOT NULL added NOT VALID sets attnotnull, but old rows may be NULL,
              -- and a keyset walk never visits a NULL key.
              OR EXISTS (SELECT 1 FROM pg_constraint n
                         WHERE n.conrelid = a.attrelid AND n.contype = 'n' AND n.conkey = ARRAY[a.attnum]
                           AND NOT n.convalidated))
        ORDER BY i.indisprimary DESC, i.indnkeyatts, i.indexrelid
        LIMIT 1
      )
      SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type,
             CASE WHEN coll.oid IS NOT NULL THEN quote_ident(cn.nspname) || '.' || quote_ident(coll.collname) END AS collation
      FROM candidates k
      JOIN pg_index i ON i.indexrelid = k.indexrelid
      CROSS JOIN LATERAL generate_series(0, k.indnkeyatts - 1) s(n)
      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[s.n]
      LEFT JOIN pg_collation coll ON coll.oid = i.indcollation[s.n] AND i.indcollation[s.n] <> 0
      LEFT JOIN pg_namespace cn ON cn.oid = coll.collnamespace
      ORDER BY s.n
      """, [table])
    guard !result.isEmpty else { return nil }
    return result.rows.map { BackfillKeyColumn(name: $0["attname"] ?? "", type: $0["type"] ?? "", collation: $0["collation"]) }
  }

  /// The assignments of the spec, as SET items.
  var assignments: String {
    spec.assignments.map { "\(SQL.quoteIdentifier($0.column)) = (\($0.expression))" }.joined(separator: ", ")
  }

  /// Runs one batch: the UPDATE of pending rows in the next range and the checkpoint, in one
  /// transaction. Returns nil when nothing is left.
  mutating func runBatch() throws -> BatchOutcome? {
    guard !finished else { return nil }
    if let key {
      return try runKeysetBatch(key)
    }
    return try runCtidBatch()
  }

  private mutating func runKeysetBatch(_ key: [BackfillKeyColumn]) throws -> BatchOutcome? {
    let table = spec.table.sql
    let columns = "(\(key.map(\.expression).joined(separator: ", ")))"
    // (last, upper]: the checkpoint's key, when there is one, then the range's end; only the end's
    // parameters change between the bound query, the last batch's count and the UPDATE.
    let lowerParameters = checkpoint.last ?? []
    let above = checkpoint.last.map { _ in "\(columns) > (\(BackfillRun.params(key, from: 1)))" }
    let upTo = "\(columns) <= (\(BackfillRun.params(key, from: lowerParameters.count + 1)))"
    let filter = [above, upTo].compactMap { $0 }.joined(separator: " AND ")
    // The batch ends at the size-th key after the checkpoint: an index-only walk that skips the
    // keys before it. The key is read in its output form, which casts back to the same value.
    // The WHERE clause names only the lower end, and whether the key found is within the walk's
    // end is an output: with both ends and no statistics (a table never analyzed) the planner
    // guesses a few thousand rows for any range and reads and sorts every key left to the end on
    // every batch, quadratic in the table (bench/backfill); open above, an index walk stopped
    // after `size` keys is its cheap plan.
    let names = key.map { SQL.quoteIdentifier($0.name) }.joined(separator: ", ")
    let order = key.map(\.expression).joined(separator: ", ")
    let max = checkpoint.max ?? []
    let bound = try c.execute(
      "SELECT \(names), \(upTo) AS within FROM \(table) WHERE \(above ?? "true") ORDER BY \(order) OFFSET \(size - 1) LIMIT 1",
      lowerParameters + max)
    let upper: [String]
    let count: Int64
    if let row = bound.values.first, try bound.first?.bool("within") == true {
      upper = row.dropLast().map { $0 ?? "" }
      count = size
    } else {
      // Fewer than `size` keys are left up to the walk's end: the last batch runs to it.
      count = Int64(try c.execute("SELECT count(*) FROM \(table) WHERE \(filter)", lowerParameters + max).scalarInt() ?? 0)
      guard count > 0 else {
        finished = true
        return nil
      }
      upper = max
    }
    var next = checkpoint
    next.last = upper
    let done = try commitBatch(
      update: "UPDATE \(table) SET \(assignments) WHERE \(filter) AND (\(spec.pending))", lowerParameters + upper,
      checkpoint: next, units: count)
    checkpoint = next
    scanned += count
    scannedThisRun += count
    batchesThisRun += 1
    if count < size { finished = true }
    adapt(units: count, seconds: done.seconds)
    return BatchOutcome(size: count, updated: done.updated, seconds: done.seconds)
  }

  private mutating func runCtidBatch() throws -> BatchOutcome? {
    let table = spec.table.sql
    let from = checkpoint.nextBlock ?? 0
    let end = checkpoint.endBlock ?? 0
    guard from < end else {
      finished = true
      return nil
    }
    let to = min(end, from + size)
    var next = checkpoint
    next.nextBlock = to
    let done = try commitBatch(
      update: "UPDATE \(table) SET \(assignments) WHERE ctid >= $1::tid AND ctid < $2::tid AND (\(spec.pending))",
      ["(\(from),0)", "(\(to),0)"], checkpoint: next, units: to - from)
    checkpoint = next
    scanned += to - from
    scannedThisRun += to - from
    batchesThisRun += 1
    if to >= end { finished = true }
    adapt(units: to - from, seconds: done.seconds)
    return BatchOutcome(size: to - from, updated: done.updated, seconds: done.seconds)
  }

  /// Runs one batch's UPDATE and writes its checkpoint and counters in the same transaction.
  ///
  /// Two statements in BEGIN/COMMIT rather than one with a data-modifying CTE: a CTE's RETURNING
  /// materialises every updated row, which cost about 9% of the whole backfill (bench/backfill).
  /// - Returns: rows updated and the transaction's duration, BEGIN to COMMIT.
  private func commitBatch(update sql: String, _ parameters: [String?], checkpoint next: BackfillCheckpoint, units: Int64)
    throws -> (updated: Int, seconds: Double)
  {
    // Rows scanned: keys in keyset mode, blocks times the average rows per block in ctid mode.
    let rows = key == nil ? Int64(Double(units) * rowsPerBlock) : units
    let total = key == nil ? checkpoint.endBlock.map { Int64(Double($0) * rowsPerBlock) } : estimated
    let start = Date()
    let updated = try c.transaction { c in
      let updated = try c.execute(sql, parameters).affectedRows ?? 0
      let journal = try c.execute(
        """
        UPDATE pgphase.steps SET checkpoint = $1::jsonb, rows_done = rows_done + $2::int8,
          rows_scanned = rows_scanned + $3::int8, batches = batches + 1, rows_estimated = $4::int8
        WHERE intent = $5 AND step_id = $6
        """, [next.json, String(updated), String(rows), total.map { String($0) }, plan.plan.intent, step.id])
      guard journal.affectedRows == 1 else {
        throw StepRefusal.journalRowMissing(intent: plan.plan.intent, step: step.id)
      }
      return updated
    }
    return (updated, Date().timeIntervalSince(start))
  }

  /// Sizes the next batch after one of `units` took `seconds` (see `BatchSizer`).
  private mutating func adapt(units: Int64, seconds: Double) {
    size = sizer.next(after: units, took: seconds, size: size)
  }
}

/// Sizes backfill batches so each takes about `target` seconds: from the cost per unit (row or
/// block) of the batches so far, smoothed (a slower batch counts at once, a faster one only in
/// part), growing at most 1.5x (or by one unit) per batch, never above `limit` units nor below one.
package struct BatchSizer: Equatable, Sendable {
  /// Seconds a batch should take.
  package var target: Double
  /// Units a batch never exceeds.
  package var limit: Double
  /// Seconds per unit, smoothed; nil before the first batch.
  package private(set) var costPerUnit: Double?

  package init(target: Double, limit: Double) {
    self.target = target
    self.limit = limit
  }

  /// The size of the next batch after one of `units` took `seconds` at `size`.
  package mutating func next(after units: Int64, took seconds: Double, size: Int64) -> Int64 {
    guard units > 0 else { return size }
    let observed = seconds / Double(units)
    let cost = costPerUnit.map { observed > $0 ? observed : 0.7 * $0 + 0.3 * observed } ?? observed
    costPerUnit = cost
    let ideal = target / max(cost, 1e-9)
    // At least one more unit: 1.5 times one row, rounded down, would keep a one-row batch (after
    // one stalled batch) at one row for good.
    let grown = min(ideal, max(Double(size) * 1.5, Double(size + 1)), limit)
    return max(1, Int64(grown.rounded(.down)))
  }
}

/// Appends one line per batch to a file (`--batch-log`), for the benchmarks.
final class BatchLog {
  private let handle: FileHandle?

  init(path: String?) throws {
    guard let path else {
      handle = nil
      return
    }
    if !FileManager.default.fileExists(atPath: path) {
      guard FileManager.default.createFile(atPath: path, contents: nil) else {
        throw ExecutorError.cannotWrite(path: path)
      }
    }
    guard let h = FileHandle(forWritingAtPath: path) else { throw ExecutorError.cannotWrite(path: path) }
    h.seekToEndOfFile()
    handle = h
  }

  deinit { try? handle?.close() }

  func write(_ outcome: BatchOutcome) {
    guard let handle else { return }
    let line = "\(outcome.size)\t\(outcome.updated)\t\(String(format: "%.3f", outcome.seconds * 1000))\n"
    handle.write(Data(line.utf8))
  }
}

extension Journal {
  /// Version 2: backfill checkpoints, written in the same transaction as each batch. Undoing a
  /// step clears its checkpoint (the undo may drop what the batches wrote, so a later run must
  /// start over).
  static let backfillMigration = """
    ALTER TABLE pgphase.steps
      ADD COLUMN checkpoint jsonb,
      ADD COLUMN rows_done bigint NOT NULL DEFAULT 0,
      ADD COLUMN rows_scanned bigint NOT NULL DEFAULT 0,
      ADD COLUMN rows_estimated bigint,
      ADD COLUMN batches int NOT NULL DEFAULT 0;
    CREATE FUNCTION pgphase.clear_checkpoint_on_undo() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      NEW.checkpoint := NULL;
      NEW.rows_done := 0;
      NEW.rows_scanned := 0;
      NEW.batches := 0;
      RETURN NEW;
    END
    $$;
    CREATE TRIGGER clear_checkpoint_on_undo BEFORE UPDATE ON pgphase.steps
      FOR EACH ROW WHEN (NEW.state = 'undone' AND OLD.state IS DISTINCT FROM 'undone')
      EXECUTE FUNCTION pgphase.clear_checkpoint_on_undo();
    """
}

/// Backfill progress of one step as the journal records it.
package struct BackfillProgress: Sendable, Equatable {
  package var rowsDone: Int64
  package var rowsScanned: Int64
  package var rowsEstimated: Int64?
  package var batches: Int
  /// The checkpoint JSON, nil before the first batch.
  package var checkpoint: String?

  /// Progress of every backfill step of `intent` that ran at least one batch, keyed by step id.
  package static func read(intent: String, on c: Connection) throws -> [String: BackfillProgress] {
    let result = try c.execute(
      """
      SELECT step_id, rows_done, rows_scanned, rows_estimated, batches, checkpoint::text AS checkpoint
      FROM pgphase.steps WHERE intent = $1 AND (batches > 0 OR checkpoint IS NOT NULL)
      """, [intent])
    var out: [String: BackfillProgress] = [:]
    for row in result.rows {
      out[row["step_id"] ?? ""] = BackfillProgress(
        rowsDone: Int64(try row.int("rows_done") ?? 0), rowsScanned: Int64(try row.int("rows_scanned") ?? 0),
        rowsEstimated: try row.int("rows_estimated").map { Int64($0) }, batches: try row.int("batches") ?? 0,
        checkpoint: row["checkpoint"])
    }
    return out
  }
}
