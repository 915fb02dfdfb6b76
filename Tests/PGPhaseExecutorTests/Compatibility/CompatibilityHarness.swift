import Foundation
import PGPhaseExecutor
import PGPhaseModel
import PGPhasePostgres
import PGPhaseTestSupport

/// What one harness run of an intent did.
struct HarnessReport {
  var intent: String
  var tally: [String: Int]
  var failures: [String]
  var backfillBatches: Int
  var seconds: Double

  var statements: Int { tally.filter { $0.key.hasSuffix(" statements") }.values.reduce(0, +) }
  var failed: Int { tally.filter { $0.key.hasSuffix(" failed") }.values.reduce(0, +) }
  func count(_ key: String) -> Int { tally[key] ?? 0 }

  var summary: String {
    let phases = CompatibilityHarness.phases.map { "\($0) \(count("\($0) statements"))" }.joined(separator: ", ")
    let pendingUpdates = CompatibilityHarness.phases.map { count("\($0) updates of not yet backfilled rows") }.reduce(0, +)
    let twoWay = CompatibilityHarness.phases.map { count("\($0) two-way writes checked") }.reduce(0, +)
    let recomputed = CompatibilityHarness.phases.map { count("\($0) new-app values recomputed by the backfill") }.reduce(0, +)
    return
      "\(intent): \(statements) app statements (\(phases)), \(failed) failed, \(failures.count) problems; "
      + "\(pendingUpdates) updates of not yet backfilled rows, \(twoWay) two-way writes checked"
      + (recomputed > 0 ? " (\(recomputed) recomputed by the backfill as up(down(new)))" : "") + ", "
      + "\(count("during rounds")) rounds during \(backfillBatches) backfill batches; "
      + String(format: "%.1fs", seconds)
  }
}

/// The central invariant as a property: between the end of expand and the start of contract, a
/// workload of the old app and one of the new app both succeed, before, while and after the
/// backfill runs, and the columns pgphase keeps in step converge.
///
/// Shapes come from the catalog (before expand: the old app's; after expand minus what contract
/// drops: the new app's) and promises from the plan (backfill specs, their triggers) and intent
/// (`down`), so any intent is covered without a word written for it.
enum CompatibilityHarness {
  static let phases = ["before backfill", "during backfill", "after backfill", "after contract"]

  /// Executor options that cut the backfill into many small batches, so the concurrent
  /// workload meets it half done.
  static func executor(_ db: TestDatabase, output: Lines, log: Lines) -> Executor {
    var options = ExecutorOptions()
    options.backfill = BackfillOptions(batchTarget: 0.02, batchPause: 0.001, maxBatchSize: 25)
    return makeExecutor(db, options: options, output: output, log: log)
  }

  /// Runs intent `lp` (whose earlier intents `db` already has) through expand, backfill and
  /// contract with both workloads around and during its backfill.
  static func run(_ lp: LoadedPlan, intent: Intent, plans: [LoadedPlan], on db: TestDatabase, rounds: Int = 1) throws
    -> HarnessReport
  {
    let id = lp.plan.intent
    let start = Date()
    let ledger = HarnessLedger()
    let output = Lines()
    let log = Lines()
    let h = try db.connect(applicationName: "harness")
    defer { h.close() }
    let before = try CatalogShape.read(h)
    let executor = executor(db, output: output, log: log)
    func phase(_ p: Phase) throws {
      do {
        try executor.apply(phase: p, intents: [id], plans: plans)
      } catch {
        throw HarnessError(
          description:
            "\(id) \(p.rawValue) failed: \(error)\n\(output.all.joined(separator: "\n"))\n\(log.all.joined(separator: "\n"))")
      }
    }
    try phase(.expand)
    let window = try CatalogShape.read(h)
    let promises = IntentPromises(plan: lp.plan, intent: intent, old: before)
    let old = AppWorkload(
      app: "old app", half: 0, relations: AppShapes.old(before: before, window: window), promises: promises, ledger: ledger)
    let newShape = AppShapes.new(window: window, plan: lp.plan)
    let new = AppWorkload(app: "new app", half: 1, relations: newShape, promises: promises, ledger: ledger)
    let oldConnection = try db.connect(applicationName: "old app")
    let newConnection = try db.connect(applicationName: "new app")

    for _ in 0..<rounds {
      old.round(on: oldConnection, harness: h, phase: phases[0])
      new.round(on: newConnection, harness: h, phase: phases[0])
    }

    // During: each app on its own connection and thread, round after round, while the backfill runs.
    // With a batched backfill the apps start once it has committed its first batch: started together, they could
    // fill every pending row (they aim at pending rows) before the backfill looked, which would then
    // find its work done and prove nothing about the two meeting.
    let stop = StopFlag()
    let started = DispatchSemaphore(value: 0)
    let go = DispatchSemaphore(value: 0)
    var workers: [BackgroundWork<Void>] = []
    for (workload, connection) in [(old, oldConnection), (new, newConnection)] {
      let c = UnsafeTransfer(connection)
      let hc = UnsafeTransfer(try db.connect(applicationName: "harness \(workload.app)"))
      workers.append(
        BackgroundWork {
          defer { hc.value.close() }
          started.signal()
          go.wait()
          repeat {
            workload.round(on: c.value, harness: hc.value, phase: phases[1])
            ledger.count("during rounds")
          } while !stop.isStopped
        })
    }
    // The backfill starts as both apps start writing, so it meets them on rows it has not done.
    for _ in workers { started.wait() }
    let backfill = UnsafeTransfer(executor)
    let plansToRun = plans
    let running = BackgroundWork {
      try backfill.value.apply(phase: .backfill, intents: [id], plans: plansToRun)
    }
    /// Backfill batches the journal counts for the intent so far.
    func batchesDone() throws -> Int {
      try h.execute(
        "SELECT coalesce(sum(batches), 0)::int FROM pgphase.steps WHERE intent = $1 AND step_id LIKE 'backfill/%'", [id]
      ).scalarInt() ?? 0
    }
    let batched = lp.plan.steps(in: .backfill).contains { $0.backfill != nil }
    let firstBatch = Date().addingTimeInterval(120)
    while batched, !running.isFinished, Date() < firstBatch,
      try batchesDone() == 0
    {
      Thread.sleep(forTimeInterval: 0.005)
    }
    for _ in workers { go.signal() }
    var backfillError: (any Error)?
    do { try running.wait(timeout: 600) } catch { backfillError = error }
    stop.stop()
    for w in workers { try w.wait(timeout: 600) }
    if let backfillError {
      oldConnection.close()
      newConnection.close()
      throw HarnessError(
        description: "\(id) backfill failed while the apps wrote: \(backfillError)\n\(log.all.joined(separator: "\n"))")
    }
    let batches = try batchesDone()

    for _ in 0..<rounds {
      old.round(on: oldConnection, harness: h, phase: phases[2])
      new.round(on: newConnection, harness: h, phase: phases[2])
    }
    oldConnection.close()

    // Converged: no row of any table is left pending by a trigger-backed backfill.
    for b in promises.backfills where b.triggerBacked {
      let left = try h.execute("SELECT count(*) FROM \(b.spec.table.sql) WHERE \(b.spec.pending)").scalarInt() ?? -1
      if left != 0 { ledger.problem("after backfill: \(left) rows of \(b.spec.table) still match \(b.spec.pending)") }
    }

    try phase(.contract)
    let (afterContract, missing) = AppShapes.afterContract(newShape, catalog: try CatalogShape.read(h))
    for m in missing { ledger.problem("after contract: the new app's \(m) is gone") }
    let final = AppWorkload(app: "new app", half: 1, relations: afterContract, promises: .none, ledger: ledger)
    final.round(on: newConnection, harness: h, phase: phases[3])
    newConnection.close()
    return HarnessReport(
      intent: id, tally: ledger.tally, failures: ledger.failures, backfillBatches: batches,
      seconds: Date().timeIntervalSince(start))
  }
}

struct HarnessError: Error, CustomStringConvertible {
  var description: String
}
