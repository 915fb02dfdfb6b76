import PGPhaseModel
import PGPhasePlanner
import PGPhaseSQL
import Testing

/// Every statement the planner emits, forward and undo, must parse with the real PostgreSQL 15
/// grammar (libpg_query): a typo in generated SQL is found here, not in production.
@Suite struct PlanSQLParsesTests {
  static func parseError(_ sql: String) -> String? {
    guard case .failure(let error) = SQLParser.syntaxCheck(sql) else { return nil }
    return "\(error.message) at byte \(error.byteOffset)"
  }

  @Test func everyExampleStatementParses() throws {
    var count = 0
    for plan in try examplePlans() {
      for step in plan.allSteps {
        for sql in step.sql + (step.undo?.sql ?? []) {
          count += 1
          let error = Self.parseError(sql)
          #expect(error == nil, "\(plan.intent) \(step.id): \(error ?? "")\n\(sql)")
        }
      }
    }
    #expect(count > 50)
  }

  @Test func everyOperationsStatementsParse() {
    let plan = planChanges(
      """
        - create_table: {table: t2, columns: [{name: a, type: int, primary_key: true}, {name: b, type: text, unique: true, check: "b <> ''"}], constraints: [{name: k, check: "a > 0"}, {name: u, unique: [a, b]}, {name: f, columns: [a], references: {table: t, columns: [id]}, on_delete: set_null}]}
        - rename_table: {from: x, to: y}
        - add_column: {table: t, column: {name: c, type: uuid, default: "gen_random_uuid()", nullable: false, unique: true, references: {table: u, column: id}, check: "c IS NOT NULL"}}
        - add_column: {table: t, column: {name: n, type: int, nullable: false}, backfill: "1"}
        - drop_column: {table: t, column: old}
        - rename_column: {table: t, from: a1, to: a2, type: text, nullable: false, default: "''"}
        - alter_column: {table: t, column: e, type: citext, up: "e::citext", down: "e::text", nullable: false}
        - alter_column: {table: t, column: f, new_name: g, type: bigint, up: "f::bigint", down: "g::int"}
        - set_not_null: {table: t, column: h, backfill: "0"}
        - set_not_null: {table: t, column: h2}
        - drop_not_null: {table: t, column: i}
        - set_default: {table: t, column: j, default: "now()"}
        - drop_default: {table: t, column: j}
        - add_check: {table: t, name: ck, expression: "j > '2020-01-01'"}
        - add_foreign_key: {table: t, name: fk, columns: [a, b], references: {table: u, columns: [x, y]}, on_update: cascade}
        - add_unique: {table: t, name: uq, columns: [a, b]}
        - drop_constraint: {table: t, name: ck_old}
        - create_index: {table: t, name: ix, columns: ["lower(b)"], unique: true, using: btree, where: "a > 0"}
        - drop_index: {name: ix_old}
        - backfill: {table: t, set: {a: "a + 1"}, where: "a < 0"}
        - sql: {phase: contract, up: "COMMENT ON TABLE t IS 'done'", down: "COMMENT ON TABLE t IS NULL"}
        - drop_table: {table: t3}
      """)
    var count = 0
    for step in plan.allSteps {
      for sql in step.sql + (step.undo?.sql ?? []) {
        count += 1
        let error = Self.parseError(sql)
        #expect(error == nil, "\(step.id): \(error ?? "")\n\(sql)")
      }
    }
    #expect(Set(plan.allSteps.map(\.operation)).count == 19)
    #expect(count > 60)
  }
}
