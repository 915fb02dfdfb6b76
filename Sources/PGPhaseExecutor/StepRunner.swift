import Foundation
import PGPhaseModel
import PGPhasePostgres

/// Runs the steps of plans on one connection, while the executor holds the runner lock: each
/// step the way its action says (a transaction with its journal row, an index build watched and
/// repaired, a batched backfill, user SQL sent alone), retried on lock timeouts, journaled
/// through `JournalWriter`, and undone in reverse for rollback.
///
/// One runner per session; it holds no state beyond the session's, so many executors (a fleet,
/// one per database) can run in one process.
final class StepRunner {
  /// The session's connection: steps, journal rows and catalog reads all go through it.
  let c: Connection
  /// For the second connection that watches an index build.
  let dsn: String?
  let runnerName: String
  let options: ExecutorOptions
  let output: (String) -> Void
  let log: (String) -> Void
  let progressWrite: ((String) -> Void)?
  let signals: SignalCancellation?

  init(
    connection: Connection, dsn: String?, runnerName: String, options: ExecutorOptions, output: @escaping (String) -> Void,
    log: @escaping (String) -> Void, progressWrite: ((String) -> Void)?, signals: SignalCancellation?
  ) {
    self.c = connection
    self.dsn = dsn
    self.runnerName = runnerName
    self.options = options
    self.output = output
    self.log = log
    self.progressWrite = progressWrite
    self.signals = signals
  }

  /// The journal of `lp`'s steps, written on this session.
  func journal(_ lp: LoadedPlan) -> JournalWriter { JournalWriter(connection: c, plan: lp, runner: runnerName) }

  /// A progress reporter for one long piece of work, in the run's style.
  func makeProgress(label: String) -> ProgressReporter {
    if let progressWrite {
      return ProgressReporter(
        label: label, style: options.progressStyle, interval: options.progressInterval, write: progressWrite)
    }
    let log = self.log
    return ProgressReporter(label: label, style: .lines, interval: options.progressInterval) { text in
      log(text.hasSuffix("\n") ? String(text.dropLast()) : text)
    }
  }

  /// Stops the run when SIGINT or SIGTERM arrived.
  func checkInterrupted() throws {
    if let signal = signals?.receivedSignal { throw ExecutorError.interrupted(signal: signal) }
  }

  /// `<intent> <step> <text>` on the command's output.
  func line(_ lp: LoadedPlan, _ step: Step, _ text: String) {
    output("\(lp.plan.intent) \(step.id) \(text)")
  }

  // MARK: - Phases and steps

  /// Runs the steps of `phase` that `journal` does not record as done, in order.
  func runPhase(_ phase: Phase, of lp: LoadedPlan, journal: [String: JournalStep]) throws {
    try Journal.recordPlan(lp, on: c)
    for step in lp.plan.steps(in: phase) {
      try checkInterrupted()
      let previous = journal[step.id]
      if previous?.state == .done { continue }
      // A step left running may have changed what its preconditions look at: the catalog decides.
      if !step.preconditions.isEmpty, previous?.state != .running {
        let unmet = try PostconditionChecker.violations(of: step.preconditions, on: c)
        if !unmet.isEmpty { try fail(step, of: lp, .refused(.preconditionsUnmet(unmet), statement: step.sql.first)) }
      }
      if step.transactional {
        try runTransactional(step, of: lp)
      } else {
        try runAlone(step, previous: previous, of: lp)
      }
    }
  }

  /// BEGIN; SET LOCAL lock_timeout; statements; journal row 'done'; COMMIT, retried on 55P03/40P01.
  func runTransactional(_ step: Step, of lp: LoadedPlan) throws {
    let start = Date()
    do {
      try withLockRetries(step, of: lp) {
        try inTransaction(lockTimeout: lp.plan.lockTimeout) {
          for statement in step.sql { try c.executeScript(statement) }
          try journal(lp).done(step, .whole)
        }
      }
    } catch let e as PostgresError {
      try fail(step, of: lp, e)
    }
    line(lp, step, "done in \(formatDuration(since: start))")
  }

  /// A step sent alone outside a transaction: recorded running first, then run as its action
  /// says, then checked against the catalog and recorded done.
  func runAlone(_ step: Step, previous: JournalStep?, of lp: LoadedPlan) throws {
    let start = Date()
    if let previous, previous.state == .running {
      log(
        "\(lp.plan.intent) \(step.id) was left running by \(previous.runner ?? "an earlier runner"); resolving it from the catalog"
      )
    }
    try journal(lp).running(step)
    var note = ""
    do {
      note = try runAloneAction(step, of: lp)
      let violated = try violations(of: step, countRows: true)
      if !violated.isEmpty { throw StepRefusal.postconditionsViolated(violated) }
      try journal(lp).done(step)
    } catch let e as PostgresError {
      try fail(step, of: lp, e)
    } catch let r as StepRefusal {
      try fail(step, of: lp, .refused(r, statement: step.sql.first))
    }
    line(lp, step, "done in \(formatDuration(since: start))\(note)")
  }

  /// The work of a non-transactional step, by its action. Returns a note for the output line.
  func runAloneAction(_ step: Step, of lp: LoadedPlan) throws -> String {
    switch step.action {
    case .buildIndex(let build): return try runIndexBuild(build, step: step, of: lp)
    case .rebuildIndex(let index): return try runReindex(index, step: step, of: lp)
    case .dropIndex(let index): return try runDropIndex(index, step: step, of: lp)
    case .backfill(let spec):
      if try isCheckedAndHolds(step) { return " (already complete in the catalog)" }
      let rows = try runBackfill(spec, step: step, of: lp)
      return " (\(rows) row\(rows == 1 ? "" : "s"))"
    case .sql(_, let concurrently):
      if try isCheckedAndHolds(step) { return " (already complete in the catalog)" }
      try runStatementsAlone(step, of: lp, concurrently: concurrently)
      return ""
    case .transaction, .validateConstraint:
      // Transactional actions never come here; sent alone they would still run as written.
      try runStatementsAlone(step, of: lp, concurrently: false)
      return ""
    }
  }

  /// Whether the step has a postcondition that can be checked and all of them hold.
  func isCheckedAndHolds(_ step: Step) throws -> Bool {
    step.postconditions.contains { $0 != .unchecked } ? try violations(of: step).isEmpty : false
  }

  /// Sends each statement of `step` alone (no transaction block). Statements that use
  /// CONCURRENTLY run without the short lock_timeout: it would cancel their waits.
  func runStatementsAlone(_ step: Step, of lp: LoadedPlan, concurrently: Bool) throws {
    let timeout = concurrently ? "0" : lp.plan.lockTimeout
    for statement in step.sql {
      try withLockRetries(step, of: lp) {
        try c.execute("SELECT set_config('lock_timeout', $1, false)", [timeout])
        defer { _ = try? c.execute("RESET lock_timeout") }
        try c.executeAlone(statement)
      }
    }
  }

  /// Records 'failed' with the server's error in its own transaction, then throws.
  func fail(_ step: Step, of lp: LoadedPlan, _ e: PostgresError) throws -> Never {
    if e.connectionLost { throw e }
    try fail(step, of: lp, StepFailure(e))
  }

  /// Records 'failed' with what went wrong in its own transaction, then throws `stepFailed`.
  func fail(_ step: Step, of lp: LoadedPlan, _ failure: StepFailure) throws -> Never {
    if c.transactionStatus != .idle { _ = try? c.execute("ROLLBACK") }
    try c.transaction { _ in try journal(lp).failed(step, failure, step.transactional ? .whole : .current) }
    line(lp, step, "FAILED: \(failure)")
    try checkInterrupted()
    throw ExecutorError.stepFailed(intent: lp.plan.intent, step: step.id, undo: false, failure: failure)
  }

  /// BEGIN; lock_timeout for this transaction; `body`; COMMIT. Rolled back on any error.
  func inTransaction(lockTimeout: String, _ body: () throws -> Void) throws {
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

  /// Runs `body`, retrying on lock timeout or deadlock (or whatever `retryable` accepts) with
  /// jittered backoff, logging who holds locks on the step's relations at each retry. Rethrows the
  /// last error when retries run out. `label` prefixes the error in log lines (e.g. "batch ").
  func withLockRetries(
    _ step: Step, of lp: LoadedPlan, label: String = "", retryable: (PostgresError) -> Bool = RetryPolicy.isRetryable,
    _ body: () throws -> Void
  ) throws {
    let policy = options.retry
    let start = Date()
    var retry = 0
    while true {
      do {
        try body()
        return
      } catch let e as PostgresError {
        guard retryable(e), !e.connectionLost, signals?.receivedSignal == nil else { throw e }
        let holders = (try? LockInspector.holders(of: step.locks.map(\.relation), on: c)) ?? []
        let who = holders.isEmpty ? "no session visible now" : holders.map(\.description).joined(separator: "; ")
        let delay = policy.delay(forRetry: retry)
        let elapsed = Date().timeIntervalSince(start)
        if policy.givesUp(afterRetries: retry, elapsed: elapsed, nextDelay: delay) {
          log(
            "\(lp.plan.intent) \(step.id): \(label)\(e.message) (SQLSTATE \(e.sqlState ?? "?")); giving up after \(retry) retr\(retry == 1 ? "y" : "ies") in \(formatSeconds(elapsed)); blocked by: \(who)"
          )
          var final = e
          if !holders.isEmpty { final.detail = [e.detail, "blocked by: \(who)"].compactMap { $0 }.joined(separator: "; ") }
          throw final
        }
        retry += 1
        log(
          "\(lp.plan.intent) \(step.id): \(label)\(e.message) (SQLSTATE \(e.sqlState ?? "?")); retry \(retry)/\(policy.maxRetries) in \(formatSeconds(delay)); blocked by: \(who)"
        )
        Thread.sleep(forTimeInterval: delay)
      }
    }
  }

  /// Postconditions of `step` that do not hold, as reasons.
  /// - Parameter countRows: see `PostconditionChecker.check`; for checks expected to hold.
  func violations(of step: Step, countRows: Bool = false) throws -> [String] {
    try PostconditionChecker.violations(of: step.postconditions, on: c, countRows: countRows)
  }

  // MARK: - Undo

  /// Runs the step's undo (in a transaction with its journal row when the undo is transactional)
  /// and records it undone.
  func undo(_ step: Step, of lp: LoadedPlan) throws {
    let start = Date()
    do {
      guard let undo = step.undo else {
        try journal(lp).undone(step)
        line(lp, step, "undone (nothing to undo)")
        return
      }
      if undo.transactional {
        try withLockRetries(step, of: lp) {
          try inTransaction(lockTimeout: lp.plan.lockTimeout) {
            for statement in undo.sql { try c.executeScript(statement) }
            try journal(lp).undone(step)
          }
        }
      } else {
        for statement in undo.sql {
          try c.execute("SET lock_timeout = 0")
          defer { _ = try? c.execute("RESET lock_timeout") }
          try c.executeAlone(statement)
        }
        try journal(lp).undone(step)
      }
    } catch let e as PostgresError {
      if e.connectionLost { throw e }
      let failure = StepFailure(e)
      line(lp, step, "undo FAILED: \(failure)")
      throw ExecutorError.stepFailed(intent: lp.plan.intent, step: step.id, undo: true, failure: failure)
    }
    line(lp, step, "undone in \(formatDuration(since: start))")
  }
}

/// Seconds since `start`, formatted.
func formatDuration(since start: Date) -> String {
  formatSeconds(Date().timeIntervalSince(start))
}
