import Foundation
import PGPhaseModel
import PGPhasePostgres

extension Executor {
  /// Builds of one index tried before a step fails: a cancel, deadlock or lock timeout from
  /// another session leaves an invalid index that is dropped and built again.
  static let maxIndexBuildAttempts = 3

  /// Runs an index step (see `indexTarget`). For `CREATE [UNIQUE] INDEX CONCURRENTLY`: waits for a
  /// build of the same index still running in the server, drops an invalid leftover, then builds
  /// unless a valid index with the same definition is there. The build is watched from a second connection and checked after:
  /// an invalid result is dropped and built again, up to `maxIndexBuildAttempts`.
  /// Returns a note for the step's output line.
  func runIndexStep(_ index: QualifiedName, step: Step, of lp: LoadedPlan, on c: Connection) throws -> String {
    if reindexTarget(of: step) != nil { return try runReindexStep(index, step: step, of: lp, on: c) }
    if dropTarget(of: step) != nil { return try runDropIndexStep(index, step: step, of: lp, on: c) }
    try prepareIndex(index, step: step, of: lp, on: c)
    if try violations(of: step, on: c).isEmpty { return " (already complete in the catalog)" }
    let attempts = try buildIndex(index, step: step, of: lp, on: c)
    return attempts > 1 ? " (built on attempt \(attempts))" : ""
  }

  // MARK: - Index builds

  /// The index a `CREATE [UNIQUE] INDEX CONCURRENTLY` step builds (from its postcondition), a
  /// `REINDEX INDEX CONCURRENTLY` step rebuilds or a `DROP INDEX CONCURRENTLY` step drops: such
  /// steps run through `runIndexStep`.
  func indexTarget(of step: Step) -> QualifiedName? {
    if let index = reindexTarget(of: step) ?? dropTarget(of: step) { return index }
    guard let sql = step.sql.first,
      sql.range(of: #"^\s*CREATE\s+(UNIQUE\s+)?INDEX\s+CONCURRENTLY"#, options: [.regularExpression, .caseInsensitive]) != nil,
      let p = step.postconditions.first(where: { $0.kind == .indexExists }), let object = p.object
    else { return nil }
    if object.schema == nil, let schema = p.table?.schema { return QualifiedName(schema: schema, object.name) }
    return object
  }

  /// The index of a step that is one `REINDEX [(options)] INDEX CONCURRENTLY name` statement.
  func reindexTarget(of step: Step) -> QualifiedName? {
    guard step.sql.count == 1,
      let regex = try? NSRegularExpression(
        pattern:
          #"^\s*REINDEX\s+(?:\([^)]*\)\s*)?INDEX\s+CONCURRENTLY\s+("(?:[^"]|"")+"(?:\."(?:[^"]|"")+"|\.[A-Za-z0-9_$]+)?|[A-Za-z0-9_$.]+(?:\."(?:[^"]|"")+")?)\s*;?\s*$"#,
        options: [.caseInsensitive]),
      let m = regex.firstMatch(in: step.sql[0], range: NSRange(step.sql[0].startIndex..., in: step.sql[0])),
      let r = Range(m.range(at: 1), in: step.sql[0])
    else { return nil }
    return QualifiedName(parsing: String(step.sql[0][r]))
  }

  /// The index of a step that is one `DROP INDEX CONCURRENTLY [IF EXISTS] name` statement.
  func dropTarget(of step: Step) -> QualifiedName? {
    guard step.sql.count == 1,
      let regex = try? NSRegularExpression(
        pattern:
          #"^\s*DROP\s+INDEX\s+CONCURRENTLY\s+(?:IF\s+EXISTS\s+)?("(?:[^"]|"")+"(?:\."(?:[^"]|"")+"|\.[A-Za-z0-9_$]+)?|[A-Za-z0-9_$.]+(?:\."(?:[^"]|"")+")?)\s*(?:RESTRICT)?\s*;?\s*$"#,
        options: [.caseInsensitive]),
      let m = regex.firstMatch(in: step.sql[0], range: NSRange(step.sql[0].startIndex..., in: step.sql[0])),
      let r = Range(m.range(at: 1), in: step.sql[0])
    else { return nil }
    return QualifiedName(parsing: String(step.sql[0][r]))
  }

  /// Runs a `DROP INDEX CONCURRENTLY` step with no lock or statement timeout (it waits for every
  /// transaction using the table). Done at once when the index is already gone. A drop cancelled
  /// from outside leaves the index invalid (no longer used by reads, still maintained): it is
  /// dropped again, up to `maxIndexBuildAttempts` times.
  func runDropIndexStep(_ index: QualifiedName, step: Step, of lp: LoadedPlan, on c: Connection) throws -> String {
    let label = "\(lp.plan.intent) \(step.id)"
    let catalog = Catalog(c)
    try waitForRunningBuild(of: index, label: label, on: c)
    guard try catalog.relationKind(index) != nil else { return " (already complete in the catalog)" }
    var first: PostgresError?
    for attempt in 1...Self.maxIndexBuildAttempts {
      try checkInterrupted()
      do {
        try runWatchedIndexStatement(step.sql[0], label: label, on: c)
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
    throw first ?? PostgresError(message: "index \(index) could not be dropped", statement: step.sql[0])
  }

  /// Runs a `REINDEX INDEX CONCURRENTLY` step: waits for a build of the index already running,
  /// drops invalid `_ccnew`/`_ccold` leftovers of an earlier interrupted rebuild, rebuilds watched,
  /// and after a failure drops the leftovers it made, retrying a failure caused from outside.
  /// The index keeps serving reads throughout; it must be valid at the end.
  func runReindexStep(_ index: QualifiedName, step: Step, of lp: LoadedPlan, on c: Connection) throws -> String {
    let label = "\(lp.plan.intent) \(step.id)"
    let catalog = Catalog(c)
    try waitForRunningBuild(of: index, label: label, on: c)
    func dropLeftovers(_ why: String) throws {
      for leftover in try catalog.reindexLeftovers(of: index) {
        log("\(label): dropping \(leftover), an invalid leftover of \(why)")
        try dropIndexConcurrently(leftover, on: c)
      }
    }
    try dropLeftovers("an earlier REINDEX CONCURRENTLY")
    guard try catalog.indexState(name: index) != nil else {
      throw PostgresError(sqlState: "42704", message: "index \(index) does not exist: nothing to rebuild", statement: step.sql[0])
    }
    var first: PostgresError?
    for attempt in 1...Self.maxIndexBuildAttempts {
      try checkInterrupted()
      do {
        try runWatchedIndexStatement(step.sql[0], label: label, on: c)
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
        throw PostgresError(message: "index \(index) is not valid after REINDEX CONCURRENTLY", statement: step.sql[0])
      }
      return attempt > 1 ? " (rebuilt on attempt \(attempt))" : ""
    }
    throw first ?? PostgresError(message: "index \(index) could not be rebuilt", statement: step.sql[0])
  }

  /// Before (re)building an index: wait for a build of it still running in the server (a killed
  /// runner's CIC goes on), drop an invalid leftover so the build starts clean, refuse a valid
  /// index of that name with another definition, and drop `REINDEX CONCURRENTLY` leftovers.
  func prepareIndex(_ index: QualifiedName, step: Step, of lp: LoadedPlan, on c: Connection) throws {
    let catalog = Catalog(c)
    try waitForRunningBuild(of: index, label: "\(lp.plan.intent) \(step.id)", on: c)
    for leftover in try catalog.reindexLeftovers(of: index) {
      log("\(lp.plan.intent) \(step.id): dropping \(leftover), an invalid leftover of REINDEX CONCURRENTLY")
      try dropIndexConcurrently(leftover, on: c)
    }
    guard let state = try catalog.indexState(name: index) else { return }
    if !state.isUsable {
      log("\(lp.plan.intent) \(step.id): index \(index) exists but is invalid (a build was interrupted); dropping it to rebuild")
      try dropIndexConcurrently(index.sql, on: c)
      return
    }
    guard let sql = step.sql.first else { return }
    let expected: String?
    do {
      expected = try IndexDefinition.expected(sql, on: c)
    } catch let e as PostgresError where !e.connectionLost {
      // E.g. no TEMP privilege: the postconditions (table, uniqueness, validity) still decide.
      log(
        "\(lp.plan.intent) \(step.id): cannot compare the definition of \(index) with the step's (\(e.message)); trusting its postconditions"
      )
      return
    }
    if let expected, IndexDefinition.normalized(expected) != IndexDefinition.normalized(state.definition) {
      throw PostgresError(
        sqlState: "42P07",
        message:
          "index \(index) already exists with another definition: \(state.definition); the step builds: \(expected). Drop or rename the existing index, or change the plan",
        statement: sql)
    }
  }

  /// Waits while a build of `index` runs in another backend, reporting its progress.
  func waitForRunningBuild(of index: QualifiedName, label: String, on c: Connection) throws {
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
  func buildIndex(_ index: QualifiedName, step: Step, of lp: LoadedPlan, on c: Connection) throws -> Int {
    let label = "\(lp.plan.intent) \(step.id)"
    var first: PostgresError?
    for attempt in 1...Self.maxIndexBuildAttempts {
      try checkInterrupted()
      do {
        for statement in step.sql { try runWatchedIndexStatement(statement, label: label, on: c) }
      } catch let e as PostgresError {
        if e.connectionLost { throw e }
        let located = locatedBuildError(e, index: index)
        first = first ?? located
        if c.transactionStatus != .idle { _ = try? c.execute("ROLLBACK") }
        if let state = try Catalog(c).indexState(name: index), !state.isUsable {
          log("\(label): the failed build left \(index) invalid; dropping it so that no invalid index is left behind")
          try dropIndexConcurrently(index.sql, on: c)
        }
        try checkInterrupted()
        guard Self.isTransientBuildError(e), attempt < Self.maxIndexBuildAttempts else { throw first ?? located }
        log("\(label): build attempt \(attempt) failed (\(e.message), SQLSTATE \(e.sqlState ?? "?")); building again")
        Thread.sleep(forTimeInterval: options.retry.delay(forRetry: attempt - 1))
        continue
      }
      guard let state = try Catalog(c).indexState(name: index) else {
        throw PostgresError(message: "index \(index) is missing after its build", statement: step.sql.first)
      }
      if state.isUsable { return attempt }
      log("\(label): index \(index) is invalid after its build (attempt \(attempt)); dropping it to build again")
      first =
        first
        ?? PostgresError(message: "index \(index) was left invalid by its build", statement: step.sql.first)
      try dropIndexConcurrently(index.sql, on: c)
    }
    throw first ?? PostgresError(message: "index \(index) could not be built", statement: step.sql.first)
  }

  /// Sends one statement of an index step alone, with no lock or statement timeout (they would
  /// cancel the build's internal waits and leave an invalid index), watched from a second
  /// connection when it builds.
  func runWatchedIndexStatement(_ statement: String, label: String, on c: Connection) throws {
    try c.execute("SET lock_timeout = 0")
    try c.execute("SET statement_timeout = 0")
    defer {
      _ = try? c.execute("RESET lock_timeout")
      _ = try? c.execute("RESET statement_timeout")
    }
    let builds = statement.range(of: #"^\s*(CREATE|REINDEX)\b"#, options: [.regularExpression, .caseInsensitive]) != nil
    guard builds else {
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
  func dropIndexConcurrently(_ sqlName: String, on c: Connection) throws {
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

/// Reading and comparing `CREATE INDEX` text.
enum IndexDefinition {
  /// `pg_get_indexdef` of the index a `CREATE INDEX` statement would make, found by building it on
  /// an empty temporary copy of the table (`LIKE`) in a transaction that is rolled back. nil when
  /// the statement is not a plain `CREATE INDEX ... ON table` this can rewrite.
  static func expected(_ sql: String, on c: Connection) throws -> String? {
    guard let parts = parse(sql) else { return nil }
    try c.execute("BEGIN")
    defer { _ = try? c.execute("ROLLBACK") }
    try c.execute("SET LOCAL lock_timeout = '5s'")
    try c.execute("CREATE TEMP TABLE pgphase_index_probe (LIKE \(parts.table)) ON COMMIT DROP")
    try c.execute("\(parts.head) ON pg_temp.pgphase_index_probe \(parts.rest)")
    return try c.execute(
      """
      SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i
      WHERE i.indrelid = 'pg_temp.pgphase_index_probe'::regclass
      """
    ).scalar
  }

  /// `CREATE [UNIQUE] INDEX <name>` (without CONCURRENTLY and IF NOT EXISTS), the table, and the
  /// rest after the table (`USING ... (...) ...`).
  struct Parts {
    var head: String
    var table: String
    var rest: String
  }

  private static let identifier = #"(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)"#

  static func parse(_ sql: String) -> Parts? {
    let pattern =
      #"^\s*CREATE\s+(UNIQUE\s+)?INDEX\s+CONCURRENTLY\s+(?:IF\s+NOT\s+EXISTS\s+)?("# + identifier + #")\s+ON\s+(?:ONLY\s+)?("#
      + identifier + #"(?:\s*\.\s*"# + identifier + #")?)\s*(.*)$"#
    guard let regex = try? NSRegularExpression(pattern: pattern, options: [.caseInsensitive, .dotMatchesLineSeparators]),
      let m = regex.firstMatch(in: sql, range: NSRange(sql.startIndex..., in: sql)),
      let name = Range(m.range(at: 2), in: sql), let table = Range(m.range(at: 3), in: sql),
      let rest = Range(m.range(at: 4), in: sql)
    else { return nil }
    let unique = m.range(at: 1).location != NSNotFound
    return Parts(
      head: "CREATE \(unique ? "UNIQUE " : "")INDEX \(sql[name])", table: String(sql[table]), rest: String(sql[rest]))
  }

  /// A `pg_get_indexdef` text with its table name replaced, so the same definition on two tables
  /// compares equal.
  static func normalized(_ definition: String) -> String {
    guard let on = definition.range(of: " ON "),
      let using = definition.range(of: " USING ", range: on.upperBound..<definition.endIndex)
    else { return definition }
    return String(definition[..<on.upperBound]) + "?" + String(definition[using.lowerBound...])
  }
}
