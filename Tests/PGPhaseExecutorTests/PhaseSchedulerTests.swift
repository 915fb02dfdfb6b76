import PGPhaseExecutor
import PGPhaseModel
import Testing

/// A plan with one step in each of the given phases (other phases empty).
private func plan(_ intent: String, _ phases: [Phase] = Phase.allCases) -> Plan {
  Plan(
    intent: intent, description: nil, source: "", lockTimeout: "1s", backfillBatchSize: nil,
    phases: Phase.allCases.map { phase in
      PhasePlan(
        phase: phase,
        steps: phases.contains(phase)
          ? [
            Step(
              id: "\(phase.rawValue)/01-x", phase: phase, change: 1, operation: "sql", summary: "", sql: ["SELECT 1"],
              action: .transaction, locks: [], cost: .unknown, undo: nil, postconditions: [.unchecked])
          ] : [])
    })
}

/// A plan whose expand step creates `creates` and whose contract step has `drops` as postconditions.
private func plan(_ intent: String, creates: [CreatedObject] = [], drops: [Postcondition] = []) -> Plan {
  var p = plan(intent)
  for (i, phase) in p.phases.enumerated() where phase.phase != .backfill {
    p.phases[i].steps[0].creates = phase.phase == .expand ? creates : []
    if phase.phase == .contract { p.phases[i].steps[0].postconditions = drops }
  }
  return p
}

/// The journal's states for intents whose listed phases are done (their one step).
private func done(_ phases: [String: [Phase]]) -> [String: [String: StepState]] {
  phases.mapValues { Dictionary(uniqueKeysWithValues: $0.map { ("\($0.rawValue)/01-x", StepState.done) }) }
}

/// The ordering rules of docs/executor.md, decided without a database.
@Suite struct PhaseSchedulerTests {
  let plans = [plan("a"), plan("b"), plan("c")]

  /// b's expand creates what a's contract drops: it waits for that contract, and `advance --to
  /// contract` runs a's contract between them. Every kind of object, schema-qualified or not.
  @Test(arguments: [
    (
      CreatedObject.table(QualifiedName(schema: "public", "products")),
      Postcondition.tableAbsent(QualifiedName(schema: "public", "products")), "table public.products"
    ),
    (.table(QualifiedName("products")), .tableAbsent(QualifiedName(schema: "public", "products")), "table public.products"),
    (.column(QualifiedName("orders"), "note"), .columnAbsent(QualifiedName("orders"), "note"), "column orders.note"),
    (
      .index(QualifiedName("orders_note_idx"), on: QualifiedName("orders")), .indexAbsent(QualifiedName("orders_note_idx")),
      "index orders_note_idx"
    ),
    (
      .constraint(QualifiedName("orders"), "orders_note_check"), .constraintAbsent(QualifiedName("orders"), "orders_note_check"),
      "constraint orders_note_check on orders"
    ),
    (.view(QualifiedName("v")), .viewAbsent(QualifiedName("v")), "view v"),
    (.trigger(QualifiedName("orders"), "t"), .triggerAbsent(QualifiedName("orders"), "t"), "trigger t on orders"),
    (.function(QualifiedName("f")), .functionAbsent(QualifiedName("f")), "function f()"),
  ])
  func aCreationWaitsForTheEarlierContractThatDropsTheName(created: CreatedObject, dropped: Postcondition, named: String) {
    let plans = [plan("a", drops: [dropped]), plan("b", creates: [created])]
    var s = PhaseScheduler(plans: plans, states: [:])
    #expect(
      s.advance(["a", "b"], to: .contract).run.map(\.description) == [
        "a expand", "a backfill", "a contract", "b expand", "b backfill", "b contract",
      ])
    var t = PhaseScheduler(plans: plans, states: done(["a": [.expand, .backfill]]))
    let apply = t.apply(.expand, to: ["b"])
    #expect(
      apply.blocked == [
        PhaseOrderProblem(
          intent: "b", phase: .expand, reason: .waitsFor(intent: "a", phase: .contract), conflict: .recreates(named))
      ])
    #expect(
      apply.blocked.first?.explanation
        == "b expand waits for a: its contract phase drops \(named), which this expand creates again (`pgphase advance --to contract` runs a's contract first)"
    )
    // Once a is contracted, b goes on.
    var u = PhaseScheduler(plans: plans, states: done(["a": Phase.allCases]))
    #expect(u.apply(.expand, to: ["b"]).run == ["b"])
  }

  /// b uses a column whose old version a's contract drops for a new one (a type change keeps
  /// the name): what b's expand makes on it (an index, a check) would go with the old column, so
  /// it waits for that contract. Another column, or another table's, keeps the usual order.
  @Test func aLaterIntentUsingAReplacedColumnWaitsForTheContract() {
    let orders = QualifiedName(schema: "public", "orders")
    func pair(uses: SchemaSnapshot.ColumnPath) -> [Plan] {
      var a = plan("a")
      a.phases[2].steps[0].preconditions = [.columnReplaceable(orders, "amount", nullable: true, default: nil)]
      var b = plan("b")
      b.uses = [uses]
      return [a, b]
    }
    var s = PhaseScheduler(plans: pair(uses: .init(table: QualifiedName("orders"), column: "amount")), states: [:])
    #expect(
      s.advance(["a", "b"], to: .contract).run.map(\.description) == [
        "a expand", "a backfill", "a contract", "b expand", "b backfill", "b contract",
      ])
    var t = PhaseScheduler(
      plans: pair(uses: .init(table: orders, column: "amount")), states: done(["a": [.expand, .backfill]]))
    #expect(
      t.apply(.expand, to: ["b"]).blocked.first?.explanation
        == "b expand waits for a: its contract phase replaces column public.orders.amount, which this intent uses (`pgphase advance --to contract` runs a's contract first)"
    )
    for other in [
      SchemaSnapshot.ColumnPath(table: orders, column: "note"),
      SchemaSnapshot.ColumnPath(table: QualifiedName(schema: "public", "invoices"), column: "amount"),
      SchemaSnapshot.ColumnPath(table: QualifiedName(schema: "shop", "orders"), column: "amount"),
    ] {
      var u = PhaseScheduler(plans: pair(uses: other), states: [:])
      #expect(
        u.advance(["a", "b"], to: .contract).run.map(\.description) == [
          "a expand", "a backfill", "b expand", "b backfill", "a contract", "b contract",
        ], "\(other)")
    }
  }

  /// Other names, another table, or another schema: the usual order, contracts last.
  @Test func unrelatedObjectsKeepTheUsualOrder() {
    let products = QualifiedName(schema: "public", "products")
    for (created, dropped) in [
      (CreatedObject.table(QualifiedName(schema: "shop", "products")), Postcondition.tableAbsent(products)),
      (.column(QualifiedName("orders"), "note"), .columnAbsent(QualifiedName("invoices"), "note")),
      (.column(QualifiedName("orders"), "note"), .tableAbsent(QualifiedName("note"))),
      (.table(products), .columnAbsent(products, "legacy")),
    ] {
      var s = PhaseScheduler(plans: [plan("a", drops: [dropped]), plan("b", creates: [created])], states: [:])
      #expect(
        s.advance(["a", "b"], to: .contract).run.map(\.description) == [
          "a expand", "a backfill", "b expand", "b backfill", "a contract", "b contract",
        ], "\(created) / \(dropped)")
    }
  }

  @Test func phasesOfAnIntentRunInOrder() {
    var s = PhaseScheduler(plans: plans, states: [:])
    #expect(s.nextPhase(of: "a") == .expand)
    let contract = s.apply(.contract, to: ["a"])
    #expect(contract.run.isEmpty)
    #expect(contract.blocked == [PhaseOrderProblem(intent: "a", phase: .contract, reason: .earlierPhase(.expand))])
    #expect(s.apply(.expand, to: ["a"]).run == ["a"])
    // Scheduled counts as done for what follows in the same run.
    #expect(s.isDone(.expand, of: "a"))
    #expect(s.apply(.expand, to: ["a"]).alreadyDone == ["a"])
  }

  /// Expand and backfill of an intent wait until every earlier intent is backfilled.
  @Test func expandWaitsForEveryEarlierIntentsBackfill() {
    var s = PhaseScheduler(plans: plans, states: done(["a": [.expand]]))
    let decision = s.apply(.expand, to: ["a", "b", "c"])
    #expect(decision.run.isEmpty)
    #expect(decision.alreadyDone == ["a"])
    #expect(
      decision.blocked == [
        PhaseOrderProblem(intent: "b", phase: .expand, reason: .waitsFor(intent: "a", phase: .backfill)),
        PhaseOrderProblem(intent: "c", phase: .expand, reason: .waitsFor(intent: "a", phase: .backfill)),
      ])
    #expect(
      decision.blocked[0].explanation
        == "b expand waits for a: its backfill phase is not done (intents apply in id order; `pgphase advance --to backfill` runs them in that order)"
    )
    // Once a is backfilled, b may expand, and c waits for b.
    var after = PhaseScheduler(plans: plans, states: done(["a": [.expand, .backfill]]))
    let next = after.apply(.expand, to: ["b", "c"])
    #expect(next.run == ["b"])
    #expect(next.blocked.map(\.reason) == [.waitsFor(intent: "b", phase: .backfill)])
  }

  /// Contract waits until every earlier intent is contracted; a later intent's expand does not.
  @Test func contractWaitsForEveryEarlierContract() {
    let state = done(["a": [.expand, .backfill], "b": [.expand, .backfill]])
    var s = PhaseScheduler(plans: plans, states: state)
    let decision = s.apply(.contract, to: ["b"])
    #expect(
      decision.blocked == [PhaseOrderProblem(intent: "b", phase: .contract, reason: .waitsFor(intent: "a", phase: .contract))])
    #expect(s.blocker(for: .expand, of: "c") == nil)
    #expect(s.apply(.contract, to: ["a", "b"]).run == ["a", "b"])
  }

  /// An empty phase is always done: an intent with only a contract step does not hold others up
  /// in expand.
  @Test func emptyPhasesAreDone() {
    let onlyContract = [plan("a", [.contract]), plan("b")]
    var s = PhaseScheduler(plans: onlyContract, states: [:])
    #expect(s.nextPhase(of: "a") == .contract)
    #expect(s.apply(.expand, to: ["b"]).run == ["b"])
    #expect(s.blocker(for: .contract, of: "b")?.intent == "a")
  }

  /// `advance --to contract` takes every intent through in the right order in one run: expand and
  /// backfill interleaved per intent, then the contracts in id order.
  @Test func advanceToContractRunsEverythingInOrder() {
    var s = PhaseScheduler(plans: plans, states: [:])
    let decision = s.advance(["a", "b", "c"], to: .contract)
    #expect(decision.waiting.isEmpty)
    #expect(
      decision.run.map(\.description) == [
        "a expand", "a backfill", "b expand", "b backfill", "c expand", "c backfill", "a contract", "b contract", "c contract",
      ])
    #expect(s.nextPhase(of: "c") == nil)
  }

  /// `advance --to backfill` stops before contract; `advance` alone runs the next due phase of each
  /// intent once, and says who waits (the first wait of each intent).
  @Test func advanceStopsAtTheTargetOrAtTheNextDuePhase() {
    var toBackfill = PhaseScheduler(plans: plans, states: [:])
    #expect(toBackfill.advance(["a", "b", "c"], to: .backfill).run.count == 6)
    #expect(toBackfill.nextPhase(of: "a") == .contract)

    var once = PhaseScheduler(plans: plans, states: [:])
    let decision = once.advance(["a", "b", "c"], to: nil)
    #expect(decision.run.map(\.description) == ["a expand"])
    #expect(
      decision.waiting == [
        PhaseOrderProblem(intent: "b", phase: .expand, reason: .waitsFor(intent: "a", phase: .backfill)),
        PhaseOrderProblem(intent: "c", phase: .expand, reason: .waitsFor(intent: "a", phase: .backfill)),
      ])
    #expect(decision.waiting[0].summary == "b expand waits for a: its backfill phase is not done")
  }

  /// Only the named intents run, but unnamed earlier ones still hold them up.
  @Test func namedIntentsStillWaitForEarlierOnes() {
    var s = PhaseScheduler(plans: plans, states: [:])
    let decision = s.advance(["c"], to: .contract)
    #expect(decision.run.isEmpty)
    #expect(decision.waiting.map(\.reason) == [.waitsFor(intent: "a", phase: .expand)])
  }

  /// A step that is running or failed leaves its phase not done.
  @Test func onlyDoneStepsCountAsDone() {
    for state in [StepState.running, .failed, .undone, .pending] {
      let s = PhaseScheduler(plans: plans, states: ["a": ["expand/01-x": state]])
      #expect(!s.isDone(.expand, of: "a"), "\(state)")
    }
  }
}
