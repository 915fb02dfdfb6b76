import Foundation
import PGPhaseExecutor
import PGPhaseIntents
import PGPhaseModel
import PGPhasePlanner
import PGPhasePostgres
import PGPhaseTestSupport
import Testing

/// Plans intents (id → YAML) together in-process, as `pgphase plan` would, failing on diagnostics.
func planIntents(_ intents: [(String, String)], sourceLocation: Testing.SourceLocation = #_sourceLocation) throws
  -> [LoadedPlan]
{
  let (loaded, d1) = IntentLoader.load(intents.map { IntentSource(path: "intents/\($0.0).yaml", text: $0.1) })
  let (plans, d2) = Planner.plan(loaded)
  #expect((d1 + d2).isEmpty, "\((d1 + d2).map(\.description))", sourceLocation: sourceLocation)
  return try plans.map { try LoadedPlan($0) }
}

/// `verify` reports what is gone only when no later done step removed it: supersession follows
/// what later steps drop (a constraint and the index it owns, an index, a table, a column with
/// what sat on it) and what a rename moves, not names.
@Suite("Verify supersession", .serialized, .enabled(if: TestServer.shouldRun, "needs PostgreSQL: run through scripts/with-pg"))
struct VerifySupersessionTests {
  static let schema = """
    CREATE TABLE t (id bigint PRIMARY KEY, a int, b int, c int, d int, e int);
    INSERT INTO t SELECT g, g, g, g, g, g FROM generate_series(1, 50) g;
    """

  /// Intent A creates one of each: an index, a unique constraint (index built concurrently, then
  /// attached), a check, an index on the column a later intent drops, a foreign key to itself.
  static let first = """
    schema: public
    changes:
      - create_index: {table: t, name: t_a_idx, columns: [a]}
      - add_unique: {table: t, name: t_b_key, columns: [b]}
      - add_check: {table: t, name: t_c_check, expression: "c >= 0"}
      - create_index: {table: t, name: t_d_idx, columns: [d]}
      - add_foreign_key: {table: t, name: t_e_fkey, columns: [e], references: {table: t, columns: [id]}}
    """

  /// What a later intent removes, and how.
  static let removals: [(String, String)] = [
    ("drop_constraint", "  - drop_constraint: {table: t, name: t_b_key}"),
    ("drop_index", "  - drop_index: {name: t_a_idx}"),
    (
      "drop_column",
      "  - drop_column: {table: t, column: d}\n  - drop_column: {table: t, column: c}\n  - drop_column: {table: t, column: e}"
    ),
    ("drop_table", "  - drop_table: {table: t}"),
    ("rename_table", "  - rename_table: {from: t, to: t2}"),
  ]

  @Test(arguments: removals.map(\.0))
  func aLaterRemovalIsNotReportedMissing(_ removal: String) throws {
    try withTestDatabase { db in
      try db.connection.executeScript(Self.schema)
      let second = "schema: public\nchanges:\n" + (Self.removals.first { $0.0 == removal }?.1 ?? "")
      let plans = try planIntents([("20260101_first", Self.first), ("20260102_second", second)])
      let executor = makeExecutor(db)
      try executor.advance(intents: nil, to: .backfill, plans: plans)
      // Expanded and backfilled, before contract: a rename has moved everything to t2 already.
      let beforeContract = try Verifier.verify(on: db.connection)
      #expect(beforeContract.isClean, "\(removal) before contract: \(beforeContract.render())")
      try executor.advance(intents: nil, to: .contract, plans: plans)
      let after = try Verifier.verify(on: db.connection)
      #expect(after.isClean, "\(removal) after contract: \(after.render())")
    }
  }

  /// The examples up to backfill: 20261129 renames check_results, where 20261126 added two
  /// constraints and an index; they moved with the table and are not missing.
  @Test func theExamplesBackfilledVerifyClean() throws {
    try withTestDatabase { db in
      try db.connection.runSQLFile(schemaFile)
      try makeExecutor(db).advance(intents: nil, to: .backfill, plans: try LoadedPlan.loadAll(from: plansDir))
      let report = try Verifier.verify(on: db.connection)
      #expect(report.isClean, "\(report.render())")
    }
  }
}
