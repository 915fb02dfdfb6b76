import Foundation
import PGPhaseExecutor
import PGPhaseModel
import PGPhasePostgres
import PGPhaseTestSupport
import Testing

/// A `CREATE [UNIQUE] INDEX CONCURRENTLY` step on `public.<table>` with its undo and postcondition.
func indexStep(_ id: String = "expand/01-index", name: String, table: String = "t", columns: String, unique: Bool = false)
  -> Step
{
  let t = QualifiedName(schema: "public", table)
  return Step(
    id: id, phase: .expand, change: 1, operation: unique ? "add_unique" : "create_index", summary: id,
    sql: ["CREATE \(unique ? "UNIQUE " : "")INDEX CONCURRENTLY \(name) ON public.\(table) (\(columns))"],
    action: .buildIndex(
      IndexBuild(index: QualifiedName(schema: "public", name), table: t, unique: unique, definition: "(\(columns))")),
    locks: [LockedRelation(t, .shareUpdateExclusive)], cost: .scanNoWriteBlock,
    undo: Undo(sql: ["DROP INDEX CONCURRENTLY IF EXISTS public.\(name)"], transactional: false),
    postconditions: [.indexExists(QualifiedName(schema: "public", name), on: t, unique: unique)])
}

/// `pg_locks.database` of the current database, for SQL text.
let thisDatabase = "(SELECT oid FROM pg_database WHERE datname = current_database())"

/// The backend building an index on `table`, when one is in the progress view.
func builderPID(on table: String, _ c: Connection) throws -> Int32? {
  try c.execute(
    "SELECT pid FROM pg_stat_progress_create_index WHERE datname = current_database() AND relid = to_regclass($1)", [table]
  ).scalarInt().map {
    Int32($0)
  }
}

@Suite("Index builds", .serialized)
struct IndexBuildTests {
  /// A session idle in transaction after writing to the table makes the build wait; the progress
  /// lines name that session's pid, state and transaction age; when it ends, the build completes.
  @Test(.enabled(if: TestServer.shouldRun))
  func idleInTransactionSessionIsNamedInProgress() throws {
    try withTestDatabase { db in
      try db.connection.executeScript("CREATE TABLE t (id int, v int); INSERT INTO t SELECT g, g FROM generate_series(1, 1000) g")
      let holder = try db.connect(applicationName: "forgotten session")
      try holder.execute("BEGIN")
      try holder.execute("INSERT INTO t VALUES (0, 0)")
      let lp = try testPlan("t_idle", [indexStep(name: "t_v_idx", columns: "v")])
      let log = Lines()
      let output = Lines()
      let dsn = db.conninfo
      let work = BackgroundWork {
        let executor = Executor(
          dsn: dsn, options: ExecutorOptions(progressInterval: 0.2), output: { output.append($0) }, log: { log.append($0) })
        try executor.apply(phase: .expand, intents: nil, plans: [lp])
      }
      let holderPID = holder.backendPID
      try db.connection.waitUntil(
        "SELECT EXISTS (SELECT 1 FROM pg_stat_progress_create_index WHERE current_locker_pid = $1::int)", [String(holderPID)])
      let deadline = Date().addingTimeInterval(10)
      while !log.all.contains(where: { $0.contains("waiting for pid \(holderPID)") }) && Date() < deadline {
        Thread.sleep(forTimeInterval: 0.05)
      }
      let line = try #require(log.all.last { $0.contains("waiting for pid \(holderPID)") }, "\(log.all)")
      #expect(line.contains("forgotten session"))
      #expect(line.contains("idle in transaction"))
      #expect(line.contains("transaction open for"))
      #expect(line.contains("INSERT INTO t VALUES (0, 0)"))
      #expect(line.contains("waiting for writers before build"))
      try holder.execute("COMMIT")
      try work.wait(timeout: 60)
      #expect(try Catalog(db.connection).indexState(name: QualifiedName(schema: "public", "t_v_idx"))?.isUsable == true)
      let journal = try Journal.steps(intent: "t_idle", on: db.connection)["t_idle"] ?? [:]
      #expect(journal["expand/01-index"]?.state == .done)
      #expect(output.all.contains { $0.contains("expand/01-index done in") })
      #expect(log.all.contains { $0.contains("built in") })
      holder.close()
    }
  }

  /// A build cancelled from another session (pg_cancel_backend) leaves an invalid index; the
  /// executor sees it, drops it and builds again in the same run.
  @Test(.enabled(if: TestServer.shouldRun))
  func cancelledBuildIsDroppedAndRebuilt() throws {
    try withTestDatabase { db in
      try db.connection.executeScript("CREATE TABLE t (id int, v int); INSERT INTO t SELECT g, g FROM generate_series(1, 1000) g")
      let holder = try db.connect(applicationName: "holder")
      try holder.execute("BEGIN")
      try holder.execute("INSERT INTO t VALUES (0, 0)")
      let lp = try testPlan("t_cancel", [indexStep(name: "t_v_idx", columns: "v")])
      let log = Lines()
      let output = Lines()
      let dsn = db.conninfo
      let work = BackgroundWork {
        let executor = Executor(
          dsn: dsn, options: ExecutorOptions(progressInterval: 0.2), output: { output.append($0) }, log: { log.append($0) })
        try executor.apply(phase: .expand, intents: nil, plans: [lp])
      }
      try db.connection.waitUntil(
        "SELECT EXISTS (SELECT 1 FROM pg_stat_progress_create_index WHERE current_locker_pid = $1::int)",
        [String(holder.backendPID)])
      let pid = try #require(try builderPID(on: "t", db.connection))
      #expect(try db.connection.execute("SELECT pg_cancel_backend($1::int)", [String(pid)]).scalarBool() == true)
      // The cancelled build leaves the index invalid (its catalog row was committed first).
      try db.connection.waitUntil(
        """
        SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1::int AND query LIKE 'CREATE INDEX%' AND state = 'active')
        """, [String(pid)])
      try holder.execute("COMMIT")
      try work.wait(timeout: 60)
      #expect(log.all.contains { $0.contains("build attempt 1 failed") && $0.contains("57014") }, "\(log.all)")
      #expect(log.all.contains { $0.contains("left public.t_v_idx invalid; dropping it") }, "\(log.all)")
      #expect(output.all.contains { $0.contains("built on attempt 2") }, "\(output.all)")
      #expect(try Catalog(db.connection).indexState(name: QualifiedName(schema: "public", "t_v_idx"))?.isUsable == true)
      let journal = try Journal.steps(intent: "t_cancel", on: db.connection)["t_cancel"] ?? [:]
      #expect(journal["expand/01-index"]?.state == .done)
      holder.close()
    }
  }

  /// Builds cancelled every time: after `maxIndexBuildAttempts` the step fails with the first
  /// error (57014) in the journal, and no invalid index is left. A repeatable-read snapshot held
  /// by another session makes each build wait ("waiting for old snapshots") so it can be cancelled,
  /// without blocking the drops in between (they wait only for lockers of the table).
  @Test(.enabled(if: TestServer.shouldRun))
  func buildCancelledEveryTimeFailsWithTheFirstError() throws {
    try withTestDatabase { db in
      try db.connection.executeScript(
        "CREATE TABLE t (id int, v int); CREATE TABLE other (x int); INSERT INTO t SELECT g, g FROM generate_series(1, 1000) g")
      let holder = try db.connect(applicationName: "old snapshot")
      try holder.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
      try holder.execute("SELECT count(*) FROM other")
      let lp = try testPlan("t_cancel3", [indexStep(name: "t_v_idx", columns: "v")])
      let log = Lines()
      let dsn = db.conninfo
      let work = BackgroundWork {
        let executor = Executor(
          dsn: dsn, options: ExecutorOptions(progressInterval: 0.2), output: { _ in }, log: { log.append($0) })
        try executor.apply(phase: .expand, intents: nil, plans: [lp])
      }
      var cancelled: Set<Int64> = []
      for _ in 0..<3 {
        // Each attempt is a new build (a new index oid), waiting for the old snapshot.
        try db.connection.waitUntil(
          """
          SELECT EXISTS (SELECT 1 FROM pg_stat_progress_create_index
                         WHERE current_locker_pid = $1::int AND NOT (index_relid::int8 = ANY($2::int8[])))
          """, [String(holder.backendPID), "{\(cancelled.map(String.init).joined(separator: ","))}"])
        let row = try #require(
          try db.connection.execute(
            "SELECT pid, index_relid::int8 AS oid FROM pg_stat_progress_create_index WHERE current_locker_pid = $1::int",
            [String(holder.backendPID)]
          ).first)
        cancelled.insert(Int64(try #require(try row.int("oid"))))
        #expect(try db.connection.execute("SELECT pg_cancel_backend($1::int)", [row["pid"]]).scalarBool() == true)
      }
      #expect(throws: ExecutorError.self) { try work.wait(timeout: 60) }
      #expect(log.all.contains { $0.contains("build attempt 1 failed") }, "\(log.all)")
      #expect(log.all.contains { $0.contains("build attempt 2 failed") }, "\(log.all)")
      #expect(!log.all.contains { $0.contains("build attempt 3 failed") }, "\(log.all)")
      #expect(try Catalog(db.connection).indexState(name: QualifiedName(schema: "public", "t_v_idx")) == nil)
      let journal = try Journal.steps(intent: "t_cancel3", on: db.connection)["t_cancel3"] ?? [:]
      #expect(journal["expand/01-index"]?.state == .failed)
      #expect(journal["expand/01-index"]?.errorSQLState == "57014")
      #expect(journal["expand/01-index"]?.errorMessage == "canceling statement due to user request")
      try holder.execute("ROLLBACK")
      holder.close()
    }
  }

  /// A unique build over duplicate data fails at once, naming the index, the table and the
  /// duplicate key from the error detail; no invalid index is left behind; the journal keeps the
  /// original error.
  @Test(.enabled(if: TestServer.shouldRun))
  func uniqueBuildOnDuplicatesFailsCleanly() throws {
    try withTestDatabase { db in
      try db.connection.executeScript("CREATE TABLE t (id int, name text); INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'a')")
      let lp = try testPlan("t_dup", [indexStep(name: "t_name_key", columns: "name", unique: true)])
      let log = Lines()
      let output = Lines()
      let executor = makeExecutor(db, output: output, log: log)
      let error = #expect(throws: ExecutorError.self) { try executor.apply(phase: .expand, intents: nil, plans: [lp]) }
      let text = "\(try #require(error))"
      #expect(text.contains("t_dup expand/01-index failed"), "\(text)")
      #expect(
        text.contains("could not build unique index public.t_name_key on public.t: Key (name)=(a) is duplicated"), "\(text)")
      #expect(text.contains("SQLSTATE 23505"))
      #expect(!log.all.contains { $0.contains("build attempt") }, "a duplicate key is not retried: \(log.all)")
      #expect(try Catalog(db.connection).indexState(name: QualifiedName(schema: "public", "t_name_key")) == nil)
      #expect(try db.connection.execute("SELECT count(*) FROM pg_index WHERE NOT indisvalid").scalarInt() == 0)
      let journal = try Journal.steps(intent: "t_dup", on: db.connection)["t_dup"] ?? [:]
      #expect(journal["expand/01-index"]?.state == .failed)
      #expect(journal["expand/01-index"]?.errorSQLState == "23505")
      #expect(journal["expand/01-index"]?.errorDetail == "Key (name)=(a) is duplicated.")
    }
  }

  /// A valid index of the same name with another definition is not taken as done, nor dropped.
  @Test(.enabled(if: TestServer.shouldRun))
  func existingIndexWithAnotherDefinitionIsRefused() throws {
    try withTestDatabase { db in
      try db.connection.executeScript("CREATE TABLE t (id int, v int, w int); CREATE INDEX t_v_idx ON t (w)")
      let lp = try testPlan("t_def", [indexStep(name: "t_v_idx", columns: "v")])
      let error = #expect(throws: ExecutorError.self) { try makeExecutor(db).apply(phase: .expand, intents: nil, plans: [lp]) }
      #expect("\(try #require(error))".contains("already exists with another definition"))
      #expect(
        try Catalog(db.connection).indexState(name: QualifiedName(schema: "public", "t_v_idx"))?.definition.contains("(w)")
          == true)
      // The same definition (spelled differently) is done without a build.
      try db.connection.executeScript("DROP INDEX t_v_idx; CREATE INDEX t_v_idx ON public.t USING btree (v)")
      let output = Lines()
      try makeExecutor(db, output: output).apply(phase: .expand, intents: nil, plans: [lp])
      #expect(output.all.contains { $0.contains("already complete in the catalog") }, "\(output.all)")
    }
  }

  /// Invalid `_ccnew` leftovers of an interrupted `REINDEX CONCURRENTLY` are dropped before the build.
  @Test(.enabled(if: TestServer.shouldRun))
  func reindexLeftoversAreDropped() throws {
    try withTestDatabase { db in
      try db.connection.executeScript(
        """
        CREATE TABLE t (id int, v int);
        CREATE INDEX t_v_idx_ccnew ON t (v);
        UPDATE pg_index SET indisvalid = false WHERE indexrelid = 't_v_idx_ccnew'::regclass;
        CREATE INDEX t_v_idx_ccnew_keep ON t (v);
        """)
      let log = Lines()
      let lp = try testPlan("t_cc", [indexStep(name: "t_v_idx", columns: "v")])
      try makeExecutor(db, log: log).apply(phase: .expand, intents: nil, plans: [lp])
      #expect(log.all.contains { $0.contains("dropping t_v_idx_ccnew, an invalid leftover") }, "\(log.all)")
      #expect(try Catalog(db.connection).relationKind(QualifiedName(schema: "public", "t_v_idx_ccnew")) == nil)
      #expect(try Catalog(db.connection).relationKind(QualifiedName(schema: "public", "t_v_idx_ccnew_keep")) == .index)
      #expect(try Catalog(db.connection).indexState(name: QualifiedName(schema: "public", "t_v_idx"))?.isUsable == true)
    }
  }

  /// A `REINDEX INDEX CONCURRENTLY` step: leftovers of an earlier interrupted rebuild are dropped
  /// first; a rebuild cancelled from another session leaves a `_ccnew` index, which is dropped before
  /// the rebuild runs again; the index ends valid, rebuilt (a new oid).
  @Test(.enabled(if: TestServer.shouldRun))
  func reindexStepCleansLeftoversAndRetries() throws {
    try withTestDatabase { db in
      try db.connection.executeScript(
        """
        CREATE TABLE t (id int, v int); CREATE TABLE other (x int);
        INSERT INTO t SELECT g, g FROM generate_series(1, 1000) g;
        CREATE INDEX t_v_idx ON t (v);
        CREATE INDEX t_v_idx_ccold ON t (v);
        UPDATE pg_index SET indisvalid = false WHERE indexrelid = 't_v_idx_ccold'::regclass;
        """)
      let oid = try db.connection.execute("SELECT 't_v_idx'::regclass::oid::int8").scalarInt()
      let t = QualifiedName(schema: "public", "t")
      let step = Step(
        id: "expand/01-rebuild", phase: .expand, change: 1, operation: "sql", summary: "rebuild",
        sql: ["REINDEX INDEX CONCURRENTLY public.t_v_idx"], action: .rebuildIndex(QualifiedName(schema: "public", "t_v_idx")),
        locks: [LockedRelation(t, .shareUpdateExclusive)],
        cost: .scanNoWriteBlock, undo: nil,
        postconditions: [.indexExists(QualifiedName(schema: "public", "t_v_idx"), on: t, unique: false)])
      let lp = try testPlan("t_reindex", [step])
      let holder = try db.connect(applicationName: "old snapshot")
      try holder.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
      try holder.execute("SELECT count(*) FROM other")
      let log = Lines()
      let output = Lines()
      let dsn = db.conninfo
      let work = BackgroundWork {
        let executor = Executor(
          dsn: dsn, options: ExecutorOptions(progressInterval: 0.2), output: { output.append($0) }, log: { log.append($0) })
        try executor.apply(phase: .expand, intents: nil, plans: [lp])
      }
      try db.connection.waitUntil(
        "SELECT EXISTS (SELECT 1 FROM pg_stat_progress_create_index WHERE current_locker_pid = $1::int)",
        [String(holder.backendPID)])
      let pid = try #require(try builderPID(on: "t", db.connection))
      #expect(try db.connection.execute("SELECT pg_cancel_backend($1::int)", [String(pid)]).scalarBool() == true)
      // The retry waits for the old snapshot again; end it once the failure is seen.
      let deadline = Date().addingTimeInterval(20)
      while !log.all.contains(where: { $0.contains("rebuild attempt 1 failed") }) && Date() < deadline {
        Thread.sleep(forTimeInterval: 0.02)
      }
      try holder.execute("ROLLBACK")
      try work.wait(timeout: 60)
      #expect(log.all.contains { $0.contains("dropping t_v_idx_ccold, an invalid leftover of an earlier REINDEX") }, "\(log.all)")
      #expect(log.all.contains { $0.contains("dropping t_v_idx_ccnew, an invalid leftover of the failed rebuild") }, "\(log.all)")
      #expect(output.all.contains { $0.contains("rebuilt on attempt 2") }, "\(output.all)")
      #expect(try Catalog(db.connection).indexState(name: QualifiedName(schema: "public", "t_v_idx"))?.isUsable == true)
      #expect(try db.connection.execute("SELECT 't_v_idx'::regclass::oid::int8").scalarInt() != oid)
      #expect(try db.connection.execute("SELECT count(*) FROM pg_index WHERE NOT indisvalid").scalarInt() == 0)
      let journal = try Journal.steps(intent: "t_reindex", on: db.connection)["t_reindex"] ?? [:]
      #expect(journal["expand/01-rebuild"]?.state == .done)
      holder.close()
    }
  }

  /// A `DROP INDEX CONCURRENTLY` step waits for a reader without a lock timeout; cancelled from
  /// another session it leaves the index invalid, and is dropped again; a rerun is done at once.
  @Test(.enabled(if: TestServer.shouldRun))
  func cancelledDropIsDroppedAgain() throws {
    try withTestDatabase { db in
      try db.connection.executeScript("CREATE TABLE t (id int, v int); CREATE INDEX t_v_idx ON t (v)")
      let step = Step(
        id: "contract/01-drop-index", phase: .contract, change: 1, operation: "drop_index", summary: "drop",
        sql: ["DROP INDEX CONCURRENTLY t_v_idx"], action: .dropIndex(QualifiedName("t_v_idx")),
        locks: [LockedRelation(QualifiedName(schema: "public", "t"), .shareUpdateExclusive)], cost: .scanNoWriteBlock, undo: nil,
        postconditions: [.indexAbsent(QualifiedName("t_v_idx"))])
      let lp = try testPlan("t_drop", [step])
      let reader = try db.connect(applicationName: "reader")
      try reader.execute("BEGIN")
      try reader.execute("SELECT count(*) FROM t")
      let log = Lines()
      let output = Lines()
      let dsn = db.conninfo
      let work = BackgroundWork {
        let executor = Executor(
          dsn: dsn, options: ExecutorOptions(lockWait: 10), output: { output.append($0) }, log: { log.append($0) })
        try executor.apply(phase: .contract, intents: nil, plans: [lp])
      }
      try db.connection.waitUntil(
        """
        SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database()
                       AND query LIKE 'DROP INDEX CONCURRENTLY%' AND wait_event_type = 'Lock')
        """)
      let pid = try #require(
        try db.connection.execute(
          "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'DROP INDEX CONCURRENTLY%'"
        ).scalarInt())
      #expect(try db.connection.execute("SELECT pg_cancel_backend($1::int)", [String(pid)]).scalarBool() == true)
      let deadline = Date().addingTimeInterval(20)
      while !log.all.contains(where: { $0.contains("drop attempt 1 failed") }) && Date() < deadline {
        Thread.sleep(forTimeInterval: 0.02)
      }
      #expect(log.all.contains { $0.contains("drop attempt 1 failed") && $0.contains("(left invalid)") }, "\(log.all)")
      try reader.execute("ROLLBACK")
      try work.wait(timeout: 60)
      #expect(output.all.contains { $0.contains("dropped on attempt 2") }, "\(output.all)")
      #expect(try Catalog(db.connection).relationKind(QualifiedName(schema: "public", "t_v_idx")) == nil)
      let journal = try Journal.steps(intent: "t_drop", on: db.connection)["t_drop"] ?? [:]
      #expect(journal["contract/01-drop-index"]?.state == .done)
      reader.close()
    }
  }

  /// SIGKILL of the runner during a build: the server-side build goes on; the rerun finds it in the
  /// progress view and waits for it (no second build), then records the step done.
  @Test(.enabled(if: TestServer.shouldRun))
  func killedMidBuildRerunWaitsForTheServerBuild() throws {
    _ = try pgphaseBinary()
    try withTestDatabase { db in
      try db.connection.executeScript("CREATE TABLE t (id int, v int); INSERT INTO t SELECT g, g FROM generate_series(1, 1000) g")
      let holder = try db.connect(applicationName: "holder")
      try holder.execute("BEGIN")
      try holder.execute("INSERT INTO t VALUES (0, 0)")
      let lp = try testPlan("t_kill", [indexStep(name: "t_v_idx", columns: "v")])
      let dir = try writePlans([lp])
      defer { try? FileManager.default.removeItem(at: dir) }
      let process = try startPGPhase(["apply", "--phase", "expand", "--dsn", db.conninfo, dir.path])
      try db.connection.waitUntil(
        "SELECT EXISTS (SELECT 1 FROM pg_stat_progress_create_index WHERE current_locker_pid = $1::int)",
        [String(holder.backendPID)])
      let firstBuilder = try #require(try builderPID(on: "t", db.connection))
      kill(process.processIdentifier, SIGKILL)
      process.waitUntilExit()
      // The client is gone; its build still waits in the server.
      try db.connection.waitUntil(
        "SELECT NOT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = \(thisDatabase))")
      #expect(try builderPID(on: "t", db.connection) == firstBuilder)
      let dsn = db.conninfo
      let path = dir.path
      let rerun = BackgroundWork {
        try runPGPhase(["apply", "--phase", "expand", "--progress-interval", "0.2s", "--dsn", dsn, path])
      }
      // The rerun holds the runner lock and waits; the old build is the only one.
      try db.connection.waitUntil(
        "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = \(thisDatabase))")
      Thread.sleep(forTimeInterval: 0.5)
      #expect(
        try db.connection.execute("SELECT count(*) FROM pg_stat_progress_create_index WHERE datname = current_database()")
          .scalarInt() == 1)
      try holder.execute("COMMIT")
      let result = try rerun.wait(timeout: 60)
      #expect(result.status == 0, "\(result.stderr)")
      #expect(result.stderr.contains("a build of public.t_v_idx is still running in pid \(firstBuilder)"), "\(result.stderr)")
      #expect(result.stdout.contains("already complete in the catalog"), "\(result.stdout)")
      #expect(try Catalog(db.connection).indexState(name: QualifiedName(schema: "public", "t_v_idx"))?.isUsable == true)
      let journal = try Journal.steps(intent: "t_kill", on: db.connection)["t_kill"] ?? [:]
      #expect(journal["expand/01-index"]?.state == .done)
      #expect(try Verifier.verify(on: db.connection).isClean)
      holder.close()
    }
  }

  /// SIGKILL of the runner and of its server-side build: an invalid index and a step left running.
  /// verify reports both; `pgphase repair` drops the invalid index, builds it again and records the
  /// step done; verify is then clean and a second repair does nothing.
  @Test(.enabled(if: TestServer.shouldRun))
  func killedRunnerAndBuildAreRepaired() throws {
    _ = try pgphaseBinary()
    try withTestDatabase { db in
      try db.connection.executeScript("CREATE TABLE t (id int, v int); INSERT INTO t SELECT g, g FROM generate_series(1, 1000) g")
      let holder = try db.connect(applicationName: "holder")
      try holder.execute("BEGIN")
      try holder.execute("INSERT INTO t VALUES (0, 0)")
      let lp = try testPlan("t_killed", [indexStep(name: "t_v_idx", columns: "v")])
      let dir = try writePlans([lp])
      defer { try? FileManager.default.removeItem(at: dir) }
      let process = try startPGPhase(["apply", "--phase", "expand", "--dsn", db.conninfo, dir.path])
      try db.connection.waitUntil(
        "SELECT EXISTS (SELECT 1 FROM pg_stat_progress_create_index WHERE current_locker_pid = $1::int)",
        [String(holder.backendPID)])
      let builder = try #require(try builderPID(on: "t", db.connection))
      kill(process.processIdentifier, SIGKILL)
      process.waitUntilExit()
      #expect(try db.connection.execute("SELECT pg_terminate_backend($1::int)", [String(builder)]).scalarBool() == true)
      try db.connection.waitUntil("SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1::int)", [String(builder)])
      try holder.execute("COMMIT")
      #expect(try Catalog(db.connection).indexState(name: QualifiedName(schema: "public", "t_v_idx"))?.valid == false)

      let verify = try runPGPhase(["verify", "--dsn", db.conninfo])
      #expect(verify.status == 1)
      #expect(verify.stdout.contains("UNRESOLVED t_killed expand/01-index: left running by"), "\(verify.stdout)")
      #expect(verify.stdout.contains("INVALID INDEX t_killed expand/01-index: index t_v_idx on t is invalid"), "\(verify.stdout)")
      let repair = try runPGPhase(["repair", "--dsn", db.conninfo])
      #expect(repair.status == 0, "\(repair.stdout)\(repair.stderr)")
      #expect(repair.stdout.contains("repaired: t_killed expand/01-index: finished: index public.t_v_idx is built and valid"))
      #expect(repair.stderr.contains("exists but is invalid"), "\(repair.stderr)")
      #expect(repair.stdout.contains("no drift"), "\(repair.stdout)")
      #expect(try Catalog(db.connection).indexState(name: QualifiedName(schema: "public", "t_v_idx"))?.isUsable == true)
      let journal = try Journal.steps(intent: "t_killed", on: db.connection)["t_killed"] ?? [:]
      #expect(journal["expand/01-index"]?.state == .done)
      let again = try runPGPhase(["repair", "--json", "--dsn", db.conninfo])
      #expect(again.status == 0)
      let report = try JSONDecoder().decode(RepairReport.self, from: Data(again.stdout.utf8))
      let object = try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [String: Any]
      #expect(object?["nothing_to_do"] as? Bool == true)
      #expect(report.nothingToDo)
      #expect(report.verify.isClean)
      holder.close()
    }
  }

  /// The seed 002 scenario: runner A holds the runner lock and builds an index while runners B–H
  /// poll for the lock. Waiting runners hold no snapshot (never idle in transaction), so A's build
  /// never waits for them: no deadlock, no invalid index, and every runner ends well.
  @Test(.enabled(if: TestServer.shouldRun))
  func waitingRunnersHoldNoSnapshotSoTheBuildNeverWaitsForThem() throws {
    _ = try pgphaseBinary()
    try withTestDatabase { db in
      try db.connection.execute(
        "CREATE TABLE big AS SELECT g AS id, ((g::int8 * 7919) % 1000003)::int AS v FROM generate_series(1, 1500000) g")
      try db.connection.executeAlone("VACUUM ANALYZE big")
      // The build alone, for comparison.
      var start = Date()
      try db.connection.executeAlone("CREATE INDEX CONCURRENTLY big_v_probe ON big (v)")
      let alone = Date().timeIntervalSince(start)
      try db.connection.executeAlone("DROP INDEX big_v_probe")
      let lp = try testPlan("t_seed002", [indexStep(name: "big_v_idx", table: "big", columns: "v")])
      let dir = try writePlans([lp])
      defer { try? FileManager.default.removeItem(at: dir) }
      let args = ["apply", "--phase", "expand", "--dsn", db.conninfo, dir.path]
      // A writer holds A's build at its start until B–H are all polling, so the runners overlap
      // the whole build whatever the machine's speed; then it ends and the build runs.
      let writer = try db.connect(applicationName: "writer")
      try writer.execute("BEGIN")
      try writer.execute("INSERT INTO big VALUES (0, 0)")
      let a = BackgroundWork { try runPGPhase(args) }
      try db.connection.waitUntil(
        "SELECT EXISTS (SELECT 1 FROM pg_stat_progress_create_index WHERE current_locker_pid = $1::int)",
        [String(writer.backendPID)], timeout: 30)
      let builder = try #require(try builderPID(on: "big", db.connection))
      let others = (0..<7).map { _ in BackgroundWork { try runPGPhase(args) } }
      try db.connection.waitUntil(
        """
        SELECT count(DISTINCT application_name) >= 8 FROM pg_stat_activity
        WHERE datname = current_database() AND application_name ~ '^pgphase apply [^ ]+$'
        """, timeout: 30)
      start = Date()
      try writer.execute("ROLLBACK")
      // While A builds: the waiting runners are never idle in a transaction, and the build never
      // waits for one of them.
      var samples = 0
      var lockers: [Int32: Int] = [:]
      while try builderPID(on: "big", db.connection) != nil {
        let row = try db.connection.execute(
          """
          SELECT (SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'pgphase apply%'
                    AND datname = current_database() AND pid <> $1::int AND state LIKE 'idle in transaction%') AS idle_in_tx,
                 (SELECT string_agg(pid || ' ' || application_name || ': ' || query, '; ') FROM pg_stat_activity
                   WHERE application_name LIKE 'pgphase apply%' AND datname = current_database() AND pid <> $1::int
                     AND state LIKE 'idle in transaction%') AS who,
                 (SELECT current_locker_pid FROM pg_stat_progress_create_index WHERE pid = $1::int) AS locker
          """, [String(builder)]
        ).first
        #expect(try row?.int("idle_in_tx") == 0, "idle in transaction: \(row?["who"] ?? "")")
        if let locker = try row?.int("locker"), locker != 0, Int32(locker) != writer.backendPID {
          lockers[Int32(locker), default: 0] += 1
        }
        samples += 1
        Thread.sleep(forTimeInterval: 0.02)
      }
      let results = try [a.wait(timeout: 120)] + others.map { try $0.wait(timeout: 120) }
      let total = Date().timeIntervalSince(start)
      print(
        "seed 002: build alone \(String(format: "%.2f", alone))s; from the writer's end until A and the 7 waiting runners all finished \(String(format: "%.2f", total))s; \(samples) samples"
      )
      #expect(samples > 0)
      // A poll in flight (a millisecond) may be seen once; a real wait would be seen in many samples.
      #expect(lockers.values.allSatisfy { $0 < 3 }, "the build waited for sessions \(lockers)")
      for r in results { #expect(r.status == 0, "exit \(r.status): \(r.stderr)") }
      #expect(results.filter { $0.stdout.contains("expand/01-index done in") }.count == 1)
      #expect(results.dropFirst().allSatisfy { $0.stderr.contains("waiting for the pgphase runner lock") })
      #expect(try Catalog(db.connection).indexState(name: QualifiedName(schema: "public", "big_v_idx"))?.isUsable == true)
      #expect(try db.connection.execute("SELECT count(*) FROM pg_index WHERE NOT indisvalid").scalarInt() == 0)
      let journal = try Journal.steps(intent: "t_seed002", on: db.connection)["t_seed002"] ?? [:]
      #expect(journal["expand/01-index"]?.state == .done)
      #expect(journal["expand/01-index"]?.attempts == 1)
      writer.close()
    }
  }
}
