package import PGPhaseModel

/// Decides which phases of which intents run now, from the plans and the journal's step states
/// alone: the ordering rules of docs/executor.md as a pure value, tested without a server.
///
/// Intents apply in id order. The app built for an intent assumes every earlier intent is
/// expanded and backfilled, and contracts run in order, so expand and backfill of an intent wait
/// until every earlier intent is backfilled, and contract waits until every earlier intent is
/// contracted. Within an intent, phases run in order. A phase being scheduled counts as done for
/// the decisions after it, so one run can take a whole sequence of intents through in order.
package struct PhaseScheduler: Sendable {
  /// Per intent, the phases whose steps are all done (or scheduled in this run).
  private var done: [String: Set<Phase>] = [:]
  /// Every intent of the plans folder, sorted: the apply order.
  private let order: [String]

  /// - Parameter states: the journal's state of each step, by intent and step id.
  package init(plans: [Plan], states: [String: [String: StepState]]) {
    order = plans.map(\.intent).sorted()
    for plan in plans {
      let steps = states[plan.intent] ?? [:]
      done[plan.intent] = Set(Phase.allCases.filter { p in plan.steps(in: p).allSatisfy { steps[$0.id] == .done } })
    }
  }

  /// Whether every step of `phase` is done (an empty phase always is).
  package func isDone(_ phase: Phase, of intent: String) -> Bool { done[intent]?.contains(phase) ?? false }

  /// The first phase not done; nil when the intent is fully applied.
  package func nextPhase(of intent: String) -> Phase? { Phase.allCases.first { !isDone($0, of: intent) } }

  /// Counts `phase` as done for the decisions that follow.
  package mutating func markDone(_ phase: Phase, of intent: String) { done[intent, default: []].insert(phase) }

  /// The earliest (intent, phase) that must finish before `intent` may run `phase`.
  package func blocker(for phase: Phase, of intent: String) -> (intent: String, phase: Phase)? {
    let needed: [Phase] = phase == .contract ? Phase.allCases : [.expand, .backfill]
    for earlier in order where earlier < intent {
      if let missing = needed.first(where: { !isDone($0, of: earlier) }) { return (earlier, missing) }
    }
    return nil
  }

  /// What `apply --phase` does with each of `selected` (in order).
  package struct ApplyDecision: Sendable, Equatable {
    /// Intents to run the phase for, in order.
    package var run: [String] = []
    /// Intents whose phase is already done.
    package var alreadyDone: [String] = []
    /// Intents that cannot run it now (their own earlier phase, or an earlier intent, is not done).
    package var blocked: [PhaseOrderProblem] = []
  }

  /// Decides `apply --phase phase` for `selected`, marking what it schedules as done.
  package mutating func apply(_ phase: Phase, to selected: [String]) -> ApplyDecision {
    var decision = ApplyDecision()
    for id in selected {
      if isDone(phase, of: id) {
        decision.alreadyDone.append(id)
        continue
      }
      if let next = nextPhase(of: id), next < phase {
        decision.blocked.append(PhaseOrderProblem(intent: id, phase: phase, reason: .earlierPhase(next)))
        continue
      }
      if let wait = blocker(for: phase, of: id) {
        decision.blocked.append(
          PhaseOrderProblem(intent: id, phase: phase, reason: .waitsFor(intent: wait.intent, phase: wait.phase)))
        continue
      }
      markDone(phase, of: id)
      decision.run.append(id)
    }
    return decision
  }

  /// What `advance` does.
  package struct AdvanceDecision: Sendable, Equatable {
    /// (phase, intent) pairs in the order they run.
    package var run: [Scheduled] = []
    /// Per intent, the first phase it waits with, and for whom; sorted by intent.
    package var waiting: [PhaseOrderProblem] = []
  }

  /// One phase of one intent, scheduled.
  package struct Scheduled: Sendable, Equatable, CustomStringConvertible {
    package var phase: Phase
    package var intent: String
    package init(_ phase: Phase, _ intent: String) {
      self.phase = phase
      self.intent = intent
    }
    package var description: String { "\(intent) \(phase.rawValue)" }
  }

  /// Decides `advance` for `selected`: without `target`, the next due phase of each; with it,
  /// every phase up to and including `target`, expand and backfill first (interleaved per intent,
  /// as the order rule needs), then the contracts.
  package mutating func advance(_ selected: [String], to target: Phase?) -> AdvanceDecision {
    var decision = AdvanceDecision()
    var waiting: [String: PhaseOrderProblem] = [:]
    let stages: [[Phase]] = target == nil ? [Phase.allCases] : [[.expand, .backfill], [.contract]]
    for stage in stages {
      for id in selected {
        if target == nil, decision.run.contains(where: { $0.intent == id }) { continue }
        for phase in stage where target.map({ phase <= $0 }) ?? true {
          guard waiting[id] == nil, !isDone(phase, of: id) else { continue }
          guard nextPhase(of: id) == phase else { break }
          if let wait = blocker(for: phase, of: id) {
            waiting[id] = PhaseOrderProblem(intent: id, phase: phase, reason: .waitsFor(intent: wait.intent, phase: wait.phase))
            break
          }
          markDone(phase, of: id)
          decision.run.append(Scheduled(phase, id))
          if target == nil { break }
        }
      }
    }
    decision.waiting = waiting.keys.sorted().compactMap { waiting[$0] }
    return decision
  }
}
