package import PGPhaseModel

/// Decides which phases of which intents run now, from the plans and the journal's step states
/// alone: the ordering rules of docs/executor.md as a pure value, tested without a server.
///
/// Intents apply in id order. The app built for an intent assumes every earlier intent is
/// expanded and backfilled, and contracts run in order, so expand and backfill of an intent wait
/// until every earlier intent is backfilled, and contract waits until every earlier intent is
/// contracted. Within an intent, phases run in order. A phase being scheduled counts as done for
/// the decisions after it, so one run can take a whole sequence of intents through in order.
///
/// One more edge comes from the objects the plans touch: when an intent's expand or backfill
/// creates an object (a table, column, index, constraint, view, trigger or function, as its
/// steps declare) that an earlier intent's contract drops, the creation waits for that contract,
/// which would otherwise meet the new object (`relation "products" already exists` at the
/// create, or the contract dropping what the later intent made). `advance --to contract` then
/// runs the earlier contract between the two.
package struct PhaseScheduler: Sendable {
  /// Per intent, the phases whose steps are all done (or scheduled in this run).
  private var done: [String: Set<Phase>] = [:]
  /// Every intent of the plans folder, sorted: the apply order.
  private let order: [String]
  /// Per intent, what its contract drops (its steps' `*_absent` postconditions).
  private let contractDrops: [String: [ObjectName]]
  /// Per intent, what its expand and backfill create.
  private let earlyCreates: [String: [ObjectName]]
  /// Per intent, the columns its contract replaces (drops the old column of, in favour of a new
  /// one): what a later intent's objects on those columns would be dropped with.
  private let contractReplaces: [String: [SchemaSnapshot.ColumnPath]]
  /// Per intent, the columns its changes use (the plan's `uses`).
  private let uses: [String: [SchemaSnapshot.ColumnPath]]

  /// - Parameter states: the journal's state of each step, by intent and step id.
  package init(plans: [Plan], states: [String: [String: StepState]]) {
    order = plans.map(\.intent).sorted()
    for plan in plans {
      let steps = states[plan.intent] ?? [:]
      done[plan.intent] = Set(Phase.allCases.filter { p in plan.steps(in: p).allSatisfy { steps[$0.id] == .done } })
    }
    contractDrops = Dictionary(
      plans.map { plan in
        (plan.intent, plan.steps(in: .contract).flatMap { $0.postconditions.compactMap(ObjectName.init(absent:)) })
      }
    ) { _, last in last }
    earlyCreates = Dictionary(
      plans.map { plan in
        (
          plan.intent,
          (plan.steps(in: .expand) + plan.steps(in: .backfill)).flatMap { $0.createdObjects.map(ObjectName.init(created:)) }
        )
      }
    ) { _, last in last }
    contractReplaces = Dictionary(
      plans.map { plan in
        (
          plan.intent,
          plan.steps(in: .contract).flatMap(\.preconditions).map { p in
            switch p {
            case .columnReplaceable(let t, let c, _, _, _): SchemaSnapshot.ColumnPath(table: t, column: c)
            }
          }
        )
      }
    ) { _, last in last }
    uses = Dictionary(plans.map { ($0.intent, $0.uses ?? []) }) { _, last in last }
  }

  /// An object as far as ordering cares: its kind, the table it is on, and its name. A name
  /// without a schema (resolved along the search_path) matches the same name in any schema:
  /// the cost of a wrong match is one wait, of a missed one a failed step.
  struct ObjectName: Sendable, Equatable, CustomStringConvertible {
    var kind: CreatedObject.Kind
    var table: QualifiedName?
    var name: QualifiedName
    var description: String

    private init(kind: CreatedObject.Kind, table: QualifiedName?, name: QualifiedName, description: String) {
      self.kind = kind
      self.table = table
      self.name = name
      self.description = description
    }

    init(created object: CreatedObject) {
      kind = object.kind
      description = object.description
      switch object {
      case .table(let n), .view(let n), .function(let n): name = n
      case .index(let n, _): name = n
      case .column(let t, let c), .constraint(let t, let c), .trigger(let t, let c):
        table = t
        name = QualifiedName(c)
      }
    }

    init?(absent condition: Postcondition) {
      switch condition {
      case .tableAbsent(let t): self.init(created: .table(t))
      case .viewAbsent(let v): self.init(created: .view(v))
      case .functionAbsent(let f): self.init(created: .function(f))
      case .columnAbsent(let t, let c): self.init(created: .column(t, c))
      case .constraintAbsent(let t, let c): self.init(created: .constraint(t, c))
      case .triggerAbsent(let t, let c): self.init(created: .trigger(t, c))
      case .indexAbsent(let i):
        // The condition does not say the index's table; indexes are matched by name alone.
        self.init(kind: .index, table: nil, name: i, description: "index \(i)")
      default: return nil
      }
    }

    func matches(_ other: ObjectName) -> Bool {
      kind == other.kind && Self.same(name, other.name) && Self.same(table, other.table)
    }

    private static func same(_ a: QualifiedName?, _ b: QualifiedName?) -> Bool {
      guard let a, let b else { return a == nil && b == nil }
      return a.name == b.name && (a.schema == nil || b.schema == nil || a.schema == b.schema)
    }
  }

  /// Whether every step of `phase` is done (an empty phase always is).
  package func isDone(_ phase: Phase, of intent: String) -> Bool { done[intent]?.contains(phase) ?? false }

  /// The first phase not done; nil when the intent is fully applied.
  package func nextPhase(of intent: String) -> Phase? { Phase.allCases.first { !isDone($0, of: intent) } }

  /// Counts `phase` as done for the decisions that follow.
  package mutating func markDone(_ phase: Phase, of intent: String) { done[intent, default: []].insert(phase) }

  /// The earliest (intent, phase) that must finish before `intent` may run `phase`, and, when
  /// it is a contract, what that contract drops and `phase` creates again.
  package func blocker(for phase: Phase, of intent: String) -> (
    intent: String, phase: Phase, conflict: PhaseOrderProblem.Conflict?
  )? {
    let needed: [Phase] = phase == .contract ? Phase.allCases : [.expand, .backfill]
    for earlier in order where earlier < intent {
      if let missing = needed.first(where: { !isDone($0, of: earlier) }) { return (earlier, missing, nil) }
    }
    guard phase != .contract else { return nil }
    let creates = earlyCreates[intent] ?? []
    let used = uses[intent] ?? []
    for earlier in order where earlier < intent && !isDone(.contract, of: earlier) {
      if let dropped = (contractDrops[earlier] ?? []).first(where: { d in creates.contains { $0.matches(d) } }) {
        return (earlier, .contract, .recreates(dropped.description))
      }
      if let replaced = (contractReplaces[earlier] ?? []).first(where: { r in used.contains { Self.same($0, r) } }) {
        return (earlier, .contract, .uses("column \(replaced)"))
      }
    }
    return nil
  }

  /// The same column, a name without a schema matching the name in any schema (as `ObjectName`).
  private static func same(_ a: SchemaSnapshot.ColumnPath, _ b: SchemaSnapshot.ColumnPath) -> Bool {
    a.column == b.column && a.table.name == b.table.name
      && (a.table.schema == nil || b.table.schema == nil || a.table.schema == b.table.schema)
  }

  private func problem(
    _ intent: String, _ phase: Phase, _ wait: (intent: String, phase: Phase, conflict: PhaseOrderProblem.Conflict?)
  ) -> PhaseOrderProblem {
    PhaseOrderProblem(
      intent: intent, phase: phase, reason: .waitsFor(intent: wait.intent, phase: wait.phase), conflict: wait.conflict)
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
        decision.blocked.append(problem(id, phase, wait))
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
  /// as the order rule needs), then the contracts, and again while that lets an intent waiting
  /// for an earlier contract go on.
  package mutating func advance(_ selected: [String], to target: Phase?) -> AdvanceDecision {
    var decision = AdvanceDecision()
    var waiting: [String: PhaseOrderProblem] = [:]
    let stages: [[Phase]] = target == nil ? [Phase.allCases] : [[.expand, .backfill], [.contract]]
    var progressed = true
    while progressed {
      progressed = false
      waiting = [:]
      for stage in stages {
        for id in selected {
          if target == nil, decision.run.contains(where: { $0.intent == id }) { continue }
          for phase in stage where target.map({ phase <= $0 }) ?? true {
            guard waiting[id] == nil, !isDone(phase, of: id) else { continue }
            guard nextPhase(of: id) == phase else { break }
            if let wait = blocker(for: phase, of: id) {
              waiting[id] = problem(id, phase, wait)
              break
            }
            markDone(phase, of: id)
            decision.run.append(Scheduled(phase, id))
            progressed = true
            if target == nil { break }
          }
        }
      }
      if target == nil { break }
    }
    decision.waiting = waiting.keys.sorted().compactMap { waiting[$0] }
    return decision
  }
}
