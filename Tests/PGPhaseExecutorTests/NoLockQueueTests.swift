import Foundation
import PGPhaseExecutor
import PGPhaseModel
import PGPhasePostgres
import PGPhaseTestSupport
import Testing

/// A step whose lock blocks reads or writes must not queue behind a long transaction (every
/// query on the table would queue behind the step): it waits outside the queue, names the
/// blocker, and counts the wait in its retry budget.
@Suite struct NoLockQueueTests {
  let table = QualifiedName(schema: "public", "incidents")

  func addColumnPlan(lockTimeout: String = "1s") throws -> LoadedPlan {
    try testPlan(
      "t_queue", lockTimeout: lockTimeout,
      [
        sqlStep(
          "expand/01-add", ["ALTER TABLE public.incidents ADD COLUMN extra int"],
          locks: [LockedRelation(table, .accessExclusive)])
      ])
  }

  /// Sessions of pgphase (by application name) waiting for a lock in this database, now.
  func pgphaseWaiting(_ c: Connection) throws -> Int {
    try c.execute(
      """
      SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE NOT l.granted AND a.application_name LIKE 'pgphase %' AND a.datname = current_database()
      """
    ).scalarInt() ?? -1
  }

  @Test(.enabled(if: TestServer.shouldRun))
  func theStepWaitsOutsideTheQueueNamingTheBlockerAndRunsWhenItEnds() throws {
    try withTestDatabase { db in
      try db.connection.execute("CREATE TABLE incidents (id int)")
      let blocker = try db.connect(applicationName: "reporting job")
      try blocker.execute("BEGIN")
      try blocker.execute("SELECT count(*) FROM incidents")
      Thread.sleep(forTimeInterval: 0.4)  // older than --max-blocker-age
      var options = ExecutorOptions(retry: RetryPolicy(baseDelay: 0.2, maxDelay: 1, maxRetries: 50, deadline: 60))
      options.maxBlockerAge = 0.3
      let log = Lines()
      let executor = makeExecutor(db, options: options, log: log)
      let plan = try addColumnPlan()
      let transfer = UnsafeTransfer(executor)
      let run = BackgroundWork { try transfer.value.apply(phase: .expand, intents: nil, plans: [plan]) }

      // While the blocker is open, pgphase never shows up in pg_locks as waiting.
      let watcher = try db.connect()
      var samples = 0
      let until = Date().addingTimeInterval(2)
      while Date() < until {
        #expect(try pgphaseWaiting(watcher) == 0, "pgphase joined the lock queue")
        samples += 1
        Thread.sleep(forTimeInterval: 0.01)
      }
      #expect(samples > 50)
      #expect(try Catalog(watcher).column("extra", of: table) == nil, "the step did not run past the blocker")
      let waits = log.all.filter { $0.contains("not joining the lock queue") }
      #expect(!waits.isEmpty, "\(log.all)")
      let named = waits.first ?? ""
      for part in [
        "pid \(blocker.backendPID)", "(reporting job)", "idle in transaction", "transaction open for",
        "SELECT count(*) FROM incidents",
      ] {
        #expect(named.contains(part), "\(part) missing from: \(named)")
      }

      try blocker.execute("COMMIT")
      try run.wait(timeout: 30)
      #expect(try Catalog(watcher).column("extra", of: table) != nil)
      let journal = try Journal.steps(intent: "t_queue", on: watcher)["t_queue"] ?? [:]
      #expect(journal["expand/01-add"]?.state == .done)
      blocker.close()
      watcher.close()
    }
  }

  @Test(.enabled(if: TestServer.shouldRun))
  func pastTheRetryBudgetTheStepFailsCleanlyWithExitOne() throws {
    _ = try pgphaseBinary()
    try withTestDatabase { db in
      try db.connection.execute("CREATE TABLE incidents (id int)")
      let blocker = try db.connect(applicationName: "forgotten psql")
      try blocker.execute("BEGIN")
      try blocker.execute("SELECT count(*) FROM incidents")
      Thread.sleep(forTimeInterval: 0.3)
      let dir = try writePlans([try addColumnPlan()])
      defer { try? FileManager.default.removeItem(at: dir) }
      let r = try runPGPhase([
        "apply", "--phase", "expand", "--max-blocker-age", "200ms", "--max-retries", "2", "--dsn", db.conninfo, dir.path,
      ])
      #expect(r.status == 1, "\(r.stdout)\n\(r.stderr)")
      #expect(r.stderr.contains("gave up after waiting"), "\(r.stderr)")
      #expect(r.stderr.contains("pid \(blocker.backendPID) (forgotten psql)"), "\(r.stderr)")
      let journal = try Journal.steps(intent: "t_queue", on: db.connection)["t_queue"] ?? [:]
      #expect(journal["expand/01-add"]?.state == .failed)
      #expect(journal["expand/01-add"]?.errorMessage?.contains("long transactions") == true)
      #expect(try Catalog(db.connection).column("extra", of: table) == nil)
      try blocker.execute("ROLLBACK")
      // With the blocker gone, a rerun applies it.
      let again = try runPGPhase(["apply", "--phase", "expand", "--dsn", db.conninfo, dir.path])
      #expect(again.status == 0, "\(again.stderr)")
      #expect(try Catalog(db.connection).column("extra", of: table) != nil)
      blocker.close()
    }
  }

  /// A young transaction is not waited for: the step queues (bounded by lock_timeout, the
  /// backstop) and runs when it ends.
  @Test(.enabled(if: TestServer.shouldRun))
  func aYoungTransactionIsLeftToTheLockTimeoutBackstop() throws {
    try withTestDatabase { db in
      try db.connection.execute("CREATE TABLE incidents (id int)")
      let blocker = try db.connect(applicationName: "short request")
      try blocker.execute("BEGIN")
      try blocker.execute("SELECT count(*) FROM incidents")
      var options = ExecutorOptions(retry: RetryPolicy(baseDelay: 0.05, maxDelay: 0.2, maxRetries: 100, deadline: 30))
      options.maxBlockerAge = 60
      let log = Lines()
      let executor = makeExecutor(db, options: options, log: log)
      let plan = try addColumnPlan(lockTimeout: "100ms")
      let transfer = UnsafeTransfer(blocker)
      let release = BackgroundWork {
        Thread.sleep(forTimeInterval: 0.6)
        try transfer.value.execute("COMMIT")
      }
      try executor.apply(phase: .expand, intents: nil, plans: [plan])
      try release.wait()
      #expect(log.all.contains { $0.contains("55P03") }, "\(log.all)")
      #expect(!log.all.contains { $0.contains("not joining the lock queue") }, "\(log.all)")
      blocker.close()
    }
  }
}

/// Which sessions a step waits for outside the lock queue: a pure rule.
@Suite struct BlockerCheckTests {
  let t = QualifiedName(schema: "public", "t")

  func holder(_ mode: String, granted: Bool = true, age: Double? = 10, type: String = "client backend", query: String = "")
    -> LockHolder
  {
    LockHolder(
      pid: 1, relation: "public.t", mode: mode, granted: granted, state: "idle in transaction", query: query,
      applicationName: "app", transactionAgeSeconds: age, backendType: type)
  }

  @Test func conflictTableIsPostgreSQLs() {
    #expect(LockMode.accessShare.conflicts(with: .accessExclusive))
    #expect(!LockMode.accessShare.conflicts(with: .exclusive))
    #expect(LockMode.rowExclusive.conflicts(with: .share))
    #expect(!LockMode.rowExclusive.conflicts(with: .shareUpdateExclusive))
    #expect(LockMode.shareUpdateExclusive.conflicts(with: .shareUpdateExclusive))
    #expect(!LockMode.share.conflicts(with: .share))
    for a in LockMode.allCases {
      for b in LockMode.allCases { #expect(a.conflicts(with: b) == b.conflicts(with: a), "\(a) \(b) symmetric") }
    }
  }

  @Test func oldConflictingHoldersAndOldWaitersCountNothingElse() {
    let ae = [LockedRelation(t, .accessExclusive)]
    #expect(BlockerCheck.longBlockers([holder("AccessShareLock")], of: ae, maxAge: 2).count == 1)
    #expect(BlockerCheck.longBlockers([holder("AccessShareLock", age: 1)], of: ae, maxAge: 2).isEmpty, "young")
    #expect(BlockerCheck.longBlockers([holder("AccessShareLock", age: nil)], of: ae, maxAge: 2).isEmpty, "no transaction")
    let share = [LockedRelation(t, .share)]
    #expect(BlockerCheck.longBlockers([holder("AccessShareLock")], of: share, maxAge: 2).isEmpty, "no conflict")
    #expect(BlockerCheck.longBlockers([holder("RowExclusiveLock")], of: share, maxAge: 2).count == 1)
    #expect(
      BlockerCheck.longBlockers([holder("AccessShareLock", granted: false)], of: share, maxAge: 2).count == 1, "in the queue")
    let sue = [LockedRelation(t, .shareUpdateExclusive)]
    #expect(BlockerCheck.longBlockers([holder("AccessExclusiveLock")], of: sue, maxAge: 2).isEmpty, "blocks no write")
    let other = [LockedRelation(QualifiedName(schema: "public", "u"), .accessExclusive)]
    #expect(BlockerCheck.longBlockers([holder("AccessShareLock")], of: other, maxAge: 2).isEmpty, "another table")
    let vacuum = holder("ShareUpdateExclusiveLock", type: "autovacuum worker", query: "autovacuum: VACUUM public.t")
    #expect(BlockerCheck.longBlockers([vacuum], of: ae, maxAge: 2).isEmpty, "autovacuum gives way")
    let wraparound = holder(
      "ShareUpdateExclusiveLock", type: "autovacuum worker", query: "autovacuum: VACUUM public.t (to prevent wraparound)")
    #expect(BlockerCheck.longBlockers([wraparound], of: ae, maxAge: 2).count == 1)
  }

  @Test func durationSettingsReadAsPostgreSQLDoes() {
    #expect(durationSettingSeconds("2s") == 2)
    #expect(durationSettingSeconds("500ms") == 0.5)
    #expect(durationSettingSeconds("1min") == 60)
    #expect(durationSettingSeconds("250") == 0.25)
    #expect(durationSettingSeconds("soon") == nil)
  }
}
