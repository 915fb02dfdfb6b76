import Foundation
import PGPhaseModel
import PGPhasePlanner
import PGPhaseSchema
import Testing

/// `plans/` is the golden set: the committed plans must be exactly what the example intents
/// compile to. `PGPHASE_RECORD=1` rewrites them, and such a run fails, so CI can never pass by
/// recording.
@Suite struct GoldenPlanTests {
  @Test func committedPlansMatchTheExampleIntents() throws {
    let stale = try goldenDifferences(try examplePlans(), folder: "plans")
    #expect(
      stale.isEmpty,
      "stale golden plans (run `pgphase plan examples/intents --schema examples/schema.sql --out plans`):\n\(stale.joined(separator: "\n"))"
    )
  }

  /// plans/schema.sql is the schema the example intents leave, as `plan --schema` renders it.
  @Test func committedSchemaIsTheSchemaAfterTheExampleIntents() throws {
    let rendered = try folderPlanning("examples/intents", schema: exampleSchema()).schema.canonicalSQL()
    let url = repositoryRoot.appendingPathComponent("plans/schema.sql")
    let committed = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
    #expect(
      committed == rendered,
      "stale plans/schema.sql:\n\(LineDiff.unified(old: committed, new: rendered, oldName: "committed", newName: "planned"))")
  }
}

/// Golden plans of intents planned against a schema (`Fixtures/schema`): what rename_column and
/// alter_column take from it. Re-plan with
/// `swift run pgphase plan Tests/PGPhasePlannerTests/Fixtures/schema/intents --schema Tests/PGPhasePlannerTests/Fixtures/schema/schema.sql --out Tests/PGPhasePlannerTests/Fixtures/schema/plans`
/// (or `PGPHASE_RECORD=1`).
@Suite struct SchemaGoldenPlanTests {
  @Test func committedPlansMatchTheIntentsPlannedAgainstTheSchema() throws {
    let fixture = "Tests/PGPhasePlannerTests/Fixtures/schema"
    let stale = try goldenDifferences(try folderPlans("\(fixture)/intents", schema: shopSnapshot()), folder: "\(fixture)/plans")
    #expect(stale.isEmpty, "stale golden plans under \(fixture)/plans:\n\(stale.joined(separator: "\n"))")
  }

  /// The example intents name only what `examples/schema.sql` has or what earlier intents make,
  /// and planned against it they run the same SQL as the committed plans (what they restate is
  /// what the schema says). The schema only adds what the planner could not know: the undo of a
  /// set_default (the column had no default), of the comments and of the replica identity (what
  /// they were before).
  @Test func theExampleIntentsPlanAgainstTheExampleSchema() throws {
    let withoutSchema = try examplePlansWithoutSchema()
    let plans = try examplePlans()
    #expect(plans.map(\.intent) == withoutSchema.map(\.intent))
    var undoChanged: [String] = []
    for (with, without) in zip(plans, withoutSchema) {
      #expect(with.allSteps.map(\.id) == without.allSteps.map(\.id))
      for (a, b) in zip(with.allSteps, without.allSteps) {
        #expect(a.sql == b.sql && a.postconditions == b.postconditions && a.preconditions == b.preconditions, "\(a.id)")
        if a.undo != b.undo { undoChanged.append("\(with.intent) \(a.id)") }
      }
    }
    #expect(
      undoChanged == [
        "20261124_check_hygiene expand/01-set-default-interval-seconds", "20261129_tidy_catalog expand/01-comment-table-checks",
        "20261129_tidy_catalog expand/02-comment-column-timeout-ms",
        "20261129_tidy_catalog expand/04-replica-identity-check-runs",
      ])
    let step = plans.first { $0.intent == "20261124_check_hygiene" }?.steps(in: .expand).first
    #expect(step?.undo?.sql == ["ALTER TABLE checks ALTER COLUMN interval_seconds DROP DEFAULT"])
  }
}
