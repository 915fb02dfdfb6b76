import Foundation
import PGPhaseModel
import PGPhasePostgres

extension StepRunner {
  /// Builds of one index tried before a step fails: a cancel, deadlock or lock timeout from
  /// another session leaves an invalid index that is dropped and built again.
  static let maxIndexBuildAttempts = 3

  /// Runs a `CREATE [UNIQUE] INDEX CONCURRENTLY` step: waits for a build of the same index still
  /// running in the server, drops an invalid leftover, then builds unless a valid index with the
  /// same definition is there. The build is watched from a second connection and checked after:
  /// an invalid result is dropped and built again, up to `maxIndexBuildAttempts`.
  /// Returns a note for the step's output line.
  func runIndexBuild(_ build: IndexBuild, step: Step, of lp: LoadedPlan) throws -> String {
    try prepareIndex(build, step: step, of: lp)
    if try violations(of: step).isEmpty { return " (already complete in the catalog)" }
    let attempts = try buildIndex(build.index, step: step, of: lp)
    return attempts > 1 ? " (built on attempt \(attempts))" : ""
  }

  /// Runs whichever concurrent index step `step` is (build, rebuild or drop); nil when it is none.
  func runIndexStep(_ step: Step, of lp: LoadedPlan) throws -> String? {
    switch step.action {
    case .buildIndex(let build): try runIndexBuild(build, step: step, of: lp)
    case .rebuildIndex(let index): try runReindex(index, step: step, of: lp)
    case .dropIndex(let index): try runDropIndex(index, step: step, of: lp)
    default: nil
    }
  }

  /// Runs a `DROP INDEX CONCURRENTLY` step with no lock or statement timeout (it waits for every
  /// transaction using the table). Done at once when the index is already gone. A drop cancelled
  /// from outside leaves the index invalid (no longer used by reads, still maintained): it is
  /// dropped again, up to `maxIndexBuildAttempts` times.
  func runDropIndex(_ index: QualifiedName, step: Step, of lp: LoadedPlan) throws -> String {
    let label = "\(lp.plan.intent) \(step.id)"
    let catalog = Catalog(c)
    try waitForRunningBuild(of: index, label: label)
    guard try catalog.relationKind(index) != nil else { return " (already complete in the catalog)" }
    var first: PostgresError?
    for attempt in 1...Self.maxIndexBuildAttempts {
      try checkInterrupted()
      do {
        try runWatchedIndexStatement(step.sql[0], label: label, watch: false)
      } catch let e as PostgresError {
        if e.connectionLost { throw e }
        first = first ?? e
        try checkInterrupted()
        guard Self.isTransientBuildError(e), attempt < Self.maxIndexBuildAttempts else { throw first ?? e }
        let left = try catalog.indexState(name: index).map { $0.isUsable ? "" : " (left invalid)" } ?? ""
        log("\(label): drop attempt \(attempt) failed (\(e.message), SQLSTATE \(e.sqlState ?? "?"))\(left); dropping again")
        Thread.sleep(forTimeInterval: options.retry.delay(forRetry: attempt - 1))
        continue
      }
      return attempt > 1 ? " (dropped on attempt \(attempt))" : ""
    }
    preconditionFailure("the last attempt returns or throws")
  }

  /// Runs a `REINDEX INDEX CONCURRENTLY` step: waits for a build of the index already running,
  /// drops invalid `_ccnew`/`_ccold` leftovers of an earlier interrupted rebuild, rebuilds watched,
  /// and after a failure drops the leftovers it made, retrying a failure caused from outside.
  /// The index keeps serving reads throughout; it must be valid at the end.
  func runReindex(_ index: QualifiedName, step: Step, of lp: LoadedPlan) throws -> String {
    let label = "\(lp.plan.intent) \(step.id)"
    let catalog = Catalog(c)
    try waitForRunningBuild(of: index, label: label)
    func dropLeftovers(_ why: String) throws {
      for leftover in try catalog.reindexLeftovers(of: index) {
        log("\(label): dropping \(leftover), an invalid leftover of \(why)")
        try dropIndexConcurrently(leftover)
      }
    }
    try dropLeftovers("an earlier REINDEX CONCURRENTLY")
    guard try catalog.indexState(name: index) != nil else { throw StepRefusal.nothingToRebuild(index) }
    var first: PostgresError?
    for attempt in 1...Self.maxIndexBuildAttempts {
      try checkInterrupted()
      do {
        try runWatchedIndexStatement(step.sql[0], label: label, watch: true)
      } catch let e as PostgresError {
        if e.connectionLost { throw e }
        let located = locatedBuildError(e, index: index)
        first = first ?? located
        try dropLeftovers("the failed rebuild")
        try checkInterrupted()
        guard Self.isTransientBuildError(e), attempt < Self.maxIndexBuildAttempts else { throw first ?? located }
        log("\(label): rebuild attempt \(attempt) failed (\(e.message), SQLSTATE \(e.sqlState ?? "?")); rebuilding again")
        Thread.sleep(forTimeInterval: options.retry.delay(forRetry: attempt - 1))
        continue
      }
      guard let state = try catalog.indexState(name: index), state.isUsable else {
        throw StepRefusal.indexInvalidAfterRebuild(index)
      }
      return attempt > 1 ? " (rebuilt on attempt \(attempt))" : ""
    }
    preconditionFailure("the last attempt returns or throws")
  }

  /// Before building an index: wait for a build of it still running in the server (a killed
  /// runner's CIC goes on), drop `REINDEX CONCURRENTLY` leftovers and an invalid index of that name
  /// so the build starts clean, and refuse a valid index of that name with another definition.
  func prepareIndex(_ build: IndexBuild, step: Step, of lp: LoadedPlan) throws {
    let index = build.index
    let catalog = Catalog(c)
    try waitForRunningBuild(of: index, label: "\(lp.plan.intent) \(step.id)")
    for leftover in try catalog.reindexLeftovers(of: index) {
      log("\(lp.plan.intent) \(step.id): dropping \(leftover), an invalid leftover of REINDEX CONCURRENTLY")
      try dropIndexConcurrently(leftover)
    }
    guard let state = try catalog.indexState(name: index) else { return }
    if !state.isUsable {
      log("\(lp.plan.intent) \(step.id): index \(index) exists but is invalid (a build was interrupted); dropping it to rebuild")
      try dropIndexConcurrently(index.sql)
      return
    }
    let comparison: IndexDefinition.Comparison
    do {
      comparison = try IndexDefinition.compare(build, withExisting: index, on: c)
    } catch let e as PostgresError where !e.connectionLost {
      // E.g. no TEMP privilege: the postconditions (table, uniqueness, validity) still decide.
      log(
        "\(lp.plan.intent) \(step.id): cannot compare the definition of \(index) with the step's (\(e.message)); trusting its postconditions"
      )
      return
    }
    if case .differs(let existing, let planned) = comparison {
      throw StepRefusal.indexDefinitionDiffers(index, existing: existing, planned: planned)
    }
  }

  /// Waits while a build of `index` runs in another backend, reporting its progress.
  func waitForRunningBuild(of index: QualifiedName, label: String) throws {
    let catalog = Catalog(c)
    guard var running = try catalog.runningIndexBuild(indexName: index) else { return }
    log(
      "\(label): a build of \(index) is still running in pid \(running.pid) (\(running.applicationName ?? "?")); waiting for it instead of starting another"
    )
    let progress = makeProgress(label: "\(label) (pid \(running.pid))")
    while true {
      try checkInterrupted()
      if let sample = try catalog.indexBuildSample(pid: running.pid) {
        let p = sample.progress
        progress.update(
          done: Int64(p.blocksDone ?? 0), total: p.blocksTotal.flatMap { $0 > 0 ? Int64($0) : nil }, unit: "blocks",
          detail: sample.detail)
      }
      Thread.sleep(forTimeInterval: min(0.5, options.progressInterval))
      guard let next = try catalog.runningIndexBuild(indexName: index) else { break }
      running = next
    }
    progress.finish("the other build ended after \(formatSeconds(progress.elapsed))")
  }

  /// Builds the index, watched, retrying a build that failed from outside (a cancel, a deadlock) or
  /// left the index invalid. A failure that would repeat (duplicate keys, a bad definition) stops
  /// at once. Either way no invalid index is left behind. Returns the attempts used.
  func buildIndex(_ index: QualifiedName, step: Step, of lp: LoadedPlan) throws -> Int {
    let label = "\(lp.plan.intent) \(step.id)"
    var first: PostgresError?
    for attempt in 1...Self.maxIndexBuildAttempts {
      try checkInterrupted()
      do {
        for statement in step.sql { try runWatchedIndexStatement(statement, label: label, watch: true) }
      } catch let e as PostgresError {
        if e.connectionLost { throw e }
        let located = locatedBuildError(e, index: index)
        first = first ?? located
        if c.transactionStatus != .idle { _ = try? c.execute("ROLLBACK") }
        if let state = try Catalog(c).indexState(name: index), !state.isUsable {
          log("\(label): the failed build left \(index) invalid; dropping it so that no invalid index is left behind")
          try dropIndexConcurrently(index.sql)
        }
        try checkInterrupted()
        guard Self.isTransientBuildError(e), attempt < Self.maxIndexBuildAttempts else { throw first ?? located }
        log("\(label): build attempt \(attempt) failed (\(e.message), SQLSTATE \(e.sqlState ?? "?")); building again")
        Thread.sleep(forTimeInterval: options.retry.delay(forRetry: attempt - 1))
        continue
      }
      guard let state = try Catalog(c).indexState(name: index) else { throw StepRefusal.indexMissingAfterBuild(index) }
      if state.isUsable { return attempt }
      log("\(label): index \(index) is invalid after its build (attempt \(attempt)); dropping it to build again")
      try dropIndexConcurrently(index.sql)
    }
    // Every attempt ended without error but left the index invalid (the last one was dropped).
    if let first { throw first }
    throw StepRefusal.indexInvalidAfterBuild(index)
  }

  /// Sends one statement of an index step alone, with no lock or statement timeout (they would
  /// cancel the build's internal waits and leave an invalid index), watched from a second
  /// connection when `watch` (a build or rebuild; a drop has no progress to show).
  func runWatchedIndexStatement(_ statement: String, label: String, watch: Bool) throws {
    try c.execute("SET lock_timeout = 0")
    try c.execute("SET statement_timeout = 0")
    defer {
      _ = try? c.execute("RESET lock_timeout")
      _ = try? c.execute("RESET statement_timeout")
    }
    guard watch else {
      try c.executeAlone(statement)
      return
    }
    // A bar redraws often; plain lines print once per interval, so polling faster is waste.
    let bar = progressWrite != nil && options.progressStyle == .bar
    let watcher = IndexBuildWatcher(
      dsn: dsn, applicationName: runnerName, pid: c.backendPID,
      pollInterval: bar ? 0.25 : max(0.05, options.progressInterval), reporter: makeProgress(label: label))
    let start = Date()
    do {
      try c.executeAlone(statement)
    } catch {
      watcher.stop(summary: "failed after \(formatSeconds(Date().timeIntervalSince(start)))")
      throw error
    }
    watcher.stop(summary: "built in \(formatSeconds(Date().timeIntervalSince(start)))")
  }

  /// `DROP INDEX CONCURRENTLY IF EXISTS`, alone, with no lock timeout (it waits for readers).
  func dropIndexConcurrently(_ sqlName: String) throws {
    try c.execute("SET lock_timeout = 0")
    defer { _ = try? c.execute("RESET lock_timeout") }
    try c.executeAlone("DROP INDEX CONCURRENTLY IF EXISTS \(sqlName)")
  }

  /// Errors caused from outside the build (another session cancelled it, a deadlock, a lock or
  /// serialization conflict): building again may succeed. Anything else would fail the same way.
  static func isTransientBuildError(_ e: PostgresError) -> Bool {
    ["57014", "40P01", "40001", "55P03"].contains(e.sqlState ?? "")
  }

  /// A duplicate-key failure names the index, its table and the key from the error detail.
  func locatedBuildError(_ e: PostgresError, index: QualifiedName) -> PostgresError {
    guard e.sqlState == "23505" else { return e }
    var out = e
    let table = [e.schema, e.table].compactMap { $0 }.joined(separator: ".")
    let key = e.detail.map { ": \($0.hasSuffix(".") ? String($0.dropLast()) : $0)" } ?? ""
    out.message =
      "could not build unique index \(index)\(table.isEmpty ? "" : " on \(table)")\(key); fix the duplicate rows, then rerun"
    return out
  }
}

/// Comparing an index in the catalog with the one a step builds.
enum IndexDefinition {
  /// How the index of that name in the catalog compares with the step's.
  enum Comparison: Equatable {
    case same
    /// Both as `pg_get_indexdef` prints them.
    case differs(existing: String, planned: String)
  }

  /// Builds the step's index on an empty temporary copy of its table (`LIKE`), in a transaction
  /// that is rolled back, and compares `pg_get_indexdef` of the two with the table names left out
  /// (the server prints both, so equal definitions print equal however they were written).
  static func compare(_ build: IndexBuild, withExisting existing: QualifiedName, on c: Connection) throws -> Comparison {
    // Resolved first: an unqualified name would find the probe, which pg_temp puts first in the search path.
    guard let oid = try c.execute("SELECT to_regclass($1)::oid::int8", [existing.sql]).scalarInt() else { return .same }
    try c.execute("BEGIN")
    defer { _ = try? c.execute("ROLLBACK") }
    try c.execute("SET LOCAL lock_timeout = '5s'")
    try c.execute("CREATE TEMP TABLE pgphase_index_probe (LIKE \(build.table.sql)) ON COMMIT DROP")
    try c.execute(build.createSQL(concurrently: false, on: "pg_temp.pgphase_index_probe"))
    // pg_get_indexdef names the table schema-qualified (`ON [ONLY] schema.table`, the session's
    // own temporary schema as `pg_temp`); that part is replaced on both sides, the rest (method,
    // keys, options, predicate) must be equal.
    let row = try c.execute(
      """
      WITH d AS (
        SELECT i.indexrelid, pg_get_indexdef(i.indexrelid) AS def,
               quote_ident(CASE WHEN n.oid = pg_my_temp_schema() THEN 'pg_temp' ELSE n.nspname END) || '.'
                 || quote_ident(t.relname) AS tbl
        FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
        WHERE i.indrelid = 'pg_temp.pgphase_index_probe'::regclass OR i.indexrelid = $1::int8::oid
      ), n AS (
        SELECT indexrelid, def,
               replace(replace(def, ' ON ONLY ' || tbl || ' ', ' ON ? '), ' ON ' || tbl || ' ', ' ON ? ') AS shape
        FROM d
      )
      SELECT p.def AS planned, e.def AS existing, p.shape = e.shape AS same
      FROM n p, n e
      WHERE p.indexrelid IN (SELECT indexrelid FROM pg_index WHERE indrelid = 'pg_temp.pgphase_index_probe'::regclass)
        AND e.indexrelid = $1::int8::oid
      """, [String(oid)]
    ).first
    guard let row, try row.bool("same") == false else { return .same }
    return .differs(existing: row["existing"] ?? "?", planned: row["planned"] ?? "?")
  }
}
