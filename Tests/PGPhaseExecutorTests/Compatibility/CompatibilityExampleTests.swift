import Foundation
import PGPhaseExecutor
import PGPhaseIntents
import PGPhaseModel
import PGPhasePlanner
import PGPhasePostgres
import PGPhaseTestSupport
import Testing

/// Plans every intent file of `examples/intents` in-process (so a new example is covered as soon
/// as it is added), with its intent.
func exampleIntentsAndPlans() throws -> [(intent: Intent, plan: LoadedPlan)] {
  let dir = repositoryRoot.appendingPathComponent("examples/intents")
  let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".yaml") }.sorted()
  let sources = try files.map {
    IntentSource(
      path: "examples/intents/\($0)", text: try String(contentsOf: dir.appendingPathComponent($0), encoding: .utf8))
  }
  let (intents, d1) = IntentLoader.load(sources)
  let (plans, d2) = Planner.plan(intents)
  #expect((d1 + d2).isEmpty, "\((d1 + d2).map(\.description))")
  return try zip(intents, plans).map { ($0, try LoadedPlan($1)) }
}

/// A copy of `template` (a file copy), retried while the template's last sessions are still
/// ending (SQLSTATE 55006).
func copyDatabase(_ template: String) throws -> TestDatabase {
  let deadline = Date().addingTimeInterval(30)
  while true {
    do {
      return try TestDatabase.create(template: template)
    } catch let error as PostgresError where error.sqlState == "55006" && Date() < deadline {
      Thread.sleep(forTimeInterval: 0.05)
    }
  }
}

@Suite("Compatibility harness: examples", .serialized)
struct CompatibilityExampleTests {
  /// Every example intent, applied in order on examples/schema.sql: on a copy of the database as
  /// the earlier intents left it, both apps' workloads run before, during and after its
  /// backfill, and not one statement fails; then the intent is applied for the next one.
  @Test(.enabled(if: TestServer.shouldRun))
  func everyExampleIntentKeepsBothAppsWorking() throws {
    let examples = try exampleIntentsAndPlans()
    #expect(examples.count >= 11)
    let plans = examples.map(\.plan)
    try withTestDatabase { chain in
      try chain.connection.runSQLFile(schemaFile)
      chain.disconnect()
      var total = 0
      for (intent, lp) in examples {
        let scratch = try copyDatabase(chain.name)
        let report: HarnessReport
        do {
          report = try CompatibilityHarness.run(lp, intent: intent, plans: plans, on: scratch)
          try scratch.drop()
        } catch {
          try? scratch.drop()
          Issue.record("\(lp.plan.intent): \(error)")
          return
        }
        print("compatibility \(report.summary)")
        total += report.statements
        #expect(report.failures.isEmpty, "\(report.intent):\n\(report.failures.prefix(40).joined(separator: "\n"))")
        #expect(report.statements > 100, "\(report.summary)")
        #expect(report.count("during rounds") >= 2, "\(report.summary)")
        if lp.plan.steps(in: .backfill).contains(where: { $0.backfill != nil }) {
          #expect(report.backfillBatches >= 2, "the backfill ran in one batch: \(report.summary)")
        }
        let executor = makeExecutor(chain)
        for phase in Phase.allCases { try executor.apply(phase: phase, intents: [lp.plan.intent], plans: plans) }
      }
      print("compatibility: \(total) app statements over \(examples.count) example intents")
    }
  }
}
