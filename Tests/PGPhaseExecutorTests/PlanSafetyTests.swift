import Foundation
import PGPhaseExecutor
import PGPhaseModel
import PGPhaseTestSupport
import Testing

@Suite("Plan safety")
struct PlanSafetyTests {
  /// Every example plan keeps DDL and data changes in separate transactions.
  @Test func examplePlansPass() throws {
    let plans = try LoadedPlan.loadAll(from: plansDir)
    #expect(plans.count >= 10)
    for lp in plans {
      #expect(PlanSafety.violations(in: lp.plan).isEmpty, "\(lp.plan.intent): \(PlanSafety.violations(in: lp.plan))")
    }
    try PlanSafety.check(plans)
  }

  /// Planned intents with backfills (shadow column, add_column backfill, set_not_null backfill,
  /// the backfill operation) pass too.
  @Test func plannedBackfillsPass() throws {
    let lp = try planIntent(
      "20260101_mixed",
      """
      schema: public
      changes:
        - create_table:
            table: t
            columns:
              - {name: id, type: bigint, primary_key: true}
              - {name: a, type: int}
              - {name: b, type: text}
        - add_column:
            table: t
            column: {name: c, type: int, nullable: false}
            backfill: "a + 1"
        - set_not_null:
            table: t
            column: b
            backfill: "'x'"
        - alter_column:
            table: t
            column: a
            type: bigint
            up: "a::bigint"
            down: "a::integer"
        - backfill:
            table: t
            set:
              b: "upper(b)"
      """)
    #expect(!lp.plan.steps(in: Phase.backfill).filter { $0.backfill != nil }.isEmpty)
    #expect(PlanSafety.violations(in: lp.plan).isEmpty, "\(PlanSafety.violations(in: lp.plan))")
    try backfillsThenSeparateValidates(lp.plan)
  }

  /// In every example plan too: batched backfills run alone, VALIDATE steps follow as steps of their own.
  @Test func exampleBackfillsAreFollowedBySeparateValidates() throws {
    for lp in try LoadedPlan.loadAll(from: plansDir) { try backfillsThenSeparateValidates(lp.plan) }
  }

  /// Batched backfill steps are non-transactional; each VALIDATE CONSTRAINT is a step of its own
  /// (no data change with it), after every batched backfill of the same change.
  func backfillsThenSeparateValidates(_ plan: Plan) throws {
    let steps = plan.steps(in: .backfill)
    for (i, step) in steps.enumerated() {
      if step.backfill != nil {
        #expect(!step.transactional, "\(plan.intent) \(step.id)")
        let earlierValidates = steps[..<i].filter { s in
          s.change == step.change && s.sql.contains { $0.contains("VALIDATE CONSTRAINT") }
        }
        #expect(earlierValidates.isEmpty, "\(plan.intent): \(earlierValidates.map(\.id)) before \(step.id)")
      }
      if step.sql.contains(where: { $0.contains("VALIDATE CONSTRAINT") }) {
        #expect(step.backfill == nil, "\(plan.intent) \(step.id)")
        #expect(
          step.sql.allSatisfy { !$0.uppercased().hasPrefix("UPDATE") && !$0.uppercased().hasPrefix("INSERT") },
          "\(plan.intent) \(step.id)")
      }
    }
  }

  /// A transactional step that updates rows and alters the same table is refused, naming intent,
  /// step, table and both statements.
  @Test func mixedStepIsRefused() throws {
    let lp = try testPlan(
      "20260101_bad",
      [
        sqlStep(
          "expand/01-add-and-fill",
          [
            "ALTER TABLE public.incidents ADD COLUMN impact_big bigint",
            "UPDATE incidents SET impact_big = impact",
          ])
      ])
    let found = PlanSafety.violations(in: lp.plan)
    #expect(found.count == 1)
    let v = try #require(found.first)
    #expect(v.intent == "20260101_bad")
    #expect(v.step == "expand/01-add-and-fill")
    #expect(v.table == "incidents")
    #expect(v.ddlStatements == ["ALTER TABLE public.incidents ADD COLUMN impact_big bigint"])
    #expect(v.dataStatements == ["UPDATE incidents SET impact_big = impact"])
    do {
      try PlanSafety.check([lp])
      Issue.record("check passed a plan mixing DDL and data work")
    } catch let e as ExecutorError {
      #expect(e == .unsafePlans(found))
      #expect(e.description.contains("20260101_bad expand/01-add-and-fill"))
      #expect(e.description.contains("UPDATE incidents SET impact_big = impact"))
    }
  }

  /// Data changes hidden in a CTE, DELETE and INSERT, TRUNCATE and DROP TRIGGER count too;
  /// different tables, other schemas and a table created in the same transaction do not.
  @Test(arguments: [
    (["WITH d AS (DELETE FROM s.t RETURNING 1) SELECT count(*) FROM d", "CREATE INDEX i ON s.t (a)"], true),
    (["INSERT INTO t VALUES (1)", "CREATE TRIGGER x BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION f()"], true),
    (["DROP TRIGGER x ON t", "DELETE FROM t WHERE a IS NULL"], true),
    (["TRUNCATE t", "INSERT INTO t VALUES (1)"], true),
    (["ALTER TABLE t RENAME COLUMN a TO b; UPDATE t SET b = 1"], true),
    (["ALTER TABLE a.t ADD COLUMN x int", "UPDATE b.t SET x = 1"], false),
    (["ALTER TABLE t ADD COLUMN x int", "UPDATE u SET x = 1"], false),
    (["CREATE TABLE t (a int)", "CREATE INDEX ON t (a)", "INSERT INTO t VALUES (1)"], false),
    (["UPDATE t SET a = 1", "SELECT 1"], false),
  ])
  func classification(statements: [String], refused: Bool) throws {
    let lp = try testPlan("20260101_x", [sqlStep("expand/01-x", statements)])
    #expect(!PlanSafety.violations(in: lp.plan).isEmpty == refused, "\(statements)")
  }

  /// A non-transactional step runs each statement alone: nothing to refuse there.
  @Test func nonTransactionalStepsAreNotChecked() throws {
    var step = sqlStep("backfill/01-x", ["UPDATE t SET a = 1"])
    step.action = .sql(transactional: false, concurrently: false)
    let ok = try testPlan("20260101_x", [step, sqlStep("expand/01-y", ["ALTER TABLE t ADD COLUMN a int"])])
    #expect(PlanSafety.violations(in: ok.plan).isEmpty)
  }

  /// The executor refuses before touching the database (so no server is needed to see it).
  @Test func executorRefusesBeforeConnecting() throws {
    let lp = try testPlan(
      "20260101_bad", [sqlStep("expand/01-x", ["ALTER TABLE t ADD COLUMN b int", "UPDATE t SET b = 1"])])
    let executor = Executor(dsn: "host=/nonexistent dbname=none", output: { _ in }, log: { _ in })
    for action in [
      { try executor.apply(phase: .expand, intents: nil, plans: [lp]) },
      { try executor.advance(intents: nil, plans: [lp]) },
      { try executor.rollback(intent: "20260101_bad", plans: [lp]) },
    ] {
      do {
        try action()
        Issue.record("the executor ran a plan mixing DDL and data work")
      } catch let e as ExecutorError {
        #expect(e.description.contains("DDL and data changes on the same table"), "\(e)")
      }
    }
  }
}
