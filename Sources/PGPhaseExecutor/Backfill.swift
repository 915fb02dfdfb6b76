import Foundation
import PGPhaseModel
import PGPhasePostgres

extension Executor {
  // MARK: - Backfills

  /// Batches of `UPDATE ... WHERE ctid = ANY(ARRAY(SELECT ctid ... WHERE pending LIMIT n))`, each
  /// its own transaction, until a batch touches no row. Resumable: `pending` selects only rows
  /// still needing the change.
  func runBackfill(_ spec: BackfillSpec, step: Step, of lp: LoadedPlan, on c: Connection) throws -> Int {
    let batch = max(1, lp.plan.backfillBatchSize ?? 1000)
    let table = spec.table.sql
    let assignments = spec.assignments.map { "\(SQL.quoteIdentifier($0.column)) = (\($0.expression))" }.joined(separator: ", ")
    let sql =
      "UPDATE \(table) SET \(assignments) WHERE ctid = ANY(ARRAY(SELECT ctid FROM \(table) WHERE \(spec.pending) LIMIT \(batch)))"
    var total = 0
    var batches = 0
    let start = Date()
    var lastReport = start
    while true {
      var affected = 0
      try withLockRetries(step, of: lp, on: c) {
        try inTransaction(c, lockTimeout: lp.plan.lockTimeout) {
          affected = try c.execute(sql).affectedRows ?? 0
        }
      }
      if affected == 0 { break }
      total += affected
      batches += 1
      if Date().timeIntervalSince(lastReport) >= options.progressInterval {
        let rate = Double(total) / max(0.001, Date().timeIntervalSince(start))
        log("\(lp.plan.intent) \(step.id): \(total) rows in \(batches) batches (\(Int(rate)) rows/s)")
        lastReport = Date()
      }
    }
    return total
  }
}

/// How backfills size and pace their batches.
public struct BackfillOptions: Sendable {
  public init() {}
}

extension Journal {
  /// Version 2: backfill checkpoints, written in the same transaction as each batch.
  static let backfillMigration = """
    ALTER TABLE pgphase.steps
      ADD COLUMN checkpoint jsonb,
      ADD COLUMN rows_done bigint NOT NULL DEFAULT 0,
      ADD COLUMN rows_estimated bigint,
      ADD COLUMN batches int NOT NULL DEFAULT 0;
    """
}
