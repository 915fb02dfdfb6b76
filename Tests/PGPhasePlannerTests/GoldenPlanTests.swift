import Foundation
import PGPhaseIntents
import PGPhaseModel
import PGPhasePlanner
import PGPhaseSchema
import Testing

/// `plans/` is the golden set: the committed plans must be exactly what the example intents
/// compile to. `PGPHASE_RECORD=1` rewrites them, and such a run fails, so CI can never pass by
/// recording.
@Suite struct GoldenPlanTests {
  @Test func committedPlansMatchTheExampleIntents() throws {
    let record = ProcessInfo.processInfo.environment["PGPHASE_RECORD"] == "1"
    let plansDir = repositoryRoot.appendingPathComponent("plans")
    var stale: [String] = []
    for plan in try examplePlans() {
      for (name, content) in try PlanRenderer.files(for: plan).sorted(by: { $0.key < $1.key }) {
        let url = plansDir.appendingPathComponent("\(plan.intent)/\(name)")
        let onDisk = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
        if onDisk != content {
          stale.append(
            "plans/\(plan.intent)/\(name)\n"
              + LineDiff.unified(old: onDisk, new: content, oldName: "committed", newName: "planned"))
          if record {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try content.write(to: url, atomically: true, encoding: .utf8)
          }
        }
      }
    }
    #expect(stale.isEmpty, "stale golden plans (run `pgphase plan examples/intents`):\n\(stale.joined(separator: "\n"))")
    #expect(!record, "PGPHASE_RECORD=1 rewrote the golden plans; rerun without it")
  }
}

/// Golden plans of intents planned against a schema (`Fixtures/schema`): what rename_column and
/// alter_column take from it. Re-plan with
/// `swift run pgphase plan Tests/PGPhasePlannerTests/Fixtures/schema/intents --schema Tests/PGPhasePlannerTests/Fixtures/schema/schema.sql --out Tests/PGPhasePlannerTests/Fixtures/schema/plans`
/// (or `PGPHASE_RECORD=1`).
@Suite struct SchemaGoldenPlanTests {
  @Test func committedPlansMatchTheIntentsPlannedAgainstTheSchema() throws {
    let record = ProcessInfo.processInfo.environment["PGPHASE_RECORD"] == "1"
    let fixture = "Tests/PGPhasePlannerTests/Fixtures/schema"
    let dir = repositoryRoot.appendingPathComponent("\(fixture)/intents")
    let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".yaml") }.sorted()
    let sources = try names.map {
      IntentSource(
        path: "\(fixture)/intents/\($0)", text: try String(contentsOf: dir.appendingPathComponent($0), encoding: .utf8))
    }
    let (intents, d1) = IntentLoader.load(sources)
    let (plans, d2) = Planner.plan(intents, schema: shopSnapshot())
    #expect((d1 + d2).isEmpty, "\((d1 + d2).map(\.description))")
    #expect(plans.count == names.count)
    var stale: [String] = []
    for plan in plans {
      for (name, content) in try PlanRenderer.files(for: plan).sorted(by: { $0.key < $1.key }) {
        let url = repositoryRoot.appendingPathComponent("\(fixture)/plans/\(plan.intent)/\(name)")
        let onDisk = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
        if onDisk != content {
          stale.append(
            "\(plan.intent)/\(name)\n" + LineDiff.unified(old: onDisk, new: content, oldName: "committed", newName: "planned"))
          if record {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try content.write(to: url, atomically: true, encoding: .utf8)
          }
        }
      }
    }
    #expect(stale.isEmpty, "stale golden plans under \(fixture)/plans:\n\(stale.joined(separator: "\n"))")
    #expect(!record, "PGPHASE_RECORD=1 rewrote the golden plans; rerun without it")
  }

  /// The example intents name only what `examples/schema.sql` has or what earlier intents make,
  /// and planned against it they run the same SQL as the committed plans (what they restate is
  /// what the schema says). The schema only adds what the planner could not know: the undo of a
  /// set_default (the column had no default).
  @Test func theExampleIntentsPlanAgainstTheExampleSchema() throws {
    let text = try String(contentsOf: repositoryRoot.appendingPathComponent("examples/schema.sql"), encoding: .utf8)
    let reading = SchemaFileReader.read(text, file: "examples/schema.sql")
    #expect(!reading.hasErrors, "\(reading.diagnostics.map(\.description))")
    let withoutSchema = try examplePlans()
    let dir = repositoryRoot.appendingPathComponent("examples/intents")
    let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".yaml") }.sorted()
    let sources = try names.map {
      IntentSource(path: "examples/intents/\($0)", text: try String(contentsOf: dir.appendingPathComponent($0), encoding: .utf8))
    }
    let (intents, _) = IntentLoader.load(sources)
    let (plans, diagnostics) = Planner.plan(intents, schema: reading.snapshot)
    #expect(diagnostics.isEmpty, "\(diagnostics.map(\.description))")
    #expect(plans.map(\.intent) == withoutSchema.map(\.intent))
    var undoChanged: [String] = []
    for (with, without) in zip(plans, withoutSchema) {
      #expect(with.allSteps.map(\.id) == without.allSteps.map(\.id))
      for (a, b) in zip(with.allSteps, without.allSteps) {
        #expect(a.sql == b.sql && a.postconditions == b.postconditions && a.preconditions == b.preconditions, "\(a.id)")
        if a.undo != b.undo { undoChanged.append("\(with.intent) \(a.id)") }
      }
    }
    #expect(undoChanged == ["20261124_check_hygiene expand/01-set-default-interval-seconds"])
    let step = plans.first { $0.intent == "20261124_check_hygiene" }?.steps(in: .expand).first
    #expect(step?.undo?.sql == ["ALTER TABLE checks ALTER COLUMN interval_seconds DROP DEFAULT"])
  }
}
