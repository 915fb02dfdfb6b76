import Foundation
import PGPhaseExecutor
import PGPhaseModel
import PGPhasePostgres
import PGPhaseTestSupport
import Testing

@Suite("Runner processes", .serialized)
struct RunnerProcessTests {
  /// (c) Eight `pgphase` processes at once on every example plan, each running `advance --to
  /// backfill` then `advance --to contract` (a release's rollout): all exit 0, every step is
  /// applied exactly once (attempts = 1), and the journal agrees with the catalog.
  @Test(.enabled(if: TestServer.shouldRun))
  func eightConcurrentRunnersApplyEachStepOnce() throws {
    _ = try pgphaseBinary()
    try withTestDatabase { db in
      try db.connection.runSQLFile(schemaFile)
      let dsn = db.conninfo
      let start = Date()
      let workers = (0..<8).map { _ in
        BackgroundWork { () throws -> [RunResult] in
          try ["backfill", "contract"].map { target in
            try runPGPhase(["advance", "--to", target, "--dsn", dsn, "--lock-wait", "5m", plansDir])
          }
        }
      }
      let results = try workers.flatMap { try $0.wait(timeout: 600) }
      let elapsed = Date().timeIntervalSince(start)
      let plans = try LoadedPlan.loadAll(from: plansDir)
      print(
        "8 concurrent runners (advance --to backfill, then --to contract) over \(plans.count) intents took \(String(format: "%.2f", elapsed))s"
      )
      for r in results {
        #expect(r.status == 0, "exit \(r.status): \(r.stderr)")
      }
      let expected = plans.flatMap { lp in lp.plan.allSteps.map { "\(lp.plan.intent) \($0.id)" } }
      let doneLines = results.flatMap { $0.stdout.split(separator: "\n").map(String.init) }.filter { $0.contains(" done in ") }
      #expect(doneLines.count == expected.count, "\(doneLines)")
      #expect(Set(doneLines.map { $0.split(separator: " ").prefix(2).joined(separator: " ") }) == Set(expected))
      // Runners that found the work done said so.
      let idle = results.filter { $0.stdout.contains("nothing to do") }
      #expect(idle.count >= 8, "\(results.map(\.stdout))")
      let rows = try db.connection.execute("SELECT intent, step_id, state, attempts FROM pgphase.steps").rows
      #expect(rows.count == expected.count)
      for row in rows {
        #expect(row["state"] == "done", "\(row.values)")
        #expect(row["attempts"] == "1", "\(row.values)")
      }
      // The catalog and data equal a single runner's result on the same schema.
      let racing = try fingerprint(db.connection)
      let single = try withTestDatabase { ref -> [String] in
        try ref.connection.runSQLFile(schemaFile)
        let r = try runPGPhase(["advance", "--to", "contract", "--dsn", ref.conninfo, plansDir])
        #expect(r.status == 0, "\(r.stderr)")
        return try fingerprint(ref.connection)
      }
      #expect(racing == single, "\(zip(racing, single).first { $0 != $1 }.map { "\($0) vs \($1)" } ?? "different lengths")")
    }
  }

  /// SIGTERM cancels the running statement; the step is journaled 'failed' (57014) and the
  /// process exits 143; a rerun finishes it.
  @Test(.enabled(if: TestServer.shouldRun))
  func sigtermCancelsAndJournals() throws {
    try withTestDatabase { db in
      let lp = try testPlan(
        "t_sig",
        [
          sqlStep(
            "expand/01-slow",
            [
              "CREATE TABLE slow (x int)",
              "SELECT pg_sleep(0.3 * (SELECT count(*) FROM pg_stat_activity WHERE application_name = 'hold'))",
            ])
        ])
      let dir = try writePlans([lp])
      defer { try? FileManager.default.removeItem(at: dir) }
      let hold = try db.connect(applicationName: "hold")  // makes the sleep 0.3s per 'hold' session
      let extra = try (0..<19).map { _ in try db.connect(applicationName: "hold") }
      let process = try startPGPhase(["apply", "--phase", "expand", "--dsn", db.conninfo, dir.path])
      try db.connection.waitUntil(
        "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%' AND state = 'active')")
      kill(process.processIdentifier, SIGTERM)
      process.waitUntilExit()
      #expect(process.terminationStatus == 143)
      let journal = try Journal.steps(intent: "t_sig", on: db.connection)["t_sig"] ?? [:]
      #expect(journal["expand/01-slow"]?.state == .failed)
      #expect(journal["expand/01-slow"]?.errorSQLState == "57014")
      #expect(try db.connection.execute("SELECT to_regclass('slow') IS NULL").scalarBool() == true)
      hold.close()
      for connection in extra { connection.close() }
      let rerun = try runPGPhase(["apply", "--phase", "expand", "--dsn", db.conninfo, dir.path])
      #expect(rerun.status == 0, "\(rerun.stderr)")
    }
  }
}
