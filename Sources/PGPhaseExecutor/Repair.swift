import Foundation
import PGPhaseModel
import PGPhasePostgres

/// What `pgphase repair` did, and what `verify` says afterwards.
public struct RepairReport: Sendable, Codable, Equatable {
  /// One thing repair did (`Entry<ActionKind>`) or left for a person (`Entry<UnresolvedKind>`):
  /// what kind, where, and a message for people.
  public struct Entry<Kind: Sendable & Codable & Equatable>: Sendable, Codable, Equatable, CustomStringConvertible {
    /// What repair did, or why it left the problem.
    public var kind: Kind
    /// The intent of the step concerned, if any.
    public var intent: String?
    /// The step concerned, if any.
    public var step: String?
    /// The index or constraint concerned, if any.
    public var object: String?
    /// For people, e.g. `finished: index public.t_b_idx is built and valid`.
    public var message: String

    /// An entry of `kind`.
    public init(kind: Kind, intent: String? = nil, step: String? = nil, object: String? = nil, message: String) {
      self.kind = kind
      self.intent = intent
      self.step = step
      self.object = object
      self.message = message
    }

    /// `<intent> <step>: message`, or the message alone when no step is concerned.
    public var description: String { place(intent, step).map { "\($0): \(message)" } ?? message }
  }

  /// What repair did.
  public enum ActionKind: String, Sendable, Codable {
    /// A step left running or failed was finished (run again, or found done in the catalog).
    case finishedStep = "finished_step"
    /// A step that could not be finished was undone, so the next apply runs it again.
    case undidStep = "undid_step"
    /// A missing index of a done step was built.
    case builtIndex = "built_index"
    /// An invalid index of a done step was dropped and built again.
    case rebuiltIndex = "rebuilt_index"
    /// A constraint a done step validated, found NOT VALID, was validated.
    case validatedConstraint = "validated_constraint"
    /// An invalid `_ccnew`/`_ccold` leftover of REINDEX CONCURRENTLY was dropped.
    case droppedLeftover = "dropped_leftover"
  }

  /// Why a problem was left for a person.
  public enum UnresolvedKind: String, Sendable, Codable {
    /// The step is running in a live backend: someone is applying; not touched.
    case stepRunning = "step_running"
    /// The step could be neither finished nor undone.
    case stepNotFinished = "step_not_finished"
    /// An invalid or missing index could not be built.
    case indexNotRebuilt = "index_not_rebuilt"
    /// A NOT VALID constraint could not be validated (rows violate it).
    case constraintNotValidated = "constraint_not_validated"
    /// An invalid index pgphase did not build: never touched.
    case foreignInvalidIndex = "foreign_invalid_index"
  }

  /// One change repair made.
  public typealias Action = Entry<ActionKind>
  /// A problem repair left for a person, with why.
  public typealias Unresolved = Entry<UnresolvedKind>

  /// Every change made, in order.
  public var actions: [Action]
  /// Problems repair could not resolve (each with why), left for a person.
  public var unresolved: [Unresolved]
  /// The verification run after the repair.
  public var verify: VerifyReport

  /// Nothing was changed.
  public var nothingToDo: Bool { actions.isEmpty }

  /// A report of what repair did and found.
  public init(actions: [Action], unresolved: [Unresolved], verify: VerifyReport) {
    self.actions = actions
    self.unresolved = unresolved
    self.verify = verify
  }

  enum CodingKeys: String, CodingKey {
    case actions, unresolved, verify
    case nothingToDo = "nothing_to_do"
  }

  /// Reads the JSON `encode(to:)` writes (`nothing_to_do` is derived).
  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    actions = try c.decode([Action].self, forKey: .actions)
    unresolved = try c.decode([Unresolved].self, forKey: .unresolved)
    verify = try c.decode(VerifyReport.self, forKey: .verify)
  }

  /// Writes `nothing_to_do` too.
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(actions, forKey: .actions)
    try c.encode(unresolved, forKey: .unresolved)
    try c.encode(verify, forKey: .verify)
    try c.encode(nothingToDo, forKey: .nothingToDo)
  }
}

/// `<intent> <step>`, `<intent>`, or nil.
private func place(_ intent: String?, _ step: String?) -> String? {
  guard let intent else { return nil }
  return step.map { "\(intent) \($0)" } ?? intent
}

extension Executor {
  /// Resolves what runs left behind, under the runner lock, using the plans the journal recorded:
  /// 1. every step left running (its runner gone) or failed: finished when its postconditions
  ///    hold or it can run again (index builds, backfills, atomic steps); otherwise undone when
  ///    its phase is expand or backfill and it has an undo; otherwise reported;
  /// 2. every index pgphase built that is invalid or missing: dropped concurrently and built again;
  ///    `_ccnew`/`_ccold` leftovers of them: dropped;
  /// 3. constraints a done step validated that are NOT VALID again: validated;
  /// then verifies. Invalid indexes pgphase does not own are reported and never touched.
  /// Idempotent: with nothing to resolve it changes nothing and `nothingToDo` is true.
  public func repair() throws -> RepairReport {
    var report = RepairReport(
      actions: [], unresolved: [],
      verify: VerifyReport(checkedSteps: 0, checkedPostconditions: 0, uncheckableSteps: 0, findings: [], inProgress: []))
    try withSession { runner in
      let c = runner.c
      var actions: [RepairReport.Action] = []
      var unresolved: [RepairReport.Unresolved] = []
      let jp = try JournalPlans.read(on: c)
      // 1. Steps left running or failed, in apply order.
      for (lp, step) in jp.orderedSteps {
        guard let record = jp.state(lp.plan.intent, step.id), record.state == .running || record.state == .failed else {
          continue
        }
        let id = lp.plan.intent
        if record.state == .running, let pid = record.backendPID, try Verifier.backendAlive(pid, on: c) {
          unresolved.append(
            .init(kind: .stepRunning, intent: id, step: step.id, message: "is running in live backend \(pid); not touched"))
          continue
        }
        try runner.checkInterrupted()
        switch try resolve(step, record: record, of: lp, runner: runner) {
        case .finished(let what): actions.append(.init(kind: .finishedStep, intent: id, step: step.id, message: what))
        case .undone(let what): actions.append(.init(kind: .undidStep, intent: id, step: step.id, message: what))
        case .failure(let why): unresolved.append(.init(kind: .stepNotFinished, intent: id, step: step.id, message: why))
        }
      }
      // 2 and 3. Done steps whose index or validated constraint drifted in a repairable way.
      let current = try Journal.steps(intent: nil, on: c)
      let fresh = JournalPlans(plans: jp.plans, journal: current)
      for e in fresh.expectations().expected {
        guard let lp = fresh.plans.first(where: { $0.plan.intent == e.intent }) else { continue }
        switch e.postcondition {
        case .indexExists(_, let table, _):
          guard let index = e.step.action.index, e.step.action.kind != .dropIndex, try !runner.violations(of: e.step).isEmpty
          else { continue }
          let state = try Catalog(c).indexState(name: index)
          guard state == nil || state?.isUsable == false, try Catalog(c).relationKind(table) != nil else { continue }
          try runner.checkInterrupted()
          do {
            let note = try runner.runIndexStep(e.step, of: lp) ?? ""
            actions.append(
              .init(
                kind: state == nil ? .builtIndex : .rebuiltIndex, intent: e.intent, step: e.step.id, object: index.description,
                message: "\(state == nil ? "built missing" : "rebuilt invalid") index \(index)\(note)"))
          } catch let error as PostgresError where !error.connectionLost {
            unresolved.append(
              .init(
                kind: .indexNotRebuilt, intent: e.intent, step: e.step.id, object: index.description,
                message: "could not rebuild index \(index): \(error.message)"))
          } catch let refusal as StepRefusal {
            unresolved.append(
              .init(
                kind: .indexNotRebuilt, intent: e.intent, step: e.step.id, object: index.description,
                message: "could not rebuild index \(index): \(refusal)"))
          }
        case .constraintExists(let table, let name, true):
          guard let info = try Catalog(c).constraint(name, on: table), !info.validated else { continue }
          let object = "\(SQL.quoteIdentifier(name)) on \(table)"
          do {
            try runner.withLockRetries(e.step, of: lp) {
              try runner.inTransaction(lockTimeout: lp.plan.lockTimeout) {
                try c.execute("ALTER TABLE \(table.sql) VALIDATE CONSTRAINT \(SQL.quoteIdentifier(name))")
              }
            }
            actions.append(
              .init(
                kind: .validatedConstraint, intent: e.intent, step: e.step.id, object: object,
                message: "validated constraint \(object)"))
          } catch let error as PostgresError where !error.connectionLost {
            unresolved.append(
              .init(
                kind: .constraintNotValidated, intent: e.intent, step: e.step.id, object: object,
                message:
                  "could not validate constraint \(object): \(error.message)\(error.detail.map { " (\($0))" } ?? "")"))
          }
        default:
          continue
        }
      }
      // REINDEX CONCURRENTLY leftovers of owned indexes.
      let owned = jp.ownedIndexes
      for index in try Verifier.invalidIndexes(on: c) {
        guard let base = index.reindexBase, owned[base] != nil else { continue }
        try runner.dropIndexConcurrently(index.name)
        actions.append(
          .init(
            kind: .droppedLeftover, object: index.name,
            message: "dropped \(index.name), an invalid leftover of REINDEX CONCURRENTLY"))
      }
      let verified = try Verifier.verify(on: c)
      for f in verified.findings where f.kind == .foreignInvalidIndex {
        unresolved.append(
          .init(
            kind: .foreignInvalidIndex, object: f.object,
            message: "\(f.object ?? "an index") is invalid and not built by pgphase; not touched"))
      }
      report = RepairReport(actions: actions, unresolved: unresolved, verify: verified)
    }
    return report
  }

  private enum Resolution {
    case finished(String)
    case undone(String)
    case failure(String)
  }

  /// Finishes or undoes one step left running or failed; records the outcome in the journal.
  /// Running a contract step again is contracting: the contract guard and the phase hooks apply
  /// as they do for apply.
  private func resolve(_ step: Step, record: JournalStep, of lp: LoadedPlan, runner: StepRunner) throws -> Resolution {
    if step.action.index == nil, try runner.isCheckedAndHolds(step) {
      try runner.journal(lp).done(step)
      return .finished("finished: its postconditions hold in the catalog (was \(record.state.rawValue))")
    }
    guard step.phase == .contract else { return try finishOrUndo(step, of: lp, runner: runner) }
    do {
      try willRunPhase(.contract, intents: [lp], on: runner.c)
    } catch {
      return .failure("not finished: \(error)")
    }
    let start = Date()
    let resolution = try finishOrUndo(step, of: lp, runner: runner)
    var failure: (any Error)?
    if case .failure(let why) = resolution { failure = RepairFailure(reason: why) }
    didRunPhase(.contract, intents: [lp], seconds: Date().timeIntervalSince(start), error: failure, on: runner.c)
    return resolution
  }

  /// Runs the step again (index steps and backfills resume; an atomic step that failed applied
  /// nothing), else undoes it when its phase is expand or backfill and it has an undo.
  private func finishOrUndo(_ step: Step, of lp: LoadedPlan, runner: StepRunner) throws -> Resolution {
    let c = runner.c
    let journal = runner.journal(lp)
    var failure: StepFailure
    do {
      var what: String
      switch step.action {
      case .buildIndex, .rebuildIndex, .dropIndex:
        let index = step.action.index.map(\.description) ?? "?"
        try journal.running(step)
        let note = try runner.runIndexStep(step, of: lp) ?? ""
        what =
          step.action.kind == .dropIndex
          ? "finished: index \(index) is dropped\(note)" : "finished: index \(index) is built and valid\(note)"
      case .backfill(let spec):
        try journal.running(step)
        let rows = try runner.runBackfill(spec, step: step, of: lp)
        what = "finished: backfilled \(rows) more row\(rows == 1 ? "" : "s")"
      case .transaction, .validateConstraint, .sql(transactional: true, _):
        try runner.withLockRetries(step, of: lp) {
          try runner.inTransaction(lockTimeout: lp.plan.lockTimeout) {
            for statement in step.sql { try c.executeScript(statement) }
            try journal.running(step)
          }
        }
        what = "finished: ran it again (it had failed atomically, so nothing of it was applied)"
      case .sql(transactional: false, let concurrently):
        try journal.running(step)
        try runner.runStatementsAlone(step, of: lp, concurrently: concurrently)
        what = "finished: ran it again"
      }
      let violated = try runner.violations(of: step)
      if !violated.isEmpty { throw StepRefusal.postconditionsViolated(violated) }
      try journal.done(step)
      return .finished(what)
    } catch let e as PostgresError where !e.connectionLost {
      failure = StepFailure(e)
    } catch let r as StepRefusal {
      failure = .refused(r, statement: step.sql.first)
    }
    if c.transactionStatus != .idle { _ = try? c.execute("ROLLBACK") }
    try runner.checkInterrupted()
    if step.phase != .contract, let undo = step.undo {
      do {
        for statement in undo.sql {
          if undo.transactional {
            try runner.inTransaction(lockTimeout: lp.plan.lockTimeout) { try c.executeScript(statement) }
          } else {
            try c.execute("SET lock_timeout = 0")
            defer { _ = try? c.execute("RESET lock_timeout") }
            try c.executeAlone(statement)
          }
        }
        try journal.undone(step)
        return .undone("could not finish it (\(failure.message)); undone instead, so the next apply runs it again")
      } catch let undoError as PostgresError where !undoError.connectionLost {
        if c.transactionStatus != .idle { _ = try? c.execute("ROLLBACK") }
        try c.transaction { _ in try journal.failed(step, failure) }
        return .failure("could not finish it (\(failure.message)) nor undo it (\(undoError.message))")
      }
    }
    try c.transaction { _ in try journal.failed(step, failure) }
    return .failure("could not finish it: \(failure)")
  }

  /// Verifies under no lock (verify only reads), for callers holding an `Executor`.
  public func verify() throws -> VerifyReport {
    let c: Connection
    do {
      c = try Connection.connect(dsn: dsn, applicationName: runnerName)
    } catch {
      throw ExecutorError.connection(error)
    }
    defer { c.close() }
    return try Verifier.verify(on: c)
  }
}

/// A contract step repair could not finish, as the after-phase hook and the webhook report it.
struct RepairFailure: Error, CustomStringConvertible {
  var reason: String
  var description: String { reason }
}

extension RepairReport {
  /// Human-readable lines: what was done, what is left, then the verification.
  public func render() -> String {
    var lines: [String] = []
    if actions.isEmpty {
      lines.append("nothing to repair")
    } else {
      lines += actions.map { "repaired: \($0)" }
    }
    lines += unresolved.map { "not repaired: \($0)" }
    lines.append(verify.render())
    return lines.joined(separator: "\n")
  }
}
