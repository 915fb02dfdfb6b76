import Foundation
public import PGPhaseModel
import PGPhasePostgres

/// Knobs of one executor run.
public struct ExecutorOptions: Sendable {
  /// The subcommand, for `application_name` (`pgphase <command> <host>:<pid>`).
  public var command: String
  /// Seconds to wait for the runner lock before giving up (exit 3).
  public var lockWait: Double
  public var retry: RetryPolicy
  /// Seconds between progress lines of backfills and index builds.
  public var progressInterval: Double
  /// On SIGINT/SIGTERM, cancel the running statement, journal the step as failed and stop
  /// (`ExecutorError.interrupted`); a second signal ends the process at once. For the CLI.
  public var cancelOnSignals: Bool

  public init(
    command: String = "apply", lockWait: Double = 600, retry: RetryPolicy = RetryPolicy(), progressInterval: Double = 5,
    cancelOnSignals: Bool = false
  ) {
    self.cancelOnSignals = cancelOnSignals
    self.command = command
    self.lockWait = lockWait
    self.retry = retry
    self.progressInterval = progressInterval
  }
}

/// Applies phases of plans to one database, with the journal in schema `pgphase`.
///
/// Every mutating entry point takes the runner lock (see `RunnerLock`), creates or upgrades the
/// journal, re-reads it, and only then decides what to run. Blocking: call from a plain thread.
public final class Executor {
  public let dsn: String?
  public var options: ExecutorOptions
  /// One line per step (`<intent> expand/01-... done in 12ms`): the command's stdout.
  public var output: (String) -> Void
  /// Progress and diagnostics (waits, retries, blockers): the command's stderr.
  public var log: (String) -> Void

  /// `pgphase <command> <host>:<pid>`, shown in pg_stat_activity and written to the journal.
  public let runnerName: String
  private var signals: SignalCancellation?

  public init(
    dsn: String?, options: ExecutorOptions = ExecutorOptions(), output: @escaping (String) -> Void,
    log: @escaping (String) -> Void
  ) {
    self.dsn = dsn
    self.options = options
    self.output = output
    self.log = log
    let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "localhost"
    self.runnerName = "pgphase \(options.command) \(host):\(ProcessInfo.processInfo.processIdentifier)"
  }

  // MARK: - Entry points

  /// Runs `phase` of the named intents (nil: every intent for which `phase` is next).
  /// An explicitly named intent whose earlier phase is not done is an error naming it.
  public func apply(phase: Phase, intents: [String]?, plans: [LoadedPlan]) throws {
    let selected = try select(intents, from: plans)
    try withSession { c in
      let journal = try Journal.steps(intent: nil, on: c)
      for lp in selected { try checkUnchanged(lp, journal[lp.plan.intent] ?? [:]) }
      var work: [LoadedPlan] = []
      var problems: [String] = []
      for lp in selected {
        let steps = journal[lp.plan.intent] ?? [:]
        if isDone(phase, of: lp.plan, steps) {
          if intents != nil { output("\(lp.plan.intent) \(phase.rawValue): already done") }
          continue
        }
        let next = nextPhase(of: lp.plan, steps)
        if let next, next < phase {
          if intents != nil {
            problems.append(
              "cannot apply \(phase.rawValue) of \(lp.plan.intent): its \(next.rawValue) phase is not done (run `pgphase apply --phase \(next.rawValue) --intent \(lp.plan.intent)` first)"
            )
          }
          continue
        }
        work.append(lp)
      }
      if !problems.isEmpty { throw ExecutorError.phaseOrder(problems.joined(separator: "\n")) }
      if work.isEmpty {
        output("nothing to do: no intent has \(phase.rawValue) as its next phase" + (intents == nil ? "" : " among those named"))
        return
      }
      for lp in work { try runPhase(phase, of: lp, journal: journal[lp.plan.intent] ?? [:], on: c) }
    }
  }

  /// Runs the next due phase of each named intent (nil: every intent).
  public func advance(intents: [String]?, plans: [LoadedPlan]) throws {
    let selected = try select(intents, from: plans)
    try withSession { c in
      let journal = try Journal.steps(intent: nil, on: c)
      for lp in selected { try checkUnchanged(lp, journal[lp.plan.intent] ?? [:]) }
      var ran = 0
      for lp in selected {
        let steps = journal[lp.plan.intent] ?? [:]
        guard let next = nextPhase(of: lp.plan, steps) else { continue }
        try runPhase(next, of: lp, journal: steps, on: c)
        ran += 1
      }
      if ran == 0 { output("nothing to do: every intent is fully applied") }
    }
  }

  /// Undoes the backfill and expand steps of an intent, in reverse, unless contract started.
  public func rollback(intent: String, plans: [LoadedPlan]) throws {
    guard let lp = plans.first(where: { $0.plan.intent == intent }) else {
      throw ExecutorError.usage("no plan for intent \(intent)")
    }
    try withSession { c in
      let journal = try Journal.steps(intent: intent, on: c)[intent] ?? [:]
      try checkUnchanged(lp, journal)
      let started = lp.plan.steps(in: .contract).filter { s in
        guard let state = journal[s.id]?.state else { return false }
        return state != .pending && state != .undone
      }
      if let first = started.first {
        throw ExecutorError.rollbackRefused(
          "cannot roll back \(intent): its contract phase has started (\(first.id) is \(journal[first.id]!.state.rawValue)); contract is the point of no return"
        )
      }
      let positions = Dictionary(uniqueKeysWithValues: lp.plan.allSteps.enumerated().map { ($1.id, $0) })
      let candidates = (lp.plan.steps(in: .expand) + lp.plan.steps(in: .backfill)).reversed()
      var undone = 0
      for step in candidates {
        guard let state = journal[step.id]?.state else { continue }
        let needsUndo = state == .done || state == .running || (state == .failed && !step.transactional)
        guard needsUndo else { continue }
        try undo(step, position: positions[step.id] ?? 0, of: lp, on: c)
        undone += 1
      }
      if undone == 0 { output("\(intent): nothing to roll back") }
    }
  }

  // MARK: - Session

  private func withSession(_ body: (Connection) throws -> Void) throws {
    let lock = try RunnerLock.acquire(dsn: dsn, applicationName: runnerName, wait: options.lockWait, log: log)
    defer { lock.release() }
    let c: Connection
    do {
      c = try Connection.connect(dsn: dsn, applicationName: runnerName)
    } catch {
      throw ExecutorError.connection(error.description)
    }
    defer { c.close() }
    if options.cancelOnSignals {
      signals = installCancelOnSignals(try c.makeCanceller())
    }
    defer {
      signals?.uninstall()
      signals = nil
    }
    try Journal.ensure(on: c)
    do {
      try body(c)
    } catch let e as PostgresError where e.connectionLost {
      throw ExecutorError.connection("lost the connection to PostgreSQL: \(e.message)")
    }
  }

  private func select(_ intents: [String]?, from plans: [LoadedPlan]) throws -> [LoadedPlan] {
    guard let intents, !intents.isEmpty else { return plans }
    return try intents.map { id in
      guard let lp = plans.first(where: { $0.plan.intent == id }) else {
        throw ExecutorError.usage("no plan for intent \(id) (known: \(plans.map(\.plan.intent).joined(separator: ", ")))")
      }
      return lp
    }
  }

  // MARK: - Phase state

  func isDone(_ phase: Phase, of plan: Plan, _ journal: [String: JournalStep]) -> Bool {
    plan.steps(in: phase).allSatisfy { journal[$0.id]?.state == .done }
  }

  /// The first phase not fully done; nil when the intent is fully applied.
  func nextPhase(of plan: Plan, _ journal: [String: JournalStep]) -> Phase? {
    Phase.allCases.first { !isDone($0, of: plan, journal) }
  }

  /// Refuses a plan whose hash differs from the journal's when a step that ran (done or running)
  /// changed its SQL or disappeared. Steps not yet run may differ.
  private func checkUnchanged(_ lp: LoadedPlan, _ journal: [String: JournalStep]) throws {
    let ran = journal.values.filter { $0.state == .done || $0.state == .running }
    guard !ran.isEmpty else { return }
    let steps = Dictionary(uniqueKeysWithValues: lp.plan.allSteps.map { ($0.id, $0) })
    for record in ran.sorted(by: { $0.stepID < $1.stepID }) {
      guard let step = steps[record.stepID] else {
        throw ExecutorError.planChanged(
          intent: lp.plan.intent, reason: "step \(record.stepID) is \(record.state.rawValue) but no longer in the plan")
      }
      if step.sql != record.statements {
        throw ExecutorError.planChanged(
          intent: lp.plan.intent, reason: "step \(record.stepID) is \(record.state.rawValue) but its SQL differs")
      }
    }
  }

  // MARK: - Running steps

  private func runPhase(_ phase: Phase, of lp: LoadedPlan, journal: [String: JournalStep], on c: Connection) throws {
    try Journal.recordPlan(lp, on: c)
    let positions = Dictionary(uniqueKeysWithValues: lp.plan.allSteps.enumerated().map { ($1.id, $0) })
    for step in lp.plan.steps(in: phase) {
      try checkInterrupted()
      let previous = journal[step.id]
      if previous?.state == .done { continue }
      let position = positions[step.id] ?? 0
      if step.transactional {
        try runTransactional(step, position: position, of: lp, on: c)
      } else {
        try runAlone(step, position: position, previous: previous, of: lp, on: c)
      }
    }
  }

  private func line(_ lp: LoadedPlan, _ step: Step, _ text: String) {
    output("\(lp.plan.intent) \(step.id) \(text)")
  }

  /// BEGIN; SET LOCAL lock_timeout; statements; journal row 'done'; COMMIT, retried on 55P03/40P01.
  private func runTransactional(_ step: Step, position: Int, of lp: LoadedPlan, on c: Connection) throws {
    let start = Date()
    do {
      try withLockRetries(step, of: lp, on: c) {
        try inTransaction(c, lockTimeout: lp.plan.lockTimeout) {
          for statement in step.sql { try c.executeScript(statement) }
          try Journal.record(
            step, position: position, intent: lp.plan.intent, state: .done, countAttempt: true, starting: true,
            finishing: true, runner: runnerName, on: c)
        }
      }
    } catch let e as PostgresError {
      try fail(step, position: position, of: lp, error: e, on: c)
    }
    line(lp, step, "done in \(formatDuration(since: start))")
  }

  /// A step sent alone outside a transaction (index build, batched backfill, VACUUM, ...).
  private func runAlone(_ step: Step, position: Int, previous: JournalStep?, of lp: LoadedPlan, on c: Connection) throws {
    let start = Date()
    if let previous, previous.state == .running {
      log(
        "\(lp.plan.intent) \(step.id) was left running by \(previous.runner ?? "an earlier runner"); resolving it from the catalog"
      )
    }
    try Journal.record(
      step, position: position, intent: lp.plan.intent, state: .running, countAttempt: true, starting: true,
      finishing: false, runner: runnerName, on: c)
    var note = ""
    do {
      if let index = indexTarget(of: step) { try prepareIndex(index, step: step, of: lp, on: c) }
      let checkable = step.postconditions.contains { $0.kind != .unchecked }
      if checkable, try violations(of: step, on: c).isEmpty {
        note = " (already complete in the catalog)"
      } else if let spec = step.backfill {
        let rows = try runBackfill(spec, step: step, of: lp, on: c)
        note = " (\(rows) row\(rows == 1 ? "" : "s"))"
      } else {
        let concurrent = step.sql.contains { $0.range(of: "CONCURRENTLY", options: .caseInsensitive) != nil }
        let timeout = concurrent ? "0" : lp.plan.lockTimeout
        for statement in step.sql {
          try withLockRetries(step, of: lp, on: c) {
            try c.execute("SELECT set_config('lock_timeout', $1, false)", [timeout])
            defer { _ = try? c.execute("RESET lock_timeout") }
            try c.executeAlone(statement)
          }
        }
      }
      let violated = try violations(of: step, on: c)
      if !violated.isEmpty {
        throw PostgresError(
          message: "postcondition violated after the step ran: \(violated.joined(separator: "; "))", statement: step.sql.first)
      }
      try Journal.record(
        step, position: position, intent: lp.plan.intent, state: .done, countAttempt: false, starting: false,
        finishing: true, runner: runnerName, on: c)
    } catch let e as PostgresError {
      try fail(step, position: position, of: lp, error: e, on: c)
    }
    line(lp, step, "done in \(formatDuration(since: start))\(note)")
  }

  private func checkInterrupted() throws {
    if let signal = signals?.receivedSignal { throw ExecutorError.interrupted(signal: signal) }
  }

  /// Records 'failed' with the original error in its own transaction, then throws.
  private func fail(_ step: Step, position: Int, of lp: LoadedPlan, error e: PostgresError, on c: Connection) throws -> Never {
    if e.connectionLost { throw e }
    if c.transactionStatus != .idle { _ = try? c.execute("ROLLBACK") }
    try c.transaction { c in
      try Journal.record(
        step, position: position, intent: lp.plan.intent, state: .failed, countAttempt: step.transactional,
        starting: step.transactional, finishing: true, runner: runnerName, error: e, on: c)
    }
    let summary = PostgresErrorSummary(sqlState: e.sqlState, message: e.message, detail: e.detail, statement: e.statement)
    line(lp, step, "FAILED: \(summary)")
    try checkInterrupted()
    throw ExecutorError.stepFailed(intent: lp.plan.intent, step: step.id, error: summary)
  }

  private func inTransaction(_ c: Connection, lockTimeout: String, _ body: () throws -> Void) throws {
    try c.execute("BEGIN")
    do {
      try c.execute("SELECT set_config('lock_timeout', $1, true)", [lockTimeout])
      try body()
      let commit = try c.execute("COMMIT")
      if commit.commandTag == "ROLLBACK" {
        throw PostgresError(sqlState: "25P02", message: "the transaction was rolled back", statement: "COMMIT")
      }
    } catch {
      if !c.isClosed, c.transactionStatus != .idle { _ = try? c.execute("ROLLBACK") }
      throw error
    }
  }

  /// Runs `body`, retrying on lock timeout or deadlock with jittered backoff, logging who holds
  /// locks on the step's relations at each retry. Rethrows the last error when retries run out.
  private func withLockRetries(_ step: Step, of lp: LoadedPlan, on c: Connection, _ body: () throws -> Void) throws {
    let policy = options.retry
    let start = Date()
    var retry = 0
    while true {
      do {
        try body()
        return
      } catch let e as PostgresError {
        guard RetryPolicy.isRetryable(e), !e.connectionLost, signals?.receivedSignal == nil else { throw e }
        let holders = (try? LockInspector.holders(of: step.locks.map(\.relation), on: c)) ?? []
        let who = holders.isEmpty ? "no session visible now" : holders.map(\.description).joined(separator: "; ")
        let delay = policy.delay(forRetry: retry)
        let elapsed = Date().timeIntervalSince(start)
        if retry >= policy.maxRetries || elapsed + delay > policy.deadline {
          log(
            "\(lp.plan.intent) \(step.id): \(e.message) (SQLSTATE \(e.sqlState ?? "?")); giving up after \(retry) retr\(retry == 1 ? "y" : "ies") in \(formatSeconds(elapsed)); blocked by: \(who)"
          )
          var final = e
          if !holders.isEmpty { final.detail = [e.detail, "blocked by: \(who)"].compactMap { $0 }.joined(separator: "; ") }
          throw final
        }
        retry += 1
        log(
          "\(lp.plan.intent) \(step.id): \(e.message) (SQLSTATE \(e.sqlState ?? "?")); retry \(retry)/\(policy.maxRetries) in \(formatSeconds(delay)); blocked by: \(who)"
        )
        Thread.sleep(forTimeInterval: delay)
      }
    }
  }

  /// Postconditions of `step` that do not hold, as reasons.
  private func violations(of step: Step, on c: Connection) throws -> [String] {
    var out: [String] = []
    for p in step.postconditions {
      do {
        if case .violated(let reason) = try PostconditionChecker.check(p, on: c) { out.append(reason) }
      } catch let e as PostgresError {
        throw e
      } catch {
        out.append("\(error)")
      }
    }
    return out
  }

  // MARK: - Index builds

  /// The index a `CREATE [UNIQUE] INDEX CONCURRENTLY` step builds, from its postcondition.
  private func indexTarget(of step: Step) -> QualifiedName? {
    guard let sql = step.sql.first,
      sql.range(of: #"^\s*CREATE\s+(UNIQUE\s+)?INDEX\s+CONCURRENTLY"#, options: [.regularExpression, .caseInsensitive]) != nil,
      let p = step.postconditions.first(where: { $0.kind == .indexExists }), let object = p.object
    else { return nil }
    if object.schema == nil, let schema = p.table?.schema { return QualifiedName(schema: schema, object.name) }
    return object
  }

  /// Before (re)building an index: wait for a build of it still running in the server (a killed
  /// runner's CIC goes on), then drop an invalid leftover so the build starts clean.
  private func prepareIndex(_ index: QualifiedName, step: Step, of lp: LoadedPlan, on c: Connection) throws {
    let catalog = Catalog(c)
    var lastReport = Date.distantPast
    while let progress = try catalog.runningIndexBuild(indexName: index) {
      if Date().timeIntervalSince(lastReport) >= options.progressInterval {
        let done = progress.fractionDone.map { String(format: " %.0f%%", $0 * 100) } ?? ""
        let locker = progress.currentLockerPID.map { ", waiting for pid \($0)" } ?? ""
        log(
          "\(lp.plan.intent) \(step.id): a build of \(index) is still running in pid \(progress.pid) (\(progress.phase)\(done)\(locker)); waiting for it"
        )
        lastReport = Date()
      }
      Thread.sleep(forTimeInterval: 0.5)
    }
    if let state = try catalog.indexState(name: index), !state.isUsable {
      log("\(lp.plan.intent) \(step.id): index \(index) exists but is invalid (a build was interrupted); dropping it to rebuild")
      try c.execute("SET lock_timeout = 0")
      defer { _ = try? c.execute("RESET lock_timeout") }
      try c.executeAlone("DROP INDEX CONCURRENTLY IF EXISTS \(index.sql)")
    }
  }

  // MARK: - Backfills

  /// Batches of `UPDATE ... WHERE ctid = ANY(ARRAY(SELECT ctid ... WHERE pending LIMIT n))`, each
  /// its own transaction, until a batch touches no row. Resumable: `pending` selects only rows
  /// still needing the change.
  private func runBackfill(_ spec: BackfillSpec, step: Step, of lp: LoadedPlan, on c: Connection) throws -> Int {
    let batch = max(1, lp.plan.backfillBatchSize ?? 1000)
    let table = spec.table.sql
    let assignments = spec.assignments.map { "\(SQL.quoteIdentifier($0.column)) = (\($0.expression))" }.joined(separator: ", ")
    let sql =
      "UPDATE \(table) SET \(assignments) WHERE ctid = ANY(ARRAY(SELECT ctid FROM \(table) WHERE \(spec.pending) LIMIT \(batch)))"
    var total = 0
    var batches = 0
    let start = Date()
    var lastReport = start
    while true {
      var affected = 0
      try withLockRetries(step, of: lp, on: c) {
        try inTransaction(c, lockTimeout: lp.plan.lockTimeout) {
          affected = try c.execute(sql).affectedRows ?? 0
        }
      }
      if affected == 0 { break }
      total += affected
      batches += 1
      if Date().timeIntervalSince(lastReport) >= options.progressInterval {
        let rate = Double(total) / max(0.001, Date().timeIntervalSince(start))
        log("\(lp.plan.intent) \(step.id): \(total) rows in \(batches) batches (\(Int(rate)) rows/s)")
        lastReport = Date()
      }
    }
    return total
  }

  // MARK: - Undo

  private func undo(_ step: Step, position: Int, of lp: LoadedPlan, on c: Connection) throws {
    let start = Date()
    do {
      guard let undo = step.undo else {
        try Journal.record(
          step, position: position, intent: lp.plan.intent, state: .undone, countAttempt: false, starting: false,
          finishing: true, runner: runnerName, on: c)
        line(lp, step, "undone (nothing to undo)")
        return
      }
      if undo.transactional {
        try withLockRetries(step, of: lp, on: c) {
          try inTransaction(c, lockTimeout: lp.plan.lockTimeout) {
            for statement in undo.sql { try c.executeScript(statement) }
            try Journal.record(
              step, position: position, intent: lp.plan.intent, state: .undone, countAttempt: false, starting: false,
              finishing: true, runner: runnerName, on: c)
          }
        }
      } else {
        for statement in undo.sql {
          try c.execute("SET lock_timeout = 0")
          defer { _ = try? c.execute("RESET lock_timeout") }
          try c.executeAlone(statement)
        }
        try Journal.record(
          step, position: position, intent: lp.plan.intent, state: .undone, countAttempt: false, starting: false,
          finishing: true, runner: runnerName, on: c)
      }
    } catch let e as PostgresError {
      if e.connectionLost { throw e }
      let summary = PostgresErrorSummary(sqlState: e.sqlState, message: e.message, detail: e.detail, statement: e.statement)
      line(lp, step, "undo FAILED: \(summary)")
      throw ExecutorError.stepFailed(intent: lp.plan.intent, step: step.id + " (undo)", error: summary)
    }
    line(lp, step, "undone in \(formatDuration(since: start))")
  }
}

func formatDuration(since start: Date) -> String {
  let s = Date().timeIntervalSince(start)
  return formatSeconds(s)
}
