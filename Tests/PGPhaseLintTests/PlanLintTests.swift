import Foundation
import PGPhaseIntents
import PGPhaseLint
import PGPhaseModel
import PGPhasePlanner
import Testing

func step(_ id: String, _ phase: Phase, _ sql: [String], transactional: Bool = true, backfill: BackfillSpec? = nil) -> Step {
  Step(
    id: id, phase: phase, change: 1, operation: "test", summary: "test", sql: sql,
    action: backfill.map { .backfill($0) } ?? (transactional ? .transaction : .sql(transactional: false, concurrently: true)),
    locks: [], cost: .catalogOnly, undo: nil, postconditions: [])
}

func plan(_ steps: [Step], lockTimeout: String = "2s") -> Plan {
  Plan(
    intent: "t", description: nil, source: "t.yaml", lockTimeout: lockTimeout, backfillBatchSize: 1000,
    phases: Phase.allCases.map { phase in PhasePlan(phase: phase, steps: steps.filter { $0.phase == phase }) })
}

@Suite struct PlanLintTests {
  /// The shape the planner emits for "add a NOT NULL column with a volatile default" is clean.
  @Test func aWellFormedPlanLintsClean() {
    let spec = BackfillSpec(table: QualifiedName("orders"), assignments: [], pending: "token IS NULL")
    let p = plan([
      step(
        "expand/01-add-column", .expand,
        ["ALTER TABLE orders ADD COLUMN token uuid", "ALTER TABLE orders ALTER COLUMN token SET DEFAULT gen_random_uuid()"]),
      step("expand/02-index", .expand, ["CREATE INDEX CONCURRENTLY orders_token_idx ON orders (token)"], transactional: false),
      step(
        "expand/03-check", .expand,
        ["ALTER TABLE orders ADD CONSTRAINT orders_token_not_null CHECK (token IS NOT NULL) NOT VALID"]),
      step("backfill/01-fill", .backfill, ["UPDATE orders SET token = gen_random_uuid() WHERE token IS NULL"], backfill: spec),
      step("backfill/02-validate", .backfill, ["ALTER TABLE orders VALIDATE CONSTRAINT orders_token_not_null"]),
      step(
        "contract/01-not-null", .contract,
        ["ALTER TABLE orders ALTER COLUMN token SET NOT NULL", "ALTER TABLE orders DROP CONSTRAINT orders_token_not_null"]),
      step("contract/02-drop", .contract, ["ALTER TABLE orders DROP COLUMN legacy_token"]),
    ])
    let found = Linter(options: LintOptions()).lint(plan: p, file: "plans/t/plan.json")
    #expect(found.isEmpty, "\(found.map(\.message))")
  }

  @Test func dropsOutsideContractAndConcurrentlyInATransactionalStepAreFlagged() {
    let p = plan([
      step("expand/01-drop", .expand, ["ALTER TABLE orders DROP COLUMN legacy"]),
      step("expand/02-index", .expand, ["CREATE INDEX CONCURRENTLY i ON orders (a)"]),
    ])
    let text = """
      {
        "phases" : [
          { "steps" : [
            { "id" : "expand/01-drop" },
            { "id" : "expand/02-index" }
      """
    let found = Linter(options: LintOptions()).lint(plan: p, file: "plans/t/plan.json", text: text)
    #expect(found.map(\.rule) == [.dropColumn, .concurrentlyInTransaction])
    #expect(found.map(\.location.line) == [4, 5])
    #expect(found[0].message.hasPrefix("expand step:"))
  }

  @Test func aPlanWithoutLockTimeoutNeedsOne() {
    let p = plan([step("expand/01", .expand, ["ALTER TABLE orders ADD COLUMN a text"])], lockTimeout: "0")
    #expect(Linter(options: LintOptions()).lint(plan: p, file: "plan.json").map(\.rule) == [.requireLockTimeout])
  }

  @Test func unbatchedBackfillInTheDDLStepIsFlagged() {
    let p = plan([step("expand/01", .expand, ["ALTER TABLE orders ADD COLUMN a text", "UPDATE orders SET a = 'x'"])])
    #expect(Linter(options: LintOptions()).lint(plan: p, file: "plan.json").map(\.rule) == [.unbatchedDMLWithDDL])
  }

  /// Every example intent compiles to a plan that lints clean: plans are safe by construction.
  @Test func everyExamplePlanLintsClean() throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let folder = root.appendingPathComponent("examples/intents")
    let names =
      (try? FileManager.default.contentsOfDirectory(atPath: folder.path))?.filter { $0.hasSuffix(".yaml") }.sorted() ?? []
    try #require(!names.isEmpty, "no example intents")
    let sources = try names.map {
      IntentSource(
        path: "examples/intents/\($0)", text: try String(contentsOf: folder.appendingPathComponent($0), encoding: .utf8))
    }
    let (intents, diagnostics) = IntentLoader.load(sources)
    try #require(!diagnostics.hasErrors, "\(diagnostics)")
    let (plans, planDiagnostics) = Planner.plan(intents)
    try #require(!planDiagnostics.hasErrors, "\(planDiagnostics)")
    let linter = Linter(options: LintOptions())
    for p in plans {
      let found = linter.lint(plan: p, file: "plans/\(p.intent)/plan.json")
      #expect(found.isEmpty, "plan \(p.intent): \(found.map { "\($0.rule.rawValue): \($0.message)" })")
    }
  }
}
