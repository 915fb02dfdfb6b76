import Foundation
import PGPhaseExecutor
import PGPhaseModel
import PGPhasePostgres
import PGPhaseTestSupport
import Testing

let plansDir = repositoryRoot.appendingPathComponent("plans").path
let schemaFile = repositoryRoot.appendingPathComponent("examples/schema.sql").path

/// Collects lines written from any thread.
final class Lines: @unchecked Sendable {
  // Safety: guarded by `lock`.
  private let lock = NSLock()
  private var items: [String] = []
  func append(_ line: String) {
    lock.lock()
    items.append(line)
    lock.unlock()
  }
  func clear() {
    lock.lock()
    items.removeAll()
    lock.unlock()
  }
  var all: [String] {
    lock.lock()
    defer { lock.unlock() }
    return items
  }
}

func makeExecutor(_ db: TestDatabase, options: ExecutorOptions = ExecutorOptions(), output: Lines = Lines(), log: Lines = Lines())
  -> Executor
{
  Executor(dsn: db.conninfo, options: options, output: { output.append($0) }, log: { log.append($0) })
}

/// A one-phase plan made of the given steps.
func testPlan(_ intent: String, lockTimeout: String = "1s", _ steps: [Step]) throws -> LoadedPlan {
  let phases = Phase.allCases.map { phase in PhasePlan(phase: phase, steps: steps.filter { $0.phase == phase }) }
  return try LoadedPlan(
    Plan(intent: intent, description: nil, source: "", lockTimeout: lockTimeout, backfillBatchSize: nil, phases: phases))
}

func sqlStep(_ id: String, _ sql: [String], locks: [LockedRelation] = [], postconditions: [Postcondition] = [.unchecked]) -> Step
{
  Step(
    id: id, phase: Phase(rawValue: String(id.prefix { $0 != "/" })) ?? .expand, change: 1, operation: "sql", summary: id,
    sql: sql, action: .sql(transactional: true, concurrently: false), locks: locks, cost: .unknown, undo: nil,
    postconditions: postconditions)
}

/// Writes `plans` as `<dir>/<intent>/plan.json`, the layout `pgphase apply` reads.
func writePlans(_ plans: [LoadedPlan], to dir: URL) throws {
  for lp in plans {
    let folder = dir.appendingPathComponent(lp.plan.intent)
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    try Data(lp.canonicalJSON.utf8).write(to: folder.appendingPathComponent("plan.json"))
  }
}

/// Writes `plans` as a plans folder under a fresh temporary directory.
func writePlans(_ plans: [LoadedPlan]) throws -> URL {
  let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pgphase-plans-\(UUID().uuidString)")
  try writePlans(plans, to: dir)
  return dir
}

@Suite("Executor", .serialized)
struct ExecutorTests {
  /// (a) Every example plan, intent by intent and phase by phase, on the example schema: the
  /// journal says done and every done step's postconditions hold in the catalog.
  @Test(.enabled(if: TestServer.shouldRun))
  func appliesEveryExamplePlanAndJournalAgreesWithCatalog() throws {
    try withTestDatabase { db in
      try db.connection.runSQLFile(schemaFile)
      let plans = try LoadedPlan.loadAll(from: plansDir)
      #expect(plans.count >= 10)
      let output = Lines()
      let executor = makeExecutor(db, output: output)
      var checked = 0
      for lp in plans {
        for phase in Phase.allCases {
          // One step at a time (a plan cut after that step, which the executor accepts since only
          // steps not yet run differ), so each step's postconditions are checked right after it,
          // before a later step of the same phase changes the same object.
          let steps = lp.plan.steps(in: phase)
          for (k, step) in steps.enumerated() {
            var cut = lp.plan
            cut.phases = Phase.allCases.map { p in
              PhasePlan(phase: p, steps: p < phase ? lp.plan.steps(in: p) : p == phase ? Array(steps.prefix(k + 1)) : [])
            }
            try executor.apply(phase: phase, intents: [lp.plan.intent], plans: [try LoadedPlan(cut)])
            let journal = try Journal.steps(intent: lp.plan.intent, on: db.connection)[lp.plan.intent] ?? [:]
            #expect(journal[step.id]?.state == .done, "\(lp.plan.intent) \(step.id)")
            #expect(journal[step.id]?.attempts == 1, "\(lp.plan.intent) \(step.id)")
            for p in step.postconditions {
              let result = try PostconditionChecker.check(p, on: db.connection)
              #expect(result == .holds, "\(lp.plan.intent) \(step.id) \(p.kind.rawValue): \(result)")
              checked += 1
            }
          }
          // The whole plan then finds the phase done.
          try executor.apply(phase: phase, intents: [lp.plan.intent], plans: plans)
        }
      }
      #expect(checked > 50)
      // A second runner finds everything done and says so.
      let again = Lines()
      try makeExecutor(db, output: again).advance(intents: nil, plans: plans)
      #expect(again.all == ["nothing to do: every intent is fully applied"])
      // status agrees.
      let statuses = try StatusReader.read(plans: plans, on: db.connection)
      #expect(
        statuses.allSatisfy { $0.phases.allSatisfy { $0.state == ($0.steps == 0 ? "no steps" : "done") } && $0.active.isEmpty })
      #expect(output.all.contains { $0.hasPrefix("20261120_incident_severity expand/01-add-column-severity done in ") })
    }
  }

  /// Intents apply in id order: expand and backfill of an intent wait until every earlier intent
  /// is backfilled (20261125's unique index needs 20261124's de-duplicating backfill), contracts
  /// go in id order. `apply` skips (or, when named, refuses) what must wait; `advance --to` runs
  /// everything in that order.
  @Test(.enabled(if: TestServer.shouldRun))
  func intentsApplyInIdOrder() throws {
    try withTestDatabase { db in
      try db.connection.runSQLFile(schemaFile)
      let plans = try LoadedPlan.loadAll(from: plansDir)
      let output = Lines()
      let executor = makeExecutor(db, output: output)
      try executor.apply(phase: .expand, intents: nil, plans: plans)
      var journal = try Journal.steps(intent: nil, on: db.connection)
      #expect(Set(journal.keys) == ["20261120_incident_severity"])
      #expect(
        output.all.contains(
          "20261121_checks_endpoint expand waits for 20261120_incident_severity: its backfill phase is not done (intents apply in id order; `pgphase advance --to backfill` runs them in that order)"
        ))
      do {
        try executor.apply(phase: .expand, intents: ["20261125_unique_check_names"], plans: plans)
        Issue.record("expand of 20261125 before earlier intents were backfilled was accepted")
      } catch let e as ExecutorError {
        guard case .phaseOrder(let problems) = e else {
          Issue.record("expected a phase-order refusal, got \(e)")
          return
        }
        #expect(problems.map(\.intent) == ["20261125_unique_check_names"])
        #expect("\(e)".contains("20261125_unique_check_names expand waits for 20261120_incident_severity"))
      }
      try executor.advance(intents: nil, to: .backfill, plans: plans)
      journal = try Journal.steps(intent: nil, on: db.connection)
      for lp in plans {
        for step in lp.plan.allSteps {
          let expected: StepState? = step.phase == .contract ? nil : .done
          #expect(journal[lp.plan.intent]?[step.id]?.state == expected, "\(lp.plan.intent) \(step.id)")
        }
      }
      let unique = try Catalog(db.connection).indexState(name: QualifiedName(schema: "public", "checks_name_key"))
      #expect(unique?.isUsable == true)
      output.clear()
      try executor.apply(phase: .contract, intents: nil, plans: plans)
      let contracted = output.all.filter { $0.contains(" contract/") }.map { String($0.prefix { $0 != " " }) }
      #expect(contracted == contracted.sorted() && !contracted.isEmpty, "\(output.all)")
      output.clear()
      try executor.advance(intents: nil, to: .contract, plans: plans)
      #expect(output.all == ["nothing to do: every intent is at least through contract"])
    }
  }

  /// Phase order is enforced per intent, and a changed plan is refused once its steps ran.
  @Test(.enabled(if: TestServer.shouldRun))
  func phaseOrderAndPlanChanges() throws {
    try withTestDatabase { db in
      try db.connection.runSQLFile(schemaFile)
      let id = "20261121_checks_endpoint"
      // Alone: with the other examples, id order would make it wait for 20261120 (tested below).
      let plans = try LoadedPlan.loadAll(from: plansDir).filter { $0.plan.intent == id }
      let executor = makeExecutor(db)
      #expect(throws: ExecutorError.self) { try executor.apply(phase: .contract, intents: [id], plans: plans) }
      try executor.apply(phase: .expand, intents: [id], plans: plans)
      do {
        try executor.apply(phase: .contract, intents: [id], plans: plans)
        Issue.record("contract before backfill was accepted")
      } catch let e as ExecutorError {
        #expect(e == .phaseOrder([PhaseOrderProblem(intent: id, phase: .contract, reason: .earlierPhase(.backfill))]))
        #expect("\(e)".contains(id) && "\(e)".contains("backfill"))
      }
      // Edit a done step: refused.
      var edited = plans.first { $0.plan.intent == id }!.plan
      edited.phases[0].steps[0].sql[0] += " -- edited"
      let editedPlans = plans.map { $0.plan.intent == id ? try! LoadedPlan(edited) : $0 }
      #expect(throws: ExecutorError.self) { try executor.apply(phase: .backfill, intents: [id], plans: editedPlans) }
      // Edit a step not yet run: accepted.
      var later = plans.first { $0.plan.intent == id }!.plan
      later.phases[2].steps[0].summary += " (reworded)"
      later.phases[2].steps[0].sql[0] += " "
      let laterPlans = plans.map { $0.plan.intent == id ? try! LoadedPlan(later) : $0 }
      try executor.apply(phase: .backfill, intents: [id], plans: laterPlans)
      // Rollback undoes backfill and expand; then expand can run again.
      try executor.rollback(intent: id, plans: laterPlans)
      let journal = try Journal.steps(intent: id, on: db.connection)[id] ?? [:]
      #expect(journal.values.allSatisfy { $0.state == .undone })
      #expect(try Catalog(db.connection).column("endpoint", of: QualifiedName(schema: "public", "checks")) == nil)
      try executor.apply(phase: .expand, intents: [id], plans: laterPlans)
      try executor.apply(phase: .backfill, intents: [id], plans: laterPlans)
      try executor.apply(phase: .contract, intents: [id], plans: laterPlans)
      #expect(throws: ExecutorError.self) { try executor.rollback(intent: id, plans: laterPlans) }
    }
  }

  /// (b) A transactional step whose second statement fails leaves nothing of the first, and the
  /// journal records the original error.
  @Test(.enabled(if: TestServer.shouldRun))
  func transactionalStepIsAtomic() throws {
    try withTestDatabase { db in
      let lp = try testPlan(
        "t_atomic",
        [
          sqlStep("expand/01-ok", ["CREATE TABLE first_ok (x int)"]),
          sqlStep("expand/02-two", ["CREATE TABLE atom_a (x int)", "SELECT 1/0"]),
        ])
      let executor = makeExecutor(db)
      do {
        try executor.apply(phase: .expand, intents: nil, plans: [lp])
        Issue.record("expected a failure")
      } catch let e as ExecutorError {
        guard case .stepFailed(_, let step, false, .postgres(let error)) = e else {
          Issue.record("expected a failed step, got \(e)")
          return
        }
        #expect(step == "expand/02-two" && error.sqlState == "22012")
      }
      let journal = try Journal.steps(intent: "t_atomic", on: db.connection)["t_atomic"] ?? [:]
      #expect(journal["expand/01-ok"]?.state == .done)
      let failed = try #require(journal["expand/02-two"])
      #expect(failed.state == .failed)
      #expect(failed.errorSQLState == "22012")
      #expect(failed.errorMessage == "division by zero")
      #expect(failed.errorStatement == "SELECT 1/0")
      #expect(failed.attempts == 1)
      #expect(try db.connection.execute("SELECT to_regclass('atom_a') IS NULL").scalarBool() == true)
      #expect(try db.connection.execute("SELECT to_regclass('first_ok') IS NOT NULL").scalarBool() == true)
      // Fixed plan (the failed step's SQL may change): reruns only the failed step.
      let fixed = try testPlan(
        "t_atomic",
        [
          sqlStep("expand/01-ok", ["CREATE TABLE first_ok (x int)"]),
          sqlStep("expand/02-two", ["CREATE TABLE atom_a (x int)", "SELECT 1/1"]),
        ])
      try executor.apply(phase: .expand, intents: nil, plans: [fixed])
      let after = try Journal.steps(intent: "t_atomic", on: db.connection)["t_atomic"] ?? [:]
      #expect(after["expand/02-two"]?.state == .done)
      #expect(after["expand/02-two"]?.attempts == 2)
      #expect(after["expand/02-two"]?.errorMessage == nil)
    }
  }

  /// A failed concurrent unique build leaves an invalid index; the next run drops it and
  /// rebuilds once the data is fixed. A step left 'running' whose postconditions hold is
  /// resolved as done without running again.
  @Test(.enabled(if: TestServer.shouldRun))
  func invalidIndexIsDroppedAndRebuiltAndRunningIsResolvedByCatalog() throws {
    try withTestDatabase { db in
      try db.connection.executeScript("CREATE TABLE t (id int, name text); INSERT INTO t VALUES (1, 'a'), (2, 'a'), (3, 'b');")
      let table = QualifiedName(schema: "public", "t")
      let step = Step(
        id: "expand/01-unique-name", phase: .expand, change: 1, operation: "create_index", summary: "",
        sql: ["CREATE UNIQUE INDEX CONCURRENTLY t_name_key ON public.t (name)"],
        action: .buildIndex(
          IndexBuild(index: QualifiedName(schema: "public", "t_name_key"), table: table, unique: true, definition: "(name)")),
        locks: [LockedRelation(table, .shareUpdateExclusive)], cost: .scanNoWriteBlock,
        undo: Undo(sql: ["DROP INDEX CONCURRENTLY IF EXISTS public.t_name_key"], transactional: false),
        postconditions: [.indexExists(QualifiedName(schema: "public", "t_name_key"), on: table, unique: true)])
      let lp = try testPlan("t_index", [step])
      let log = Lines()
      let executor = makeExecutor(db, log: log)
      #expect(throws: ExecutorError.self) { try executor.apply(phase: .expand, intents: nil, plans: [lp]) }
      var journal = try Journal.steps(intent: "t_index", on: db.connection)["t_index"] ?? [:]
      #expect(journal[step.id]?.state == .failed)
      #expect(journal[step.id]?.errorSQLState == "23505")
      // The failed build's invalid index is dropped at once: none is left behind.
      #expect(try Catalog(db.connection).indexState(name: QualifiedName(schema: "public", "t_name_key")) == nil)
      try db.connection.execute("DELETE FROM t WHERE id = 2")
      try executor.apply(phase: .expand, intents: nil, plans: [lp])
      #expect(log.all.contains { $0.contains("invalid") && $0.contains("dropping") })
      #expect(try Catalog(db.connection).indexState(name: QualifiedName(schema: "public", "t_name_key"))?.isUsable == true)
      journal = try Journal.steps(intent: "t_index", on: db.connection)["t_index"] ?? [:]
      #expect(journal[step.id]?.state == .done)
      #expect(journal[step.id]?.attempts == 2)
      // Pretend a runner died after the build but before recording it: resolved from the catalog.
      try db.connection.execute("UPDATE pgphase.steps SET state = 'running' WHERE step_id = $1", [step.id])
      let output = Lines()
      try makeExecutor(db, output: output).apply(phase: .expand, intents: nil, plans: [lp])
      #expect(output.all.contains { $0.contains("already complete in the catalog") })
      journal = try Journal.steps(intent: "t_index", on: db.connection)["t_index"] ?? [:]
      #expect(journal[step.id]?.state == .done)
      // Rollback runs the non-transactional undo.
      try executor.rollback(intent: "t_index", plans: [lp])
      #expect(try Catalog(db.connection).indexState(name: QualifiedName(schema: "public", "t_name_key")) == nil)
    }
  }

  /// status shows a step left running by a live backend, and who blocks that backend.
  @Test(.enabled(if: TestServer.shouldRun))
  func statusShowsRunningStepAndBlockers() throws {
    try withTestDatabase { db in
      try db.connection.execute("CREATE TABLE t (id int)")
      let lp = try testPlan("t_status", [sqlStep("expand/01-a", ["SELECT 1"]), sqlStep("backfill/01-b", ["SELECT 2"])])
      try makeExecutor(db).apply(phase: .expand, intents: nil, plans: [lp])
      let holder = try db.connect(applicationName: "the blocker")
      try holder.execute("BEGIN")
      try holder.execute("LOCK TABLE t IN ACCESS EXCLUSIVE MODE")
      let waiter = try db.connect(applicationName: "pgphase apply test:1")
      let waiterPID = waiter.backendPID
      let transfer = UnsafeTransfer(waiter)
      let blocked = BackgroundWork { try transfer.value.execute("SELECT count(*) FROM t") }
      try db.connection.waitUntil(
        "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = $1::int AND NOT granted)", [String(waiterPID)])
      try db.connection.execute(
        """
        INSERT INTO pgphase.steps (intent, step_id, phase, position, statements, state, attempts, started_at, runner, backend_pid)
        VALUES ('t_status', 'backfill/01-b', 'backfill', 1, '{"SELECT 2"}', 'running', 1, now(), 'pgphase apply test:1', $1::int)
        """, [String(waiterPID)])
      let statuses = try StatusReader.read(plans: [lp], on: db.connection)
      let s = try #require(statuses.first)
      #expect(s.phases.map(\.state) == ["done", "in progress", "no steps"])
      let running = try #require(s.active.first)
      #expect(running.step == "backfill/01-b" && running.alive && running.backendPID == waiterPID)
      #expect(running.blockedBy.contains { $0.contains("pid \(holder.backendPID)") && $0.contains("the blocker") })
      #expect(StatusReader.render(statuses).contains("blocked by pid \(holder.backendPID)"))
      try holder.execute("ROLLBACK")
      _ = try blocked.wait()
      holder.close()
      waiter.close()
    }
  }

  /// (d) lock_timeout: a session holding ACCESS SHARE makes the ALTER time out; the step is
  /// retried, the blocker's pid is logged, and it succeeds once the lock is released.
  @Test(.enabled(if: TestServer.shouldRun))
  func lockTimeoutIsRetriedUntilReleased() throws {
    try withTestDatabase { db in
      try db.connection.execute("CREATE TABLE incidents (id int)")
      let holder = try db.connect(applicationName: "blocker")
      try holder.execute("BEGIN")
      try holder.execute("LOCK TABLE incidents IN ACCESS SHARE MODE")
      let holderPID = holder.backendPID
      let lp = try testPlan(
        "t_lock", lockTimeout: "100ms",
        [
          sqlStep(
            "expand/01-add", ["ALTER TABLE public.incidents ADD COLUMN extra int"],
            locks: [LockedRelation(QualifiedName(schema: "public", "incidents"), .accessExclusive)])
        ])
      let log = Lines()
      let options = ExecutorOptions(retry: RetryPolicy(baseDelay: 0.1, maxDelay: 0.4, maxRetries: 100, deadline: 30))
      let executor = makeExecutor(db, options: options, log: log)
      let transfer = UnsafeTransfer(holder)
      let release = BackgroundWork {
        Thread.sleep(forTimeInterval: 1)
        try transfer.value.execute("COMMIT")
      }
      let start = Date()
      try executor.apply(phase: .expand, intents: nil, plans: [lp])
      try release.wait()
      holder.close()
      #expect(Date().timeIntervalSince(start) >= 0.9)
      let retries = log.all.filter { $0.contains("55P03") && $0.contains("retry") }
      #expect(!retries.isEmpty)
      #expect(retries.contains { $0.contains("pid \(holderPID)") && $0.contains("AccessShareLock") })
      let journal = try Journal.steps(intent: "t_lock", on: db.connection)["t_lock"] ?? [:]
      #expect(journal["expand/01-add"]?.state == .done)
      #expect(try Catalog(db.connection).column("extra", of: QualifiedName(schema: "public", "incidents")) != nil)
    }
  }

  /// (d) ... and fails cleanly at the retry deadline, journaling 55P03.
  @Test(.enabled(if: TestServer.shouldRun))
  func lockTimeoutFailsCleanlyAtDeadline() throws {
    try withTestDatabase { db in
      try db.connection.execute("CREATE TABLE incidents (id int)")
      let holder = try db.connect(applicationName: "blocker")
      try holder.execute("BEGIN")
      try holder.execute("LOCK TABLE incidents IN ACCESS SHARE MODE")
      let lp = try testPlan(
        "t_lock", lockTimeout: "50ms",
        [
          sqlStep(
            "expand/01-add", ["ALTER TABLE public.incidents ADD COLUMN extra int"],
            locks: [LockedRelation(QualifiedName(schema: "public", "incidents"), .accessExclusive)])
        ])
      let log = Lines()
      let options = ExecutorOptions(retry: RetryPolicy(baseDelay: 0.05, maxDelay: 0.2, maxRetries: 100, deadline: 1))
      let executor = makeExecutor(db, options: options, log: log)
      let start = Date()
      #expect(throws: ExecutorError.self) { try executor.apply(phase: .expand, intents: nil, plans: [lp]) }
      let elapsed = Date().timeIntervalSince(start)
      #expect(elapsed < 5)
      #expect(log.all.contains { $0.contains("giving up") && $0.contains("pid \(holder.backendPID)") })
      let journal = try Journal.steps(intent: "t_lock", on: db.connection)["t_lock"] ?? [:]
      #expect(journal["expand/01-add"]?.state == .failed)
      #expect(journal["expand/01-add"]?.errorSQLState == "55P03")
      try holder.execute("ROLLBACK")
      holder.close()
      #expect(try Catalog(db.connection).column("extra", of: QualifiedName(schema: "public", "incidents")) == nil)
    }
  }

  /// A runner that cannot get the runner lock in time gives up with exit status 3.
  @Test(.enabled(if: TestServer.shouldRun))
  func runnerLockWaitTimesOut() throws {
    try withTestDatabase { db in
      let other = try db.connect(applicationName: "other runner")
      try other.execute("SELECT pg_advisory_lock($1::int, $2::int)", [String(RunnerLock.key1), String(RunnerLock.key2)])
      let log = Lines()
      let executor = makeExecutor(db, options: ExecutorOptions(lockWait: 0.6), log: log)
      do {
        try executor.apply(phase: .expand, intents: nil, plans: [try testPlan("t", [sqlStep("expand/01-a", ["SELECT 1"])])])
        Issue.record("expected a lock wait timeout")
      } catch let e as ExecutorError {
        guard case .lockWaitTimeout(_, let holder) = e else {
          Issue.record("expected a lock wait timeout, got \(e)")
          return
        }
        #expect(holder?.contains("other runner") == true)
        #expect("\(e)".contains("other runner"))
      }
      #expect(log.all.contains { $0.contains("waiting for the pgphase runner lock") && $0.contains("pid \(other.backendPID)") })
      other.close()
    }
  }
}
