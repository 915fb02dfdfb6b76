import Foundation
import PGPhaseIntents
import PGPhaseModel
import PGPhasePlanner
import PGPhaseSchema
import Testing

/// Parses intents given as YAML texts (named a0.yaml, b1.yaml, … in order) and plans them,
/// against `schema` when given.
func planIntents(_ yamls: [String], schema: SchemaSnapshot? = nil) -> (plans: [Plan], diagnostics: [Diagnostic]) {
  let sources = yamls.enumerated().map { i, text in
    IntentSource(path: "intents/\(Character(UnicodeScalar(UInt8(97 + i))))\(i).yaml", text: text)
  }
  let (intents, parseDiagnostics) = IntentLoader.load(sources)
  if parseDiagnostics.hasErrors { return ([], parseDiagnostics) }
  return Planner.plan(intents, schema: schema)
}

/// Plans one intent whose `changes:` list is given, and fails the test on any diagnostic.
func planChanges(_ changes: String, schema: String? = "public", sourceLocation: Testing.SourceLocation = #_sourceLocation) -> Plan
{
  let yaml = (schema.map { "schema: \($0)\n" } ?? "") + "changes:\n" + changes
  let (plans, diagnostics) = planIntents([yaml])
  #expect(diagnostics.isEmpty, "\(diagnostics.map(\.description))", sourceLocation: sourceLocation)
  return plans.first ?? Plan(intent: "", description: nil, source: "", lockTimeout: "", backfillBatchSize: nil, phases: [])
}

/// The diagnostics planning one intent gives.
func planErrors(_ changes: String) -> [Diagnostic] {
  planIntents(["schema: public\nchanges:\n" + changes]).diagnostics
}

extension Plan {
  func sql(_ phase: Phase) -> [String] { steps(in: phase).flatMap(\.sql) }
  var shape: [Phase: Int] { Dictionary(uniqueKeysWithValues: Phase.allCases.map { ($0, steps(in: $0).count) }) }
}

/// The repository root, found from this file's path.
let repositoryRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
  .deletingLastPathComponent()

/// The intents of a folder of the repository (`examples/intents`), parsed and planned as
/// `pgphase plan FOLDER [--schema]` does; fails the test on any diagnostic.
func folderPlans(_ folder: String, schema: SchemaSnapshot? = nil) throws -> [Plan] {
  try folderPlanning(folder, schema: schema).plans
}

/// `folderPlans`, with the schema the intents leave (what `plan --schema` writes as schema.sql).
func folderPlanning(_ folder: String, schema: SchemaSnapshot? = nil) throws -> Planner.Outcome {
  let dir = repositoryRoot.appendingPathComponent(folder)
  let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".yaml") }.sorted()
  let sources = try names.map {
    IntentSource(path: "\(folder)/\($0)", text: try String(contentsOf: dir.appendingPathComponent($0), encoding: .utf8))
  }
  let (intents, d1) = IntentLoader.load(sources)
  let outcome = Planner.planning(intents, schema: schema)
  #expect((d1 + outcome.diagnostics).isEmpty, "\((d1 + outcome.diagnostics).map(\.description))")
  #expect(outcome.plans.count == names.count)
  return outcome
}

/// The example intents, parsed and planned as `pgphase plan examples/intents --schema
/// examples/schema.sql` does (how plans/ is made).
func examplePlans() throws -> [Plan] { try folderPlans("examples/intents", schema: exampleSchema()) }

/// The example intents planned without a starting schema (`pgphase plan examples/intents`).
func examplePlansWithoutSchema() throws -> [Plan] { try folderPlans("examples/intents") }

/// `examples/schema.sql` read as `plan --schema` reads it; fails the test on any error.
func exampleSchema() throws -> SchemaSnapshot {
  let text = try String(contentsOf: repositoryRoot.appendingPathComponent("examples/schema.sql"), encoding: .utf8)
  let reading = SchemaFileReader.read(text, file: "examples/schema.sql")
  #expect(!reading.hasErrors, "\(reading.diagnostics.map(\.description))")
  return reading.snapshot
}

/// Compares the files `plans` render to with those committed under `folder` (golden files):
/// the differences, as unified diffs. `PGPHASE_RECORD=1` rewrites the files that differ.
func goldenDifferences(_ plans: [Plan], folder: String) throws -> [String] {
  let record = ProcessInfo.processInfo.environment["PGPHASE_RECORD"] == "1"
  var stale: [String] = []
  for plan in plans {
    for (name, content) in try PlanRenderer.files(for: plan).sorted(by: { $0.key < $1.key }) {
      let url = repositoryRoot.appendingPathComponent("\(folder)/\(plan.intent)/\(name)")
      let onDisk = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
      if onDisk != content {
        stale.append(
          "\(folder)/\(plan.intent)/\(name)\n"
            + LineDiff.unified(old: onDisk, new: content, oldName: "committed", newName: "planned"))
        if record {
          try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
          try content.write(to: url, atomically: true, encoding: .utf8)
        }
      }
    }
  }
  #expect(!record, "PGPHASE_RECORD=1 rewrote the golden plans; rerun without it")
  return stale
}
