import Foundation

/// The legacy reader of plan format 1 (pgphase before typed steps), kept so that committed
/// plans folders and journals written by earlier versions still apply, verify and repair.
///
/// Format 1 stored each step's SQL, a `transactional` flag and, for backfills, a `backfill`
/// spec, but not what the step is: the executor of that version recognised index steps from
/// their SQL. Reading a format-1 plan derives the action the same way, once, here, so that
/// nothing on the executor's run path looks at SQL text:
/// - a transactional step is a transaction (`sql` steps keep being `sql`), a lone
///   `VALIDATE CONSTRAINT` with the matching check a validation;
/// - a step with a `backfill` spec is that backfill;
/// - a non-transactional step that is one `REINDEX INDEX CONCURRENTLY` or one
///   `DROP INDEX CONCURRENTLY` rebuilds or drops that index;
/// - a non-transactional `CREATE [UNIQUE] INDEX CONCURRENTLY` with an `index_exists`
///   postcondition builds that index (a build whose definition cannot be read is refused: re-plan);
/// - any other non-transactional step is user SQL, run without lock_timeout when it uses
///   CONCURRENTLY.
/// Steps read from format 1 have no source location.
///
/// `project` goes the other way, for the one place the old bytes matter: the plan hash, which
/// format 1 computed over its own JSON (journal rows and release ids made from it stay valid).
enum PlanFormat1 {
  struct Plan: Codable {
    var format: Int
    var intent: String
    var description: String?
    var source: String
    var lockTimeout: String
    var backfillBatchSize: Int?
    var phases: [Phase]

    enum CodingKeys: String, CodingKey {
      case format, intent, description, source, phases
      case lockTimeout = "lock_timeout"
      case backfillBatchSize = "backfill_batch_size"
    }
  }

  struct Phase: Codable {
    var phase: PGPhaseModel.Phase
    var steps: [Step]
  }

  struct Step: Codable {
    var id: String
    var phase: PGPhaseModel.Phase
    var change: Int
    var operation: String
    var summary: String
    var sql: [String]
    var transactional: Bool
    var locks: [LockedRelation]
    var cost: CostClass
    var undo: Undo?
    var postconditions: [Postcondition]
    var preconditions: [Precondition]?
    var backfill: Backfill?
  }

  struct Backfill: Codable {
    var table: QualifiedName
    var assignments: [Assignment]
    var pending: String
    var bypassTrigger: String?
  }

  /// Reads format-1 JSON into the current model.
  static func read(_ data: Data) throws(PlanReadError) -> PGPhaseModel.Plan {
    let old: Plan
    do {
      old = try JSONDecoder().decode(Plan.self, from: data)
    } catch {
      throw PlanReadError.malformed(PlanDocument.describe(error))
    }
    var plan = PGPhaseModel.Plan(
      intent: old.intent, description: old.description, source: old.source, lockTimeout: old.lockTimeout,
      backfillBatchSize: old.backfillBatchSize, phases: [])
    for phase in old.phases {
      var steps: [PGPhaseModel.Step] = []
      for step in phase.steps {
        steps.append(
          PGPhaseModel.Step(
            id: step.id, phase: step.phase, change: step.change, location: nil, operation: step.operation,
            summary: step.summary, sql: step.sql, action: try action(of: step), locks: step.locks, cost: step.cost,
            undo: step.undo, postconditions: step.postconditions, preconditions: step.preconditions ?? []))
      }
      plan.phases.append(PhasePlan(phase: phase.phase, steps: steps))
    }
    return plan
  }

  /// The action of a format-1 step, derived as that format's executor did (see the type).
  static func action(of step: Step) throws(PlanReadError) -> StepAction {
    if let b = step.backfill {
      guard !step.transactional else {
        throw PlanReadError.unconvertible(step: step.id, reason: "a backfill marked transactional")
      }
      return .backfill(
        BackfillSpec(table: b.table, assignments: b.assignments, pending: b.pending, bypassTrigger: b.bypassTrigger))
    }
    if step.transactional {
      if step.operation == "sql" { return .sql(transactional: true, concurrently: false) }
      // A validation ran as any transaction; it is typed as one when its SQL and check agree.
      if step.sql.count == 1, case .validateConstraint(_, let name) = StatementShape(step.sql[0]),
        step.postconditions.count == 1, case .constraintExists(let table, name, true) = step.postconditions[0]
      {
        return .validateConstraint(table: table, name: name)
      }
      return .transaction
    }
    let shape =
      step.sql.count == 1
      ? StatementShape(step.sql[0]) : .other(concurrently: step.sql.contains { StatementShape($0).concurrently })
    switch shape {
    case .reindexIndexConcurrently(let index): return .rebuildIndex(index)
    case .dropIndexConcurrently(let index): return .dropIndex(index)
    case .createIndexConcurrently(let unique, _, _, let definition):
      guard let post = step.postconditions.first(where: { $0.kind == .indexExists }),
        case .indexExists(let object, let table, _) = post
      else {
        return .sql(transactional: false, concurrently: true)
      }
      let index = object.schema == nil ? table.sibling(object.name) : object
      return .buildIndex(IndexBuild(index: index, table: table, unique: unique, definition: definition))
    case .validateConstraint:
      return .sql(transactional: false, concurrently: false)
    case .other(let concurrently):
      if step.postconditions.contains(where: { $0.kind == .indexExists }),
        step.sql.contains(where: StatementShape.beginsIndexBuild)
      {
        // The old executor built such a step as an index when its SQL matched; this one does not
        // parse, so which index it builds, and how, is not certain.
        throw PlanReadError.unconvertible(step: step.id, reason: "an index build whose statement cannot be read")
      }
      return .sql(transactional: false, concurrently: concurrently)
    }
  }

  /// The plan in format 1, as that version wrote it.
  static func project(_ plan: PGPhaseModel.Plan) -> Plan {
    Plan(
      format: 1, intent: plan.intent, description: plan.description, source: plan.source, lockTimeout: plan.lockTimeout,
      backfillBatchSize: plan.backfillBatchSize,
      phases: plan.phases.map { phase in
        Phase(
          phase: phase.phase,
          steps: phase.steps.map { s in
            Step(
              id: s.id, phase: s.phase, change: s.change, operation: s.operation, summary: s.summary, sql: s.sql,
              transactional: s.transactional, locks: s.locks, cost: s.cost, undo: s.undo, postconditions: s.postconditions,
              preconditions: s.preconditions.isEmpty ? nil : s.preconditions,
              backfill: s.backfill.map {
                Backfill(table: $0.table, assignments: $0.assignments, pending: $0.pending, bypassTrigger: $0.bypassTrigger)
              })
          })
      })
  }
}
