import Foundation
import PGPhaseIntents
import PGPhaseModel
import PGPhasePlanner
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

/// The example intents, parsed and planned as `pgphase plan examples/intents` does.
func examplePlans() throws -> [Plan] {
  let dir = repositoryRoot.appendingPathComponent("examples/intents")
  let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".yaml") }.sorted()
  let sources = try names.map {
    IntentSource(path: "examples/intents/\($0)", text: try String(contentsOf: dir.appendingPathComponent($0), encoding: .utf8))
  }
  let (intents, d1) = IntentLoader.load(sources)
  let (plans, d2) = Planner.plan(intents)
  #expect((d1 + d2).isEmpty, "\((d1 + d2).map(\.description))")
  return plans
}
