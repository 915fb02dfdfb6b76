import Foundation
import PGPhaseIntents
import PGPhaseModel
import PGPhasePlanner
import Testing

/// Every step says what it creates (pgphase owns exactly that), and a plan written before steps
/// said so gets the same answer derived from its actions and postconditions.
struct CreatedObjectsTests {
  /// Each operation creates what a user would expect, and nothing of theirs.
  @Test func eachOperationCreatesWhatItShould() {
    let t = QualifiedName(schema: "public", "t")
    func creates(_ changes: String) -> [CreatedObject] {
      planChanges(changes).allSteps.flatMap { $0.creates ?? [] }
    }
    #expect(
      creates("  - create_table: {table: t, columns: [{name: id, type: bigint, primary_key: true}]}") == [.table(t)])
    #expect(
      creates("  - add_column: {table: t, column: {name: c, type: int, nullable: false, check: \"c >= 0\"}, backfill: \"0\"}")
        .map(\.kind) == [.column, .function, .trigger, .constraint, .constraint])
    let alter = creates(
      "  - alter_column: {table: t, column: c, type: bigint, up: \"c::bigint\", down: \"c::int\", nullable: false}")
    #expect(alter.map(\.kind) == [.column, .function, .trigger, .constraint])
    #expect(alter.first == .column(t, "_pgphase_new_c"))
    #expect(alter.last == .constraint(t, "t__pgphase_new_c_not_null_check"))
    if case .trigger(let table, let name) = alter[2], case .function(let function) = alter[1] {
      #expect(table == t && function == t.sibling(name), "the sync trigger and its function share a name")
    }
    #expect(creates("  - rename_table: {from: t, to: u}") == [.view(t)], "the renamed table stays the user's")
    #expect(
      creates("  - add_unique: {table: t, name: t_c_key, columns: [c]}")
        == [.index(QualifiedName(schema: "public", "t_c_key"), on: t), .constraint(t, "t_c_key")])
    #expect(creates("  - create_index: {table: t, name: t_c_idx, columns: [c]}") == [.index(t.sibling("t_c_idx"), on: t)])
    #expect(creates("  - add_check: {table: t, name: t_c_check, expression: \"c > 0\"}") == [.constraint(t, "t_c_check")])
    #expect(creates("  - set_not_null: {table: t, column: c}") == [.constraint(t, "t_c_not_null_check")])
    for nothing in [
      "  - drop_column: {table: t, column: c}", "  - set_default: {table: t, column: c, default: \"1\"}",
      "  - drop_not_null: {table: t, column: c}", "  - drop_constraint: {table: t, name: k}", "  - drop_index: {name: i}",
      "  - backfill: {table: t, set: {c: \"1\"}}", "  - sql: {phase: expand, up: \"CREATE TABLE x (i int)\"}",
    ] {
      #expect(creates(nothing).isEmpty, "\(nothing)")
    }
  }

  /// For the example intents and every intent of the fuzz corpus that plans, each step's declared
  /// `creates` is what a plan without it (format 1, early format 2) derives: old plans and old
  /// journals get the same ownership as new ones.
  @Test func derivingFromAnOlderPlanGivesWhatThePlannerDeclares() throws {
    var plans = try examplePlans()
    let dir = repositoryRoot.appendingPathComponent("Tests/fuzz/intents")
    for name in try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() where name.hasSuffix(".yaml") {
      let text = (try? String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8)) ?? ""
      let (intents, d1) = IntentLoader.load([IntentSource(path: "intents/\(name)", text: text)])
      guard !d1.hasErrors else { continue }
      plans += Planner.plan(intents).plans
    }
    var steps = 0
    for plan in plans {
      for step in plan.allSteps {
        let declared = try #require(step.creates, "\(plan.intent) \(step.id) declares what it creates")
        #expect(declared == step.derivedCreates, "\(plan.intent) \(step.id)")
        steps += 1
      }
    }
    #expect(steps > 200)
  }

  /// `creates` goes through plan.json unchanged; a step without it reads back without it.
  @Test func createsRoundTripsThroughJSON() throws {
    let plan = planChanges("  - add_unique: {table: t, name: t_c_key, columns: [c]}")
    let data = try JSONEncoder().encode(plan)
    let back = try JSONDecoder().decode(Plan.self, from: data)
    #expect(back == plan)
    var legacy = plan
    for p in legacy.phases.indices {
      for s in legacy.phases[p].steps.indices { legacy.phases[p].steps[s].creates = nil }
    }
    let old = try JSONDecoder().decode(Plan.self, from: try JSONEncoder().encode(legacy))
    #expect(old.allSteps.allSatisfy { $0.creates == nil })
    #expect(old.allSteps.map(\.createdObjects) == plan.allSteps.map { $0.creates ?? [] })
  }
}
