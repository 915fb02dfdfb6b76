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

/// The journal's states for intents whose listed phases are done (their one step).
private func done(_ phases: [String: [Phase]]) -> [String: [String: StepState]] {
  phases.mapValues { Dictionary(uniqueKeysWithValues: $0.map { ("\($0.rawValue)/01-x", StepState.done) }) }
}

/// The ordering rules of docs/executor.md, decided without a database.
@Suite struct PhaseSchedulerTests {
  let plans = [plan("a"), plan("b"), plan("c")]

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
