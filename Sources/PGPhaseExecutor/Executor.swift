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
  /// A redrawn bar (a terminal) or a plain line every `progressInterval` (CI, Kubernetes logs).
  public var progressStyle: ProgressStyle = .lines
  /// Batch sizing and pacing of backfills.
  public var backfill = BackfillOptions()
  /// Contract guard, hooks and notifications around phases.
  public var rollout = RolloutOptions()

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

  /// Raw progress text (bars with `\r`, lines ending in `\n`): the CLI's stderr. When nil,
  /// progress goes to `log` as plain lines.
  public var progressWrite: ((String) -> Void)?

  /// `pgphase <command> <host>:<pid>`, shown in pg_stat_activity and written to the journal.
  public let runnerName: String
  var signals: SignalCancellation?

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

  // MARK: - Entry points

  /// Runs `phase` of the named intents (nil: every intent for which `phase` is next).
  /// An explicitly named intent whose earlier phase is not done, or that waits for an earlier
  /// intent (see `blocker`), is an error naming it; unnamed ones are skipped with a line saying why.
  public func apply(phase: Phase, intents: [String]?, plans: [LoadedPlan]) throws {
    let selected = try select(intents, from: plans)
    try PlanSafety.check(selected)
    try withSession { c in
      let journal = try Journal.steps(intent: nil, on: c)
      for lp in selected { try checkUnchanged(lp, journal[lp.plan.intent] ?? [:]) }
      var simulated = PhaseSimulation(plans: plans, journal: journal)
      var work: [LoadedPlan] = []
      var problems: [String] = []
      for lp in selected {
        let id = lp.plan.intent
        if simulated.isDone(phase, of: id) {
          if intents != nil { output("\(id) \(phase.rawValue): already done") }
          continue
        }
        if let next = simulated.nextPhase(of: id), next < phase {
          if intents != nil {
            problems.append(
              "cannot apply \(phase.rawValue) of \(id): its \(next.rawValue) phase is not done (run `pgphase apply --phase \(next.rawValue) --intent \(id)` first)"
            )
          }
          continue
        }
        if let wait = simulated.blocker(for: phase, of: id) {
          let reason =
            "\(id) \(phase.rawValue) waits for \(wait.intent): its \(wait.phase.rawValue) phase is not done (intents apply in id order; `pgphase advance --to \(phase == .contract ? "contract" : "backfill")` runs them in that order)"
          if intents != nil { problems.append("cannot apply: " + reason) } else { output(reason) }
          continue
        }
        simulated.markDone(phase, of: id)
        work.append(lp)
      }
      if !problems.isEmpty { throw ExecutorError.phaseOrder(problems.joined(separator: "\n")) }
      if work.isEmpty {
        output("nothing to do: no intent has \(phase.rawValue) as its next phase" + (intents == nil ? "" : " among those named"))
        return
      }
      try runSchedule(work.map { (phase, $0) }, journal: journal, on: c)
    }
  }

  /// Runs the next due phase of each named intent (nil: every intent); with `target`, every
  /// phase up to and including it. Intents go in id order: expand and backfill of an intent wait
  /// until every earlier intent is backfilled, contract until every earlier intent is contracted.
  public func advance(intents: [String]?, to target: Phase? = nil, plans: [LoadedPlan]) throws {
    let selected = try select(intents, from: plans)
    try PlanSafety.check(selected)
    try withSession { c in
      let journal = try Journal.steps(intent: nil, on: c)
      for lp in selected { try checkUnchanged(lp, journal[lp.plan.intent] ?? [:]) }
      var simulated = PhaseSimulation(plans: plans, journal: journal)
      var schedule: [(Phase, LoadedPlan)] = []
      var waiting: [String: String] = [:]
      // Expand and backfill first (interleaved per intent, as the order rule needs), then contracts.
      let stages: [[Phase]] = target == nil ? [Phase.allCases] : [[.expand, .backfill], [.contract]]
      for stage in stages {
        for lp in selected {
          let id = lp.plan.intent
          if target == nil, schedule.contains(where: { $0.1.plan.intent == id }) { continue }
          for phase in stage where target.map({ phase <= $0 }) ?? true {
            guard waiting[id] == nil, !simulated.isDone(phase, of: id) else { continue }
            guard simulated.nextPhase(of: id) == phase else { break }
            if let wait = simulated.blocker(for: phase, of: id) {
              waiting[id] = "\(id) \(phase.rawValue) waits for \(wait.intent): its \(wait.phase.rawValue) phase is not done"
              break
            }
            simulated.markDone(phase, of: id)
            schedule.append((phase, lp))
            if target == nil { break }
          }
        }
      }
      for id in waiting.keys.sorted() { output(waiting[id]!) }
      if schedule.isEmpty {
        output(
          waiting.isEmpty
            ? "nothing to do: every intent is \(target.map { "at least through \($0.rawValue)" } ?? "fully applied")"
            : "nothing to do until the intents above can run")
        return
      }
      try runSchedule(schedule, journal: journal, on: c)
    }
  }

  /// Runs scheduled (phase, intent) pairs in order. Consecutive pairs of the same phase form one
  /// group: `willRunPhase` before it (may refuse), `didRunPhase` after it or after its failure.
  private func runSchedule(_ schedule: [(Phase, LoadedPlan)], journal: [String: [String: JournalStep]], on c: Connection)
    throws
  {
    var groups: [(Phase, [LoadedPlan])] = []
    for (phase, lp) in schedule {
      if let last = groups.last, last.0 == phase {
        groups[groups.count - 1].1.append(lp)
      } else {
        groups.append((phase, [lp]))
      }
    }
    for (phase, group) in groups {
      try willRunPhase(phase, intents: group, on: c)
      let start = Date()
      do {
        for lp in group {
          let current = try Journal.steps(intent: lp.plan.intent, on: c)[lp.plan.intent] ?? [:]
          try runPhase(phase, of: lp, journal: current, on: c)
        }
      } catch {
        didRunPhase(phase, intents: group, seconds: Date().timeIntervalSince(start), error: error, on: c)
        throw error
      }
      didRunPhase(phase, intents: group, seconds: Date().timeIntervalSince(start), error: nil, on: c)
    }
  }

  /// Undoes the backfill and expand steps of an intent, in reverse, unless contract started.
  public func rollback(intent: String, plans: [LoadedPlan]) throws {
    guard let lp = plans.first(where: { $0.plan.intent == intent }) else {
      throw ExecutorError.usage("no plan for intent \(intent)")
    }
    try PlanSafety.check([lp])
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

  func withSession(_ body: (Connection) throws -> Void) throws {
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
      // A step left running may have changed what its preconditions look at: the catalog decides.
      if let pre = step.preconditions, previous?.state != .running {
        let unmet = try PostconditionChecker.violations(of: pre, on: c)
        if !unmet.isEmpty {
          try fail(
            step, position: position, of: lp,
            error: PostgresError(message: "refused before it ran: \(unmet.joined(separator: "; "))", statement: step.sql.first),
            on: c)
        }
      }
      if step.transactional {
        try runTransactional(step, position: position, of: lp, on: c)
      } else {
        try runAlone(step, position: position, previous: previous, of: lp, on: c)
      }
    }
  }

  func line(_ lp: LoadedPlan, _ step: Step, _ text: String) {
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
      let checkable = step.postconditions.contains { $0.kind != .unchecked }
      if let index = indexTarget(of: step) {
        note = try runIndexStep(index, step: step, of: lp, on: c)
      } else if checkable, try violations(of: step, on: c).isEmpty {
        note = " (already complete in the catalog)"
      } else if let spec = step.backfill {
        let rows = try runBackfill(spec, step: step, of: lp, on: c)
        note = " (\(rows) row\(rows == 1 ? "" : "s"))"
      } else {
        try runStatementsAlone(step, of: lp, on: c)
      }
      let violated = try violations(of: step, on: c, countRows: true)
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

  /// Sends each statement of `step` alone (no transaction block). `CONCURRENTLY` statements run
  /// without the short lock_timeout: it would cancel their waits and leave an invalid index.
  func runStatementsAlone(_ step: Step, of lp: LoadedPlan, on c: Connection) throws {
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

  func checkInterrupted() throws {
    if let signal = signals?.receivedSignal { throw ExecutorError.interrupted(signal: signal) }
  }

  /// Records 'failed' with the original error in its own transaction, then throws.
  func fail(_ step: Step, position: Int, of lp: LoadedPlan, error e: PostgresError, on c: Connection) throws -> Never {
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

  func inTransaction(_ c: Connection, lockTimeout: String, _ body: () throws -> Void) throws {
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
    _ step: Step, of lp: LoadedPlan, on c: Connection, label: String = "",
    retryable: (PostgresError) -> Bool = RetryPolicy.isRetryable, _ body: () throws -> Void
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
        if retry >= policy.maxRetries || elapsed + delay > policy.deadline {
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
  func violations(of step: Step, on c: Connection, countRows: Bool = false) throws -> [String] {
    var out: [String] = []
    for p in step.postconditions {
      do {
        if case .violated(let reason) = try PostconditionChecker.check(p, on: c, countRows: countRows) { out.append(reason) }
      } catch let e as PostgresError {
        throw e
      } catch {
        out.append("\(error)")
      }
    }
    return out
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

/// Phase states of every intent in the plans folder, as the journal says, updated as a schedule
/// is planned (a phase scheduled counts as done for the intents after it).
struct PhaseSimulation {
  private var done: [String: Set<Phase>] = [:]
  private let order: [String]

  init(plans: [LoadedPlan], journal: [String: [String: JournalStep]]) {
    order = plans.map(\.plan.intent).sorted()
    for lp in plans {
      let steps = journal[lp.plan.intent] ?? [:]
      done[lp.plan.intent] = Set(Phase.allCases.filter { p in lp.plan.steps(in: p).allSatisfy { steps[$0.id]?.state == .done } })
    }
  }

  func isDone(_ phase: Phase, of intent: String) -> Bool { done[intent]?.contains(phase) ?? false }

  /// The first phase not done; nil when the intent is fully applied.
  func nextPhase(of intent: String) -> Phase? { Phase.allCases.first { !isDone($0, of: intent) } }

  mutating func markDone(_ phase: Phase, of intent: String) { done[intent, default: []].insert(phase) }

  /// The earliest (intent, phase) that must finish before `intent` may run `phase`. Intents
  /// apply in id order: the app built for an intent assumes every earlier one is expanded and
  /// backfilled, and contracts run in order, so expand and backfill need every earlier intent
  /// backfilled and contract needs every earlier intent contracted.
  func blocker(for phase: Phase, of intent: String) -> (intent: String, phase: Phase)? {
    let needed: [Phase] = phase == .contract ? Phase.allCases : [.expand, .backfill]
    for earlier in order where earlier < intent {
      if let missing = needed.first(where: { !isDone($0, of: earlier) }) { return (earlier, missing) }
    }
    return nil
  }
}
