import Foundation
import PGPhaseExecutor
import PGPhaseModel
import PGPhasePostgres
import PGPhaseTestSupport
import Testing

/// Intents that can run phase by phase together (expand of all, then backfill, then contract).
let concurrentIntents = [
  "20261120_incident_severity", "20261121_checks_endpoint", "20261122_incident_impact_bigint",
  "20261123_reporter_email_lowercase", "20261124_check_hygiene",
]

@Suite("Runner processes", .serialized)
struct RunnerProcessTests {
  /// (c) Eight `pgphase apply` processes at once on the same plans: all succeed, and every step
  /// is applied exactly once (attempts = 1 in the journal).
  @Test(.enabled(if: TestServer.shouldRun))
  func eightConcurrentRunnersApplyEachStepOnce() throws {
    _ = try pgphaseBinary()
    try withTestDatabase { db in
      try db.connection.runSQLFile(schemaFile)
      let intentArgs = concurrentIntents.flatMap { ["--intent", $0] }
      let dsn = db.conninfo
      let start = Date()
      let workers = (0..<8).map { _ in
        BackgroundWork { () throws -> [RunResult] in
          try ["expand", "backfill", "contract"].map { phase in
            try runPGPhase(["apply", "--phase", phase, "--dsn", dsn] + intentArgs + [plansDir])
          }
        }
      }
      let results = try workers.flatMap { try $0.wait(timeout: 300) }
      let elapsed = Date().timeIntervalSince(start)
      print("8 concurrent runners × 3 phases over \(concurrentIntents.count) intents took \(String(format: "%.2f", elapsed))s")
      for r in results {
        #expect(r.status == 0, "exit \(r.status): \(r.stderr)")
      }
      let plans = try LoadedPlan.loadAll(from: plansDir).filter { concurrentIntents.contains($0.plan.intent) }
      let expected = plans.flatMap { lp in lp.plan.allSteps.map { "\(lp.plan.intent) \($0.id)" } }
      let doneLines = results.flatMap { $0.stdout.split(separator: "\n").map(String.init) }.filter { $0.contains(" done in ") }
      #expect(doneLines.count == expected.count, "\(doneLines)")
      let rows = try db.connection.execute("SELECT intent, step_id, state, attempts FROM pgphase.steps").rows
      #expect(rows.count == expected.count)
      for row in rows {
        #expect(row["state"] == "done", "\(row.values)")
        #expect(row["attempts"] == "1", "\(row.values)")
      }
    }
  }
  /// SIGTERM cancels the running statement; the step is journaled 'failed' (57014) and the
  /// process exits 143; a rerun finishes it.
  @Test(.enabled(if: TestServer.shouldRun))
  func sigtermCancelsAndJournals() throws {
    try withTestDatabase { db in
      let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pgphase-sig-\(UUID().uuidString)")
      defer { try? FileManager.default.removeItem(at: dir) }
      try FileManager.default.createDirectory(at: dir.appendingPathComponent("t_sig"), withIntermediateDirectories: true)
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
      try Data(lp.canonicalJSON.utf8).write(to: dir.appendingPathComponent("t_sig/plan.json"))
      let hold = try db.connect(applicationName: "hold")  // makes the sleep 0.3s per 'hold' session
      let extra = try (0..<19).map { _ in try db.connect(applicationName: "hold") }
      let process = Process()
      process.executableURL = URL(fileURLWithPath: try pgphaseBinary())
      process.arguments = ["apply", "--phase", "expand", "--dsn", db.conninfo, dir.path]
      process.standardOutput = FileHandle.nullDevice
      process.standardError = FileHandle.nullDevice
      try process.run()
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
