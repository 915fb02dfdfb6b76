import Foundation
import PGPhaseModel
import PGPhasePostgres

/// What `pgphase repair` did, and what `verify` says afterwards.
public struct RepairReport: Sendable, Codable, Equatable {
  /// One line per change made, e.g. `20261120_x expand/04-...: rebuilt invalid index public.i`.
  public var actions: [String]
  /// Problems repair could not resolve (each with why), left for a person.
  public var unresolved: [String]
  /// The verification run after the repair.
  public var verify: VerifyReport

  /// Nothing was changed.
  public var nothingToDo: Bool { actions.isEmpty }

  public init(actions: [String], unresolved: [String], verify: VerifyReport) {
    self.actions = actions
    self.unresolved = unresolved
    self.verify = verify
  }

  enum CodingKeys: String, CodingKey {
    case actions, unresolved, verify
    case nothingToDo = "nothing_to_do"
  }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    actions = try c.decode([String].self, forKey: .actions)
    unresolved = try c.decode([String].self, forKey: .unresolved)
    verify = try c.decode(VerifyReport.self, forKey: .verify)
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(actions, forKey: .actions)
    try c.encode(unresolved, forKey: .unresolved)
    try c.encode(verify, forKey: .verify)
    try c.encode(nothingToDo, forKey: .nothingToDo)
  }
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
    try withSession { c in
      var actions: [String] = []
      var unresolved: [String] = []
      let jp = try JournalPlans.read(on: c)
      // 1. Steps left running or failed, in apply order.
      for (lp, step) in jp.orderedSteps {
        guard let record = jp.state(lp.plan.intent, step.id), record.state == .running || record.state == .failed else {
          continue
        }
        if record.state == .running, let pid = record.backendPID, try Verifier.backendAlive(pid, on: c) {
          unresolved.append("\(lp.plan.intent) \(step.id) is running in live backend \(pid); not touched")
          continue
        }
        try checkInterrupted()
        switch try resolve(step, record: record, of: lp, on: c) {
        case .success(let what): actions.append("\(lp.plan.intent) \(step.id): \(what)")
        case .failure(let why): unresolved.append("\(lp.plan.intent) \(step.id): \(why)")
        }
      }
      // 2 and 3. Done steps whose index or validated constraint drifted in a repairable way.
      let current = try Journal.steps(intent: nil, on: c)
      let fresh = JournalPlans(plans: jp.plans, journal: current)
      for e in fresh.expectations().expected {
        let p = e.postcondition
        guard let lp = fresh.plans.first(where: { $0.plan.intent == e.intent }) else { continue }
        if p.kind == .indexExists, let index = indexTarget(of: e.step), try !violations(of: e.step, on: c).isEmpty {
          let state = try Catalog(c).indexState(name: index)
          guard state == nil || state?.isUsable == false else { continue }
          guard try Catalog(c).relationKind(p.table ?? index) != nil || p.table == nil else { continue }
          try checkInterrupted()
          do {
            let note = try runIndexStep(index, step: e.step, of: lp, on: c)
            actions.append(
              "\(e.intent) \(e.step.id): \(state == nil ? "built missing" : "rebuilt invalid") index \(index)\(note)")
          } catch let error as PostgresError where !error.connectionLost {
            unresolved.append("\(e.intent) \(e.step.id): could not rebuild index \(index): \(error.message)")
          }
        } else if p.kind == .constraintExists, p.validated == true, let table = p.table, let name = p.name,
          let info = try Catalog(c).constraint(name, on: table), !info.validated
        {
          do {
            try withLockRetries(e.step, of: lp, on: c) {
              try inTransaction(c, lockTimeout: lp.plan.lockTimeout) {
                try c.execute("ALTER TABLE \(table.sql) VALIDATE CONSTRAINT \(SQL.quoteIdentifier(name))")
              }
            }
            actions.append("\(e.intent) \(e.step.id): validated constraint \(SQL.quoteIdentifier(name)) on \(table)")
          } catch let error as PostgresError where !error.connectionLost {
            unresolved.append(
              "\(e.intent) \(e.step.id): could not validate constraint \(SQL.quoteIdentifier(name)) on \(table): \(error.message)\(error.detail.map { " (\($0))" } ?? "")"
            )
          }
        }
      }
      // REINDEX CONCURRENTLY leftovers of owned indexes.
      let owned = jp.ownedIndexes
      for index in try Verifier.invalidIndexes(on: c) {
        guard let base = index.reindexBase, owned[base] != nil else { continue }
        try dropIndexConcurrently(index.name, on: c)
        actions.append("dropped \(index.name), an invalid leftover of REINDEX CONCURRENTLY")
      }
      let verified = try Verifier.verify(on: c)
      for f in verified.findings where f.kind == .foreignInvalidIndex {
        unresolved.append("\(f.object ?? "?"): invalid and not built by pgphase; not touched")
      }
      report = RepairReport(actions: actions, unresolved: unresolved, verify: verified)
    }
    return report
  }

  private enum Resolution {
    case success(String)
    case failure(String)
  }

  /// Records `state` for a step repair resolves (in whatever transaction `c` is in).
  private func save(
    _ state: StepState, _ step: Step, of lp: LoadedPlan, attempt: Bool, error: PostgresError? = nil, on c: Connection
  ) throws {
    let position = lp.plan.allSteps.firstIndex { $0.id == step.id } ?? 0
    try Journal.record(
      step, position: position, intent: lp.plan.intent, state: state, countAttempt: attempt, starting: attempt,
      finishing: state != .running, runner: runnerName, error: error, on: c)
  }

  /// Finishes or undoes one step left running or failed; records the outcome in the journal.
  /// Running a contract step again is contracting: the contract guard and the phase hooks apply
  /// as they do for apply.
  private func resolve(_ step: Step, record: JournalStep, of lp: LoadedPlan, on c: Connection) throws -> Resolution {
    let checkable = step.postconditions.contains { $0.kind != .unchecked }
    if checkable, try violations(of: step, on: c).isEmpty, indexTarget(of: step) == nil {
      try save(.done, step, of: lp, attempt: false, on: c)
      return .success("finished: its postconditions hold in the catalog (was \(record.state.rawValue))")
    }
    guard step.phase == .contract else { return try finishOrUndo(step, of: lp, on: c) }
    do {
      try willRunPhase(.contract, intents: [lp], on: c)
    } catch {
      return .failure("not finished: \(error)")
    }
    let start = Date()
    let resolution = try finishOrUndo(step, of: lp, on: c)
    var failure: (any Error)?
    if case .failure(let why) = resolution { failure = ExecutorError.phaseOrder(why) }
    didRunPhase(.contract, intents: [lp], seconds: Date().timeIntervalSince(start), error: failure, on: c)
    return resolution
  }

  /// Runs the step again (index steps and backfills resume; an atomic step that failed applied
  /// nothing), else undoes it when its phase is expand or backfill and it has an undo.
  private func finishOrUndo(_ step: Step, of lp: LoadedPlan, on c: Connection) throws -> Resolution {
    do {
      var what: String
      if let index = indexTarget(of: step) {
        try save(.running, step, of: lp, attempt: true, on: c)
        let note = try runIndexStep(index, step: step, of: lp, on: c)
        what =
          dropTarget(of: step) != nil
          ? "finished: index \(index) is dropped\(note)" : "finished: index \(index) is built and valid\(note)"
      } else if let spec = step.backfill {
        try save(.running, step, of: lp, attempt: true, on: c)
        let rows = try runBackfill(spec, step: step, of: lp, on: c)
        what = "finished: backfilled \(rows) more row\(rows == 1 ? "" : "s")"
      } else if step.transactional {
        try withLockRetries(step, of: lp, on: c) {
          try inTransaction(c, lockTimeout: lp.plan.lockTimeout) {
            for statement in step.sql { try c.executeScript(statement) }
            try save(.running, step, of: lp, attempt: true, on: c)
          }
        }
        what = "finished: ran it again (it had failed atomically, so nothing of it was applied)"
      } else {
        try save(.running, step, of: lp, attempt: true, on: c)
        try runStatementsAlone(step, of: lp, on: c)
        what = "finished: ran it again"
      }
      let violated = try violations(of: step, on: c)
      if !violated.isEmpty {
        throw PostgresError(
          message: "postcondition violated after the step ran: \(violated.joined(separator: "; "))", statement: step.sql.first)
      }
      try save(.done, step, of: lp, attempt: false, on: c)
      return .success(what)
    } catch let e as PostgresError where !e.connectionLost {
      if c.transactionStatus != .idle { _ = try? c.execute("ROLLBACK") }
      try checkInterrupted()
      if step.phase != .contract, let undo = step.undo {
        do {
          for statement in undo.sql {
            if undo.transactional {
              try inTransaction(c, lockTimeout: lp.plan.lockTimeout) { try c.executeScript(statement) }
            } else {
              try c.execute("SET lock_timeout = 0")
              defer { _ = try? c.execute("RESET lock_timeout") }
              try c.executeAlone(statement)
            }
          }
          try save(.undone, step, of: lp, attempt: false, on: c)
          return .success("could not finish it (\(e.message)); undone instead, so the next apply runs it again")
        } catch let undoError as PostgresError where !undoError.connectionLost {
          if c.transactionStatus != .idle { _ = try? c.execute("ROLLBACK") }
          try c.transaction { _ in try save(.failed, step, of: lp, attempt: false, error: e, on: c) }
          return .failure("could not finish it (\(e.message)) nor undo it (\(undoError.message))")
        }
      }
      try c.transaction { _ in try save(.failed, step, of: lp, attempt: false, error: e, on: c) }
      let summary = PostgresErrorSummary(sqlState: e.sqlState, message: e.message, detail: e.detail, statement: e.statement)
      return .failure("could not finish it: \(summary)")
    }
  }

  /// Verifies under no lock (verify only reads), for callers holding an `Executor`.
  public func verify() throws -> VerifyReport {
    let c: Connection
    do {
      c = try Connection.connect(dsn: dsn, applicationName: runnerName)
    } catch {
      throw ExecutorError.connection(error.description)
    }
    defer { c.close() }
    return try Verifier.verify(on: c)
  }
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
